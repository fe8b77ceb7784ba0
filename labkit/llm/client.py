"""``labkit.llm.client()``: an ``anthropic.Anthropic`` for whichever backend is configured.

* ``backend = live`` (or ``auto`` with an API key): Anthropic at ``settings.anthropic_url``
  with the key, and ``default_model()`` is ``settings.model``.
* ``backend = embedded`` (or ``auto`` without a key): the local Messages API server at
  ``settings.llm_url``; if nothing answers there it is started in this process in a
  background thread, so ``import labkit; labkit.llm.client()`` always works.
  ``default_model()`` is ``settings.offline_model``.

Agents only ever see an ``anthropic.Anthropic``. The key is never logged or printed:
reprs and messages show at most its last two characters.
"""

from __future__ import annotations

import inspect
import logging
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anthropic
import httpx

from labkit.config import Backend, ConfigError, Settings, load_settings
from labkit.llm.server import LocalServer, ServerError, mask_key, port_answers

__all__ = [
    "BackendChoice",
    "choose_backend",
    "client",
    "default_model",
    "ensure_local_server",
    "stop_local_server",
]

_log = logging.getLogger(__name__)
# Any non-empty key opens the local server; this one says where it came from in request logs.
OFFLINE_KEY = "labkit-offline-key"

_servers: dict[int, LocalServer] = {}  # port -> server started in this process
_server_lock = threading.Lock()


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # "live" | "embedded"
    base_url: str
    model: str
    reason: str


def choose_backend(settings: Settings | None = None) -> BackendChoice:
    """Which LLM backend the settings select, and why (no network)."""
    settings = settings or load_settings()
    if settings.backend == Backend.LIVE:
        if not settings.has_api_key:
            raise ConfigError(
                "backend=live needs an Anthropic API key: set ANTHROPIC_API_KEY "
                "(or LABKIT_ANTHROPIC_API_KEY), or use backend=embedded for the offline model"
            )
        return BackendChoice("live", settings.anthropic_url, settings.model, "backend=live")
    if settings.backend == Backend.AUTO and settings.has_api_key:
        return BackendChoice(
            "live", settings.anthropic_url, settings.model, "backend=auto and an API key is set"
        )
    reason = (
        "backend=embedded" if settings.backend == Backend.EMBEDDED else "backend=auto and no API key is set"
    )
    return BackendChoice("embedded", settings.llm_url, settings.offline_model, reason)


def default_model(settings: Settings | None = None) -> str:
    """The model id agents should ask for on the chosen backend."""
    return choose_backend(settings).model


def _is_labkit_server(url: str) -> bool:
    try:
        response = httpx.get(url + "/_labkit/health", timeout=1.0)
        return response.status_code == 200 and response.json().get("server") == "labkit-llm"
    except (httpx.HTTPError, ValueError):
        return False


def ensure_local_server(settings: Settings | None = None) -> str:
    """The URL of a running local LLM server, starting one in-process if none answers."""
    settings = settings or load_settings()
    parts = urlsplit(settings.llm_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    with _server_lock:
        if port in _servers:
            return settings.llm_url
        if port_answers(host, port):
            if _is_labkit_server(settings.llm_url):
                return settings.llm_url
            raise ServerError(
                f"something that is not labkit's LLM server answers at {settings.llm_url}; "
                "stop it or point LABKIT_LLM_URL at a free port"
            )
        if host not in ("127.0.0.1", "localhost"):
            raise ServerError(
                f"nothing answers at {settings.llm_url} and labkit starts servers on 127.0.0.1 only"
            )
        server = LocalServer(port, model_id=settings.offline_model).start()
        _servers[port] = server
        _log.info("started the local LLM server in-process at %s", server.url)
        return settings.llm_url


def stop_local_server() -> None:
    """Stop the servers that ``ensure_local_server`` started in this process (if any)."""
    with _server_lock:
        for server in _servers.values():
            server.stop()
        _servers.clear()


def _sdk_accepts_open_telemetry() -> bool:
    return "open_telemetry" in inspect.signature(anthropic.Anthropic.__init__).parameters


def client(settings: Settings | None = None, **kwargs: Any) -> anthropic.Anthropic:
    """An ``anthropic.Anthropic`` for the configured backend; extra kwargs go to the SDK
    (``max_retries``, ``timeout`` ...)."""
    settings = settings or load_settings()
    choice = choose_backend(settings)
    if choice.backend == "live":
        assert settings.anthropic_api_key is not None  # choose_backend checked it
        key = settings.anthropic_api_key.get_secret_value()
        base_url = settings.anthropic_url
    else:
        key = OFFLINE_KEY
        base_url = ensure_local_server(settings)
    if _sdk_accepts_open_telemetry():
        # labkit emits the chat span itself (see labkit.llm.telemetry): one span per call.
        kwargs.setdefault("open_telemetry", False)
    _log.info("LLM backend: %s at %s (%s), key %s", choice.backend, base_url, choice.reason, mask_key(key))
    return anthropic.Anthropic(api_key=key, base_url=base_url, **kwargs)
