"""The embedded server as a background process: ``labkit stack up|status|down`` and ``ensure_up``.

State lives in the data dir: ``lgtm.pid`` (written by the server once it is ready,
removed when it stops cleanly) and ``lgtm.log``. The status endpoint
(``GET <otlp_http>/labkit/status``) is the source of truth for "running": a pid
file alone may be stale after a crash or a reboot.

This module stays light (stdlib only) because the CLI and the runner import it.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from labkit.config import Backend, Settings

__all__ = [
    "StackError",
    "StackInfo",
    "ensure_up",
    "fetch_status",
    "log_file",
    "pid_file",
    "remove_pid_file",
    "start",
    "status",
    "stop",
    "write_pid_file",
]

PID_FILE = "lgtm.pid"
LOG_FILE = "lgtm.log"
SERVICE = "labkit-lgtm"
# port name -> Settings field (kept in step with labkit.lgtm.server.PORT_SETTINGS,
# duplicated so that this module does not import aiohttp/grpc/duckdb).
PORT_FIELDS = {
    "otlp_grpc": "otlp_grpc_endpoint",
    "otlp_http": "otlp_http_endpoint",
    "tempo": "tempo_url",
    "loki": "loki_url",
    "mimir": "mimir_url",
    "llm": "llm_url",
}
# Settings the child process must see exactly as the parent does, whatever their source.
_FORWARDED = (
    "data_dir",
    *PORT_FIELDS.values(),
    "ingest_max_body_bytes",
    "retention_hours",
    "retention_max_mb",
)

# Popen objects of servers started by this process: keeping them avoids a
# ResourceWarning at garbage collection and lets us reap them (no zombies).
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class StackError(RuntimeError):
    """The stack could not be started or stopped; the message says why and what to do."""


@dataclass
class StackInfo:
    running: bool
    pid: int | None = None
    already_running: bool = False
    urls: dict[str, str] = field(default_factory=dict)
    signals: dict[str, dict[str, int]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    log_path: Path | None = None
    startup_s: float | None = None
    ready: dict[str, bool] = field(default_factory=dict)  # endpoint -> answers (status() only)
    raw: dict[str, Any] = field(default_factory=dict)


def pid_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / PID_FILE


def log_file(settings: Settings) -> Path:
    return Path(settings.data_dir) / LOG_FILE


def write_pid_file(settings: Settings) -> None:
    path = pid_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".pid.tmp")
    tmp.write_text(f"{os.getpid()}\n", encoding="utf-8")
    tmp.replace(path)  # atomic: readers never see a half-written pid


def read_pid(settings: Settings) -> int | None:
    try:
        return int(pid_file(settings).read_text(encoding="utf-8").strip())
    except (OSError, ValueError):
        return None


def remove_pid_file(settings: Settings, only_pid: int | None = None) -> None:
    """Remove the pid file if it still names ``only_pid`` (default: this process)."""
    if read_pid(settings) == (os.getpid() if only_pid is None else only_pid):
        with contextlib.suppress(FileNotFoundError):
            pid_file(settings).unlink()


def _alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); it is dead for our purposes.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _status_url(settings: Settings) -> str:
    return settings.otlp_http_endpoint.rstrip("/") + "/labkit/status"


def fetch_status(settings: Settings, timeout: float = 1.0) -> dict[str, Any] | None:
    """The server's status document, or None when nothing (or not our server) answers."""
    try:
        with urllib.request.urlopen(_status_url(settings), timeout=timeout) as resp:
            data = json.loads(resp.read().decode("utf-8"))
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(data, dict) or data.get("service") != SERVICE:
        return None
    return data


def _info(data: dict[str, Any], settings: Settings, **extra: Any) -> StackInfo:
    return StackInfo(
        running=True,
        pid=data.get("pid"),
        urls=dict(data.get("urls", {})),
        signals=dict(data.get("signals", {})),
        warnings=list(data.get("warnings", [])),
        log_path=log_file(settings),
        raw=data,
        **extra,
    )


def _port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port if parts.port is not None else (443 if parts.scheme == "https" else 80)


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _check_ports(settings: Settings) -> None:
    for name, fld in PORT_FIELDS.items():
        port = _port(getattr(settings, fld))
        if port and _port_in_use(port):
            raise StackError(
                f"port {port} ({name}, setting {fld}) on 127.0.0.1 is already in use by another program. "
                f"Stop that program, or choose another port: set LABKIT_{fld.upper()} "
                f"(e.g. http://127.0.0.1:{port + 10000}) or put {fld} in labkit.toml."
            )


def _child_env(settings: Settings) -> dict[str, str]:
    env = dict(os.environ)
    for name in _FORWARDED:
        value = getattr(settings, name)
        if name == "data_dir":
            value = Path(value).resolve()
        env["LABKIT_" + name.upper()] = str(value)
    env["LABKIT_BACKEND"] = "embedded"
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _log_tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _probe(name: str, url: str) -> bool:
    """Whether one endpoint is up: ``GET /ready`` on HTTP ports, a TCP connect for gRPC."""
    if name == "otlp_grpc":
        return _answers(url)
    parts = urlsplit(url)
    try:
        with urllib.request.urlopen(f"{parts.scheme}://{parts.netloc}/ready", timeout=1.0) as resp:
            return bool(resp.status == 200)
    except (OSError, ValueError):
        return False


def status(settings: Settings) -> StackInfo:
    """Whether the embedded server answers: each endpoint's health and row counts per signal."""
    data = fetch_status(settings)
    if data is not None:
        info = _info(data, settings)
        info.ready = {name: _probe(name, url) for name, url in info.urls.items()}
        return info
    pid = read_pid(settings)
    return StackInfo(running=False, pid=pid if pid and _alive(pid) else None, log_path=log_file(settings))


def start(settings: Settings, timeout_s: float = 15.0) -> StackInfo:
    """Start the server in the background (detached) and wait until it answers. Idempotent."""
    data = fetch_status(settings)
    if data is not None:
        return _info(data, settings, already_running=True)
    pid = read_pid(settings)
    if pid is not None:
        if _alive(pid):
            # Our server but not answering on the configured port: starting up, or
            # started with other ports. Do not start a second one on the same store.
            deadline = time.monotonic() + 2.0
            while time.monotonic() < deadline:
                data = fetch_status(settings)
                if data is not None:
                    return _info(data, settings, already_running=True)
                time.sleep(0.05)
            raise StackError(
                f"an embedded server (pid {pid}, see {pid_file(settings)}) is running but does not answer "
                f"on {settings.otlp_http_endpoint}; it may use other ports. Run `labkit stack down` first."
            )
        remove_pid_file(settings, only_pid=pid)  # stale: the process is gone
    _check_ports(settings)

    log_path = log_file(settings)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()
    with open(log_path, "ab") as log:
        log.write(f"--- labkit stack up at {time.strftime('%Y-%m-%d %H:%M:%S')}\n".encode())
        log.flush()
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.lgtm"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=_child_env(settings),
            start_new_session=True,  # detached: survives the terminal / kernel that started it
            close_fds=True,
        )
    _CHILDREN[proc.pid] = proc
    deadline = began + timeout_s
    while time.monotonic() < deadline:
        data = fetch_status(settings, timeout=0.5)
        if data is not None and data.get("pid") == proc.pid:
            return _info(data, settings, startup_s=round(time.monotonic() - began, 3))
        if proc.poll() is not None:
            _CHILDREN.pop(proc.pid, None)
            raise StackError(
                f"the embedded server exited during startup (code {proc.returncode}); "
                f"log {log_path}:\n{_log_tail(log_path)}"
            )
        time.sleep(0.02)
    raise StackError(
        f"the embedded server (pid {proc.pid}) did not answer on {_status_url(settings)} within "
        f"{timeout_s:.0f} s; log {log_path}:\n{_log_tail(log_path)}"
    )


def stop(settings: Settings, timeout_s: float = 15.0) -> int | None:
    """SIGTERM the server, wait for it to exit, remove the pid file. Returns the pid or None."""
    pid = read_pid(settings)
    if pid is None:
        data = fetch_status(settings)
        if data is not None:
            # No pid file: an in-process server (a notebook kernel, a test). Killing
            # its pid would kill that whole process, so refuse.
            raise StackError(
                f"an embedded server answers on {settings.otlp_http_endpoint} (pid {data.get('pid')}) but "
                "was not started by `labkit stack up`; stop it where it runs (e.g. leave its `with` block)."
            )
        return None
    if not _alive(pid):
        remove_pid_file(settings, only_pid=pid)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.02)
    if _alive(pid):
        raise StackError(
            f"the embedded server (pid {pid}) did not stop within {timeout_s:.0f} s after SIGTERM; "
            f"see {log_file(settings)}; `kill -9 {pid}` forces it (committed data survives)."
        )
    _CHILDREN.pop(pid, None)
    remove_pid_file(settings, only_pid=pid)
    return pid


def _answers(url: str, timeout: float = 0.3) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", _port(url)), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_up(settings: Settings) -> str | None:
    """Start the embedded server if the configuration needs it; return a message saying so.

    ``embedded``: start it unless it already runs. ``auto``: start it only when nothing
    answers on the configured OTLP and query endpoints (a live stack wins). ``live``:
    never start anything. Returns None when nothing was started.
    """
    if settings.backend == Backend.LIVE:
        return None
    if fetch_status(settings) is not None:
        return None
    if settings.backend == Backend.AUTO:
        endpoints = [settings.otlp_http_endpoint, settings.tempo_url, settings.loki_url, settings.mimir_url]
        answering = [u for u in endpoints if _answers(u)]
        if answering:
            return None
    info = start(settings)
    why = "backend=embedded"
    if settings.backend == Backend.AUTO:
        why = "backend=auto and no live stack answered"
    return (
        f"started the embedded LGTM server ({why}; pid {info.pid}, OTLP {info.urls.get('otlp_http', '')}, "
        f"log {info.log_path}); stop it with `labkit stack down`"
    )
