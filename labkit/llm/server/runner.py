"""Run the local Messages API server: in a background thread, or in the foreground.

``LocalServer`` owns one asyncio loop in a daemon thread, so a notebook kernel or a
test can start it without an event loop of its own; ``serve()`` is the blocking
entry point for ``labkit stack up`` and ``python -m labkit.llm.server``. It binds
127.0.0.1 only, like every embedded service.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from labkit.llm.offline import OfflineModel
from labkit.llm.server.app import ServerState, make_app, mask_key
from labkit.llm.server.faults import FaultPlan

__all__ = ["LocalServer", "ServerError", "port_answers", "serve"]

HOST = "127.0.0.1"


class ServerError(RuntimeError):
    """The server could not start (e.g. the port is taken by something else)."""


def port_answers(host: str, port: int, timeout_s: float = 0.3) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class LocalServer:
    """The local Messages API server in a background thread.

    ``port=0`` picks a free port (tests); ``url`` is the base URL for
    ``anthropic.Anthropic(base_url=...)``.
    """

    def __init__(
        self,
        port: int = 4000,
        *,
        model_id: str | None = None,
        api_key: str | None = None,
        faults: FaultPlan | None = None,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be in 0..65535, got {port}")
        model = OfflineModel(model_id) if model_id else OfflineModel()
        self.state = ServerState(model=model, faults=faults or FaultPlan(), api_key=api_key)
        self._requested_port = port
        self.port: int | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"LocalServer(url={self.url if self.port else None!r}, api_key={mask_key(self.state.api_key)})"

    @property
    def url(self) -> str:
        if self.port is None:
            raise ServerError("the server is not running; call start() first")
        return f"http://{HOST}:{self.port}"

    @property
    def faults(self) -> FaultPlan:
        return self.state.faults

    def request_log(self) -> list[dict[str, Any]]:
        return self.state.request_log()

    def start(self, timeout_s: float = 10.0) -> LocalServer:
        if self._thread is not None:
            return self
        ready = threading.Event()
        errors: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._start_site())
            except BaseException as exc:
                errors.append(exc)
                ready.set()
                loop.close()
                return
            ready.set()
            loop.run_forever()
            loop.run_until_complete(self._runner.cleanup() if self._runner else asyncio.sleep(0))
            loop.close()

        self._thread = threading.Thread(target=run, name="labkit-llm-server", daemon=True)
        self._thread.start()
        if not ready.wait(timeout_s):
            raise ServerError(f"the local LLM server did not start within {timeout_s}s")
        if errors:
            self._thread = None
            raise ServerError(
                f"cannot start the local LLM server on {HOST}:{self._requested_port}: {errors[0]}"
            )
        return self

    async def _start_site(self) -> None:
        self._runner = web.AppRunner(make_app(self.state), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, HOST, self._requested_port)
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []  # aiohttp exposes no public port getter
        self.port = sockets[0].getsockname()[1] if sockets else self._requested_port

    def stop(self) -> None:
        if self._thread is None or self._loop is None:
            return
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self.port = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(llm_url: str = "http://127.0.0.1:4000", api_key: str | None = None) -> None:
    """Run the server in the foreground until interrupted (``labkit stack up`` runs this)."""
    parts = urlsplit(llm_url)
    port = parts.port or 4000
    if parts.hostname not in (HOST, "localhost"):
        raise ServerError(f"the local LLM server binds {HOST} only; llm_url is {llm_url!r}")
    state = ServerState(api_key=api_key)
    web.run_app(make_app(state), host=HOST, port=port, access_log=None, print=None)
