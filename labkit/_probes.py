"""Probes of the machine and the configured endpoints, shared by ``doctor`` and ``widgets``.

Every probe goes through one ``Probes`` object so tests can replace any of them (an
absent docker, a dead endpoint) without touching the machine.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import shutil
import socket
import subprocess
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from labkit.config import Backend, Settings

__all__ = [
    "ENDPOINTS",
    "CommandResult",
    "Endpoint",
    "EndpointState",
    "Probes",
    "endpoint_states",
]

State = Literal["live", "embedded", "down"]


@dataclass(frozen=True)
class CommandResult:
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class Endpoint:
    name: str
    setting: str  # Settings field holding the URL
    embedded_module: str | None  # what serves it offline; None = live only
    kind: Literal["http", "tcp"] = "http"
    served_by_lgtm: bool = False  # answered by the embedded LGTM server when it runs


ENDPOINTS: tuple[Endpoint, ...] = (
    Endpoint("OTLP/gRPC", "otlp_grpc_endpoint", "labkit.lgtm", "tcp", True),
    Endpoint("OTLP/HTTP", "otlp_http_endpoint", "labkit.lgtm", "http", True),
    Endpoint("Mimir (Prometheus API)", "mimir_url", "labkit.lgtm", "http", True),
    Endpoint("Loki", "loki_url", "labkit.lgtm", "http", True),
    Endpoint("Tempo", "tempo_url", "labkit.lgtm", "http", True),
    # Offline, labkit renders dashboard JSON itself by running the panels' queries.
    Endpoint("Grafana", "grafana_url", "labkit.observe"),
    Endpoint("LLM (local Messages API)", "llm_url", "labkit.llm.server"),
    # qdrant-client's local mode keeps vectors in a folder: no server needed.
    Endpoint("Qdrant", "qdrant_url", "qdrant_client"),
)


def _run(argv: Sequence[str], timeout: float) -> CommandResult | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        proc = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return CommandResult(124, "", f"no answer within {timeout:g} s")
    except OSError as exc:
        return CommandResult(126, "", str(exc))
    return CommandResult(proc.returncode, proc.stdout, proc.stderr)


def _http_get(url: str, timeout: float) -> int | None:
    """HTTP status of GET url (any status means something answers), None if nothing does."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return None


def _tcp_connect(url: str, timeout: float) -> bool:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


def _module_available(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # a missing parent package
        return False


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def _embedded_status(settings: Settings) -> dict[str, Any] | None:
    try:
        from labkit.lgtm.process import fetch_status
    except ImportError:
        return None
    return fetch_status(settings, timeout=1.0)


@dataclass
class Probes:
    run: Callable[[Sequence[str], float], CommandResult | None] = _run
    http_get: Callable[[str, float], int | None] = _http_get
    tcp_connect: Callable[[str, float], bool] = _tcp_connect
    module_available: Callable[[str], bool] = _module_available
    package_version: Callable[[str], str | None] = _package_version
    embedded_status: Callable[[Settings], dict[str, Any] | None] = _embedded_status
    timeout_s: float = 1.5


@dataclass(frozen=True)
class EndpointState:
    endpoint: Endpoint
    url: str
    state: State
    answering: bool
    embedded_available: bool
    detail: str


def _state(settings: Settings, endpoint: Endpoint, probes: Probes, lgtm_running: bool) -> EndpointState:
    url = getattr(settings, endpoint.setting)
    if endpoint.kind == "tcp":
        answering = probes.tcp_connect(url, probes.timeout_s)
        how = "accepts connections" if answering else "no answer"
    else:
        status = probes.http_get(url, probes.timeout_s)
        answering = status is not None
        how = f"answers (HTTP {status})" if answering else "no answer"
    available = endpoint.embedded_module is not None and probes.module_available(endpoint.embedded_module)
    if settings.backend != Backend.LIVE and answering and endpoint.served_by_lgtm and lgtm_running:
        return EndpointState(endpoint, url, "embedded", True, available, f"embedded server running; {how}")
    if answering:
        return EndpointState(endpoint, url, "live", True, available, how)
    if settings.backend != Backend.LIVE and available:
        return EndpointState(
            endpoint, url, "embedded", False, True, f"{how}; embedded {endpoint.embedded_module} available"
        )
    return EndpointState(endpoint, url, "down", False, available, how)


def endpoint_states(settings: Settings, probes: Probes | None = None) -> list[EndpointState]:
    """The state of every configured endpoint, probed concurrently (a dead host costs one timeout)."""
    probes = probes or Probes()
    lgtm_running = settings.backend != Backend.LIVE and probes.embedded_status(settings) is not None
    with ThreadPoolExecutor(max_workers=len(ENDPOINTS)) as pool:
        return list(pool.map(lambda e: _state(settings, e, probes, lgtm_running), ENDPOINTS))
