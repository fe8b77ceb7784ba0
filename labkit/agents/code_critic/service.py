"""The Code Critic's services: one per specialist, and the supervisor that calls them over HTTP.

``python -m labkit.agents.code_critic.service --role style|security|complexity|tests|supervisor``

* ``GET /health``: role, backend, model (and, for the supervisor, the specialists' URLs).
* ``POST /review``: a specialist takes ``{"files": [{"path", "text"}], "tests": [...]}`` and
  returns its outcome (``findings``, ``notes``, ``suspects``, ``tool_calls``, ``duration_s``).
  The supervisor takes the same body (or ``{"diff": "..."}``), calls every specialist at
  ``LABKIT_CRITIC_<ROLE>_URL`` and returns the :class:`CriticResult` JSON.
* ``GET /metrics``: Prometheus text of the service's own meters.

Each request runs under a SERVER span whose parent is the caller's W3C ``traceparent``,
so one review is one trace across every container. Reviewed code is never imported
here: the tools run on a temporary copy, the tests in a contained subprocess.
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
from opentelemetry.trace import SpanKind

from labkit.agents._prom_text import render
from labkit.agents.code_critic.graph import CriticConfig, build_graph, review, review_intake
from labkit.agents.code_critic.intake import from_wire, sources_from_wire
from labkit.agents.code_critic.sandbox import Limits
from labkit.agents.code_critic.specialist import SPECIALISTS, Context, agent_name, run_specialist
from labkit.agents.code_critic.workspace import Workspace
from labkit.agents.prompt_reviewer.service import ServiceTelemetry, make_telemetry
from labkit.llm.budget import BudgetExceeded
from labkit.llm.client import choose_backend, default_model
from labkit.llm.telemetry import LLMTelemetry
from labkit.llm.tracked import TrackedClient

__all__ = ["ROLES", "main", "make_app", "specialist_urls_from_env"]

ROLES = (*SPECIALISTS, "supervisor")
MAX_BODY_BYTES = 4 * 1024 * 1024
_log = logging.getLogger(__name__)


def specialist_urls_from_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    env = os.environ if environ is None else environ
    return {
        n: env[f"LABKIT_CRITIC_{n.upper()}_URL"]
        for n in SPECIALISTS
        if env.get(f"LABKIT_CRITIC_{n.upper()}_URL")
    }


def make_app(
    role: str, telemetry: ServiceTelemetry | None = None, *, specialist_urls: dict[str, str] | None = None
) -> web.Application:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; one of {list(ROLES)}")
    telemetry = telemetry or make_telemetry(f"code-critic-{role}", otlp=False)
    llm_telemetry = LLMTelemetry(telemetry.tracer_provider, telemetry.meter_provider)
    llm = TrackedClient(agent=agent_name(role), telemetry=llm_telemetry)
    tracer = trace_api.get_tracer(
        "labkit.agents.code_critic.service", tracer_provider=telemetry.tracer_provider
    )
    meter = metrics_api.get_meter("labkit.agents.code_critic", meter_provider=telemetry.meter_provider)
    reviews = meter.create_counter(
        "labkit.critic.reviews", unit="{review}", description="reviews by role and status"
    )
    urls = specialist_urls if specialist_urls is not None else specialist_urls_from_env()
    graph = None
    if role == "supervisor":
        graph = build_graph(llm, config=CriticConfig(specialist_urls=urls), telemetry=llm_telemetry)
    app = web.Application(client_max_size=MAX_BODY_BYTES)

    def work(body: dict[str, Any]) -> dict[str, Any]:
        timeout = float(body.get("test_timeout_s") or 30.0)
        if role == "supervisor":
            if isinstance(body.get("diff"), str):
                result = review(diff=body["diff"], graph=graph)
            else:
                intake = from_wire(body.get("files") or [], body.get("tests") or [])
                graph.labkit_deps.config.test_timeout_s = timeout  # type: ignore[union-attr]
                result = review_intake(intake, graph)
            return result.model_dump(mode="json")
        files, tests = sources_from_wire(body.get("files")), sources_from_wire(body.get("tests"))
        workspace = Workspace.stage(files, tests)
        try:
            ctx = Context(files, tests, workspace, Limits(timeout_s=min(timeout, 120.0)))
            outcome = run_specialist(
                SPECIALISTS[role], ctx, llm, llm_telemetry, model=default_model(llm.settings)
            )
        finally:
            workspace.cleanup()
        return outcome.as_dict()

    def traced(body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        # The caller's trace context becomes the parent of this service's SERVER span.
        token = otel_context.attach(propagate.extract(headers))
        try:
            with tracer.start_as_current_span(
                "POST /review",
                kind=SpanKind.SERVER,
                attributes={
                    "http.request.method": "POST",
                    "http.route": "/review",
                    "labkit.critic.role": role,
                },
            ):
                return work(body)
        finally:
            otel_context.detach(token)

    async def health(request: web.Request) -> web.Response:
        choice = choose_backend(llm.settings)
        info: dict[str, Any] = {
            "status": "ok",
            "role": role,
            "backend": choice.backend,
            "model": choice.model,
        }
        if role == "supervisor":
            info["specialists"] = urls
        return web.json_response(info)

    async def post_review(request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(
                {"error": 'the body must be JSON: {"files": [{"path": ..., "text": ...}]}'}, status=400
            )
        if not isinstance(body, dict) or not (
            isinstance(body.get("files"), list) or isinstance(body.get("diff"), str)
        ):
            return web.json_response(
                {"error": "field 'files' (a list of {path, text}) or 'diff' is required"}, status=400
            )
        try:
            result = await asyncio.to_thread(traced, body, dict(request.headers))
        except ValueError as exc:
            reviews.add(1, {"role": role, "status": "bad_request"})
            return web.json_response({"error": str(exc)}, status=400)
        except BudgetExceeded as exc:
            reviews.add(1, {"role": role, "status": "budget_exceeded"})
            return web.json_response({"error": str(exc), "type": "budget_exceeded"}, status=429)
        reviews.add(1, {"role": role, "status": "ok"})
        return web.json_response(result)

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(
            text=render(telemetry.reader.get_metrics_data()), content_type="text/plain", charset="utf-8"
        )

    app.router.add_get("/health", health)
    app.router.add_post("/review", post_review)
    app.router.add_get("/metrics", metrics)
    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Code Critic service (one specialist, or the supervisor)")
    parser.add_argument("--role", choices=ROLES, default=os.environ.get("LABKIT_CRITIC_ROLE"))
    parser.add_argument("--host", default="127.0.0.1", help="bind address (0.0.0.0 inside a container)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("LABKIT_CRITIC_PORT", "8080")))
    args = parser.parse_args(argv)
    if args.role is None:
        parser.error("--role (or LABKIT_CRITIC_ROLE) is required")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    telemetry = make_telemetry(os.environ.get("OTEL_SERVICE_NAME") or f"code-critic-{args.role}")
    trace_api.set_tracer_provider(telemetry.tracer_provider)
    metrics_api.set_meter_provider(telemetry.meter_provider)
    web.run_app(make_app(args.role, telemetry), host=args.host, port=args.port, access_log=None)


if __name__ == "__main__":
    main()
