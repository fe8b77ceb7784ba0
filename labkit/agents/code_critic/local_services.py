"""The five Code Critic services on loopback, in this process (no Docker needed).

Each service is the same aiohttp app as in its container, with its own tracer and meter
providers and its own ``service.name`` (``code-critic-<role>``), exporting OTLP/HTTP
to the configured backend. The supervisor reaches the specialists over real HTTP with
W3C trace context, so one review is one trace across five services and the service
graph shows supervisor -> each specialist, exactly as with the compose stack.
The reviewed code is still never imported: the services only run the tools.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping
from typing import Any

from aiohttp import web
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from labkit.agents.code_critic.service import make_app
from labkit.agents.code_critic.specialist import SPECIALISTS
from labkit.agents.prompt_reviewer.service import ServiceTelemetry
from labkit.config import Settings

__all__ = ["LocalServices"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServices:
    """``with LocalServices(settings) as svc: svc.supervisor_url``; every service stops on exit."""

    def __init__(self, settings: Settings, *, resource_attributes: Mapping[str, Any] | None = None) -> None:
        self.settings = settings
        self.resource_attributes = dict(resource_attributes or {})
        self.urls: dict[str, str] = {}
        self._telemetry: list[Any] = []
        self._runners: list[web.AppRunner] = []
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="code-critic-services", daemon=True
        )

    @property
    def supervisor_url(self) -> str:
        return self.urls["supervisor"]

    def _service(self, role: str) -> ServiceTelemetry:
        from labkit.telemetry import setup

        tel = setup(
            f"code-critic-{role}",
            protocol="http",
            settings=self.settings,
            resource_attributes=self.resource_attributes,
            metric_interval_s=1.0,
            set_global=False,
            capture_logging=False,
        )
        self._telemetry.append(tel)
        return ServiceTelemetry(tel.tracer_provider, tel.meter_provider, InMemoryMetricReader())

    async def _start(self, role: str, app: web.Application) -> str:
        port = _free_port()
        runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        self._runners.append(runner)
        return f"http://127.0.0.1:{port}"

    def __enter__(self) -> LocalServices:
        self._thread.start()
        try:
            for role in SPECIALISTS:
                app = make_app(role, self._service(role))
                self.urls[role] = asyncio.run_coroutine_threadsafe(self._start(role, app), self._loop).result(
                    30
                )
            specialists = {r: u for r, u in self.urls.items()}
            app = make_app("supervisor", self._service("supervisor"), specialist_urls=specialists)
            self.urls["supervisor"] = asyncio.run_coroutine_threadsafe(
                self._start("supervisor", app), self._loop
            ).result(30)
        except BaseException:
            self.__exit__()
            raise
        return self

    def flush(self) -> None:
        for tel in self._telemetry:
            tel.flush()

    def __exit__(self, *exc: object) -> None:
        for runner in self._runners:
            asyncio.run_coroutine_threadsafe(runner.cleanup(), self._loop).result(30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(30)
        self._loop.close()
        for tel in self._telemetry:
            tel.shutdown()
