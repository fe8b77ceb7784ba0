"""Test helpers for everyone who tests against the embedded server.

``running_server(tmp_path)`` starts an in-process server on free loopback ports with
its store under ``tmp_path`` and stops it afterwards::

    with running_server(tmp_path) as srv:
        httpx.post(srv.urls["otlp_http"] + "/v1/traces", ...)
        srv.db.query("SELECT count(*) FROM spans")
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labkit.config import Settings, load_settings
from labkit.lgtm.process import PID_FILE
from labkit.lgtm.server import PORT_SETTINGS, EmbeddedServer

__all__ = [
    "add_attribute",
    "free_port",
    "isolated_environ",
    "running_server",
    "server_settings",
    "stop_background_servers",
]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for subprocess servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def add_attribute(attrs: Any, key: str, value: object) -> None:
    """Append an OTLP ``KeyValue`` to a repeated attributes field, typed by the Python value.

    ``bool`` is tested before ``int`` because it is an ``int`` subclass; anything else is a string.
    """
    kv = attrs.add()
    kv.key = key
    if isinstance(value, bool):
        kv.value.bool_value = value
    elif isinstance(value, int):
        kv.value.int_value = value
    elif isinstance(value, float):
        kv.value.double_value = value
    else:
        kv.value.string_value = str(value)


def server_settings(tmp_path: Path, *, port: int | None = 0, **overrides: Any) -> Settings:
    """Settings for a test server: store in ``tmp_path``, every port ``port`` (0 = pick on bind;
    None = a distinct free port each, for servers started in another process)."""
    values: dict[str, Any] = {"backend": "embedded", "data_dir": str(tmp_path / "lgtm")}
    for field in PORT_SETTINGS.values():
        p = free_port() if port is None else port
        suffix = "/prometheus" if field == "mimir_url" else ""
        values[field] = f"http://127.0.0.1:{p}{suffix}"
    values.update(overrides)
    # environ={} and cwd=tmp_path: the developer's LABKIT_* variables and labkit.toml must not leak in.
    return load_settings(environ={}, cwd=tmp_path, **values)


@contextmanager
def running_server(
    tmp_path: Path, retention_interval_s: float = 0, **overrides: Any
) -> Iterator[EmbeddedServer]:
    """Yield a started :class:`EmbeddedServer` (loop in a background thread); stop it on exit.

    ``overrides`` are Settings fields (e.g. ``ingest_max_body_bytes=1024``). ``srv.urls`` /
    ``srv.ports`` / ``srv.settings`` give the bound endpoints.
    """
    settings = server_settings(tmp_path, **overrides)
    with EmbeddedServer(settings, retention_interval_s=retention_interval_s) as srv:
        yield srv


def isolated_environ(data_dir: Path, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """An environment for a subprocess (``labkit run``, a kernel) with a private data dir and
    a distinct free port per endpoint, so it never meets a developer's server or another test's.

    ``base`` (default: ``os.environ``) is copied without its LABKIT_* and API-key variables.
    """
    source = os.environ if base is None else base
    env = {k: v for k, v in source.items() if not k.startswith("LABKIT_") and k != "ANTHROPIC_API_KEY"}
    env["LABKIT_BACKEND"] = "embedded"
    env["LABKIT_DATA_DIR"] = str(data_dir)
    for field in PORT_SETTINGS.values():
        suffix = "/prometheus" if field == "mimir_url" else ""
        env["LABKIT_" + field.upper()] = f"http://127.0.0.1:{free_port()}{suffix}"
    return env


def stop_background_servers(root: Path, timeout_s: float = 15.0) -> list[int]:
    """SIGTERM every ``labkit stack up`` server whose pid file lies under ``root``; return their pids.

    Tests that run notebooks or ``labkit run`` start background servers through the
    runner; this is how such a test stops what it started.
    """
    stopped = []
    for pid_path in root.rglob(PID_FILE):
        try:
            pid = int(pid_path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
        stopped.append(pid)
    return stopped


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child (a zombie still answers kill 0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True
