"""Test helpers for everyone who tests against the embedded server.

``running_server(tmp_path)`` starts an in-process server on free loopback ports with
its store under ``tmp_path`` and stops it afterwards::

    with running_server(tmp_path) as srv:
        httpx.post(srv.urls["otlp_http"] + "/v1/traces", ...)
        srv.db.query("SELECT count(*) FROM spans")
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from labkit.config import Settings, load_settings
from labkit.lgtm.server import PORT_SETTINGS, EmbeddedServer

__all__ = ["free_port", "running_server", "server_settings"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for subprocess servers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
