"""The learning cycle as a web service: ``GET /health``, ``POST /cycle``, ``GET /metrics``.

``POST /cycle`` takes ``{"learner": "ada", "submission": "<module source>"?, "run_id": "..."?}``
and answers the :class:`CycleResult` JSON (a known ``run_id`` resumes or returns that run).
The request runs under a SERVER span whose parent is the caller's W3C ``traceparent``; with
``LABKIT_CYCLE_CRITIC_URL`` the ``review_code`` node calls a Code Critic supervisor service
(CLIENT span, trace context in the headers), so one cycle is one trace across services and
Tempo's service graph shows caller -> learning-cycle -> code-critic-supervisor.

Run: ``python -m labkit.agents.learning_cycle.service --port 8090`` (the image listens on 8000).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import Any

from aiohttp import web
from opentelemetry import context as otel_context
from opentelemetry import metrics as metrics_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

from labkit.agents._prom_text import render
from labkit.agents.learning_cycle.graph import WORKFLOW, CycleConfig, build_graph, run_cycle
from labkit.agents.prompt_reviewer.service import ServiceTelemetry, make_telemetry
from labkit.llm.budget import BudgetExceeded
from labkit.llm.client import choose_backend
from labkit.llm.telemetry import LLMTelemetry
from labkit.llm.tracked import TrackedClient

__all__ = ["DEFAULT_PORT", "SERVICE_NAME", "main", "make_app"]

SERVICE_NAME = "learning-cycle"
DEFAULT_PORT = 8090
MAX_BODY_BYTES = 256 * 1024
_log = logging.getLogger(__name__)


def make_app(
    telemetry: ServiceTelemetry | None = None,
    *,
    config: CycleConfig | None = None,
    graph: Any = None,
) -> web.Application:
    telemetry = telemetry or make_telemetry(SERVICE_NAME, otlp=False)
    llm_telemetry = LLMTelemetry(telemetry.tracer_provider, telemetry.meter_provider)
    if config is None:
        config = CycleConfig(critic_url=os.environ.get("LABKIT_CYCLE_CRITIC_URL") or None)
    if graph is None:
        graph = build_graph(
            TrackedClient(agent=WORKFLOW, telemetry=llm_telemetry), config=config, telemetry=llm_telemetry
        )
    tracer = trace_api.get_tracer(
        "labkit.agents.learning_cycle.service", tracer_provider=telemetry.tracer_provider
    )
    meter = metrics_api.get_meter("labkit.agents.learning_cycle", meter_provider=telemetry.meter_provider)
    cycles = meter.create_counter("labkit.workflow.cycles", unit="{cycle}", description="cycles by status")
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    def traced(body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        token = otel_context.attach(propagate.extract(headers))
        try:
            attrs = {"http.request.method": "POST", "http.route": "/cycle"}
            with tracer.start_as_current_span("POST /cycle", kind=SpanKind.SERVER, attributes=attrs) as span:
                try:
                    result = run_cycle(
                        body["learner"], body.get("submission"), run_id=body.get("run_id"), graph=graph
                    )
                except Exception as exc:
                    span.set_status(Status(StatusCode.ERROR, str(exc)[:200]))
                    raise
                return result.model_dump(mode="json")
        finally:
            otel_context.detach(token)

    async def health(request: web.Request) -> web.Response:
        deps = graph.labkit_deps
        choice = choose_backend(deps.llm.settings)
        return web.json_response(
            {
                "status": "ok",
                "workflow": WORKFLOW,
                "backend": choice.backend,
                "model": deps.config.model or choice.model,
                "critic_url": deps.config.critic_url,
            }
        )

    async def post_cycle(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": 'the body must be JSON: {"learner": "..."}'}, status=400)
        problem = _check(body)
        if problem:
            cycles.add(1, {"status": "bad_request"})
            return web.json_response({"error": problem}, status=400)
        try:
            result = await asyncio.to_thread(traced, body, dict(request.headers))
        except BudgetExceeded as exc:
            cycles.add(1, {"status": "budget_exceeded"})
            return web.json_response({"error": str(exc), "type": "budget_exceeded"}, status=429)
        except ValueError as exc:
            cycles.add(1, {"status": "bad_request"})
            return web.json_response({"error": str(exc)}, status=400)
        cycles.add(1, {"status": "passed" if result["passed"] else "failed"})
        return web.json_response(result)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            text=render(telemetry.reader.get_metrics_data()), content_type="text/plain", charset="utf-8"
        )

    app.router.add_get("/health", health)
    app.router.add_post("/cycle", post_cycle)
    app.router.add_get("/metrics", metrics)
    return app


def _check(body: Any) -> str | None:
    if not isinstance(body, dict):
        return 'the body must be a JSON object: {"learner": "..."}'
    if not isinstance(body.get("learner"), str) or not body["learner"].strip():
        return "field 'learner' (a non-empty string) is required"
    for key in ("submission", "run_id"):
        if body.get(key) is not None and not isinstance(body[key], str):
            return f"field {key!r} must be a string"
    return None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The learning-cycle workflow as a service")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABKIT_CYCLE_PORT", DEFAULT_PORT)))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    telemetry = make_telemetry(os.environ.get("OTEL_SERVICE_NAME") or SERVICE_NAME)
    trace_api.set_tracer_provider(telemetry.tracer_provider)
    metrics_api.set_meter_provider(telemetry.meter_provider)
    web.run_app(make_app(telemetry), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
