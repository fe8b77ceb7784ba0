"""The learning-cycle service and the Code Critic's five services on loopback, in this process.

Same apps as in their containers, each with its own ``service.name`` and OTLP/HTTP export
to the configured backend, so a cycle posted here is one trace across seven services and
the service graph shows <caller> -> learning-cycle -> code-critic-supervisor -> specialists.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from typing import Any

import httpx
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

from labkit.agents.code_critic.local_services import LocalServices as CriticServices
from labkit.agents.learning_cycle.graph import CycleConfig
from labkit.agents.learning_cycle.service import SERVICE_NAME, make_app
from labkit.config import Settings

__all__ = ["LocalServices", "post_cycle"]


class LocalServices(CriticServices):
    """``with LocalServices(settings) as svc: post_cycle(svc.url, "ada")``; all stop on exit."""

    @property
    def url(self) -> str:
        return self.urls[SERVICE_NAME]

    def __init__(
        self,
        settings: Settings,
        *,
        resource_attributes: Mapping[str, Any] | None = None,
        config: CycleConfig | None = None,
    ) -> None:
        super().__init__(settings, resource_attributes=resource_attributes)
        self.config = config

    def _cycle_telemetry(self) -> Any:
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader

        from labkit.agents.prompt_reviewer.service import ServiceTelemetry
        from labkit.telemetry import setup

        tel = setup(
            SERVICE_NAME,
            protocol="http",
            settings=self.settings,
            resource_attributes=self.resource_attributes,
            metric_interval_s=1.0,
            set_global=False,
            capture_logging=False,
        )
        self._telemetry.append(tel)
        return ServiceTelemetry(tel.tracer_provider, tel.meter_provider, InMemoryMetricReader())

    def start(self) -> LocalServices:
        """``__enter__`` for a notebook, where the services outlive one cell; ``close()`` stops them."""
        return self.__enter__()

    def close(self) -> None:
        self.__exit__()

    def __enter__(self) -> LocalServices:
        super().__enter__()
        try:
            base = self.config or CycleConfig()
            config = base.model_copy(update={"critic_url": self.supervisor_url})
            app = make_app(self._cycle_telemetry(), config=config)
            self.urls[SERVICE_NAME] = asyncio.run_coroutine_threadsafe(
                self._start(SERVICE_NAME, app), self._loop
            ).result(30)
        except BaseException:
            self.__exit__()
            raise
        return self


def post_cycle(
    url: str,
    learner: str,
    submission: str | None = None,
    *,
    run_id: str | None = None,
    tracer: trace_api.Tracer | None = None,
    timeout: float = 180.0,
) -> dict[str, Any]:
    """POST one cycle to the service under a CLIENT span of the caller (the service graph's
    first edge); returns the result JSON with ``trace_id``. Without a tracer provider the
    request still carries a fresh ``traceparent`` so the trace id is known."""
    tracer = tracer or trace_api.get_tracer("labkit.agents.learning_cycle.client")
    target = url.rstrip("/") + "/cycle"
    body = {"learner": learner, "submission": submission, "run_id": run_id}
    with tracer.start_as_current_span(
        "POST /cycle", kind=SpanKind.CLIENT, attributes={"http.request.method": "POST", "url.full": target}
    ) as span:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        if "traceparent" not in headers:
            headers["traceparent"] = f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"
        response = httpx.post(target, json=body, headers=headers, timeout=timeout)
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code != 200:
            span.set_status(Status(StatusCode.ERROR, f"HTTP {response.status_code}"))
            raise RuntimeError(
                f"the learning cycle at {url} answered {response.status_code}: {response.text[:300]}"
            )
        result = dict(response.json())
    result["trace_id"] = headers["traceparent"].split("-")[1]
    return result
