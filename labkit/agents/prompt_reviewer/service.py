"""The Prompt Reviewer as a web service: ``GET /health``, ``POST /review``, ``GET /metrics``.

``POST /review`` answers the review plus ``message``, the text a chat client would show
(the refusal when the guardrails block, the suggested rewrite otherwise).
``/metrics`` serves Prometheus text of the service's own meter provider (GenAI
histograms, ``labkit_llm_tokens_total``, ``labkit_llm_cost_usd_total``, review counts);
with ``OTEL_EXPORTER_OTLP_ENDPOINT`` set, the same metrics and the traces are also
pushed over OTLP/HTTP. Run: ``python -m labkit.agents.prompt_reviewer.service --port 8080``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

from labkit.agents._prom_text import render
from labkit.agents.prompt_reviewer.graph import AGENT_NAME, ReviewResult, build_graph, review
from labkit.config import load_settings
from labkit.llm.budget import BudgetExceeded
from labkit.llm.client import choose_backend
from labkit.llm.telemetry import LLMTelemetry
from labkit.llm.tracked import TrackedClient

__all__ = ["ServiceTelemetry", "main", "make_app", "make_telemetry"]

_log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024


@dataclass
class ServiceTelemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    reader: InMemoryMetricReader


def make_telemetry(service_name: str = "prompt-reviewer", *, otlp: bool | None = None) -> ServiceTelemetry:
    """Providers for the service: an in-memory reader for /metrics, plus OTLP when configured."""
    resource = Resource.create({"service.name": service_name, "service.namespace": "labkit"})
    reader = InMemoryMetricReader()
    readers: list[MetricReader] = [reader]
    tracer_provider = TracerProvider(resource=resource)
    push = bool(os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")) if otlp is None else otlp
    if push:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        readers.append(PeriodicExportingMetricReader(OTLPMetricExporter(), export_interval_millis=10_000))
        tracer_provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return ServiceTelemetry(tracer_provider, MeterProvider(resource=resource, metric_readers=readers), reader)


def make_app(graph: Any = None, telemetry: ServiceTelemetry | None = None) -> web.Application:
    telemetry = telemetry or make_telemetry(otlp=False)
    if graph is None:
        llm_telemetry = LLMTelemetry(telemetry.tracer_provider, telemetry.meter_provider)
        graph = build_graph(TrackedClient(agent=AGENT_NAME, telemetry=llm_telemetry), telemetry=llm_telemetry)
    meter = metrics_api.get_meter("labkit.agents.prompt_reviewer", meter_provider=telemetry.meter_provider)
    reviews = meter.create_counter("labkit.agent.reviews", unit="{review}", description="reviews by status")
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    async def health(request: web.Request) -> web.Response:
        deps = graph.labkit_deps
        choice = choose_backend(deps.llm.settings)
        return web.json_response(
            {
                "status": "ok",
                "agent": AGENT_NAME,
                "backend": choice.backend,
                "model": deps.config.model or choice.model,
            }
        )

    async def post_review(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": 'the body must be JSON: {"prompt": "..."}'}, status=400)
        prompt = body.get("prompt") if isinstance(body, dict) else None
        if not isinstance(prompt, str):
            return web.json_response({"error": "field 'prompt' (a string) is required"}, status=400)
        try:
            result = await asyncio.to_thread(review, prompt, graph)
        except BudgetExceeded as exc:
            reviews.add(1, {"status": "budget_exceeded"})
            return web.json_response({"error": str(exc), "type": "budget_exceeded"}, status=429)
        reviews.add(1, {"status": result.status})
        return web.json_response({**result.model_dump(mode="json"), "message": _message(result)})

    async def metrics(request: web.Request) -> web.Response:
        text = render(telemetry.reader.get_metrics_data())
        return web.Response(
            text=text,
            content_type="text/plain",
            charset="utf-8",
            headers={"X-Content-Format": "prometheus-0.0.4"},
        )

    app.router.add_get("/health", health)
    app.router.add_post("/review", post_review)
    app.router.add_get("/metrics", metrics)
    return app


def _message(result: ReviewResult) -> str:
    """What a chat client shows (and what red-team tools read): the refusal or the rewrite."""
    if result.status == "blocked":
        reasons = "; ".join(f.get("reason", "") for f in result.guardrail.get("findings", []))
        return f"I'm sorry, I can't review this prompt: the guardrails blocked it ({reasons})."
    if result.review is not None:
        return result.review.suggested_rewrite
    return "The review failed: " + "; ".join(result.errors)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Prompt Reviewer web service")
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=8080)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    telemetry = make_telemetry()
    trace_api.set_tracer_provider(telemetry.tracer_provider)
    metrics_api.set_meter_provider(telemetry.meter_provider)
    settings = load_settings()
    _log.info("prompt reviewer: LLM backend %s", choose_backend(settings).backend)
    web.run_app(make_app(telemetry=telemetry), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
