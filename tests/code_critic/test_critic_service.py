"""The services in-process: the supervisor calls each specialist over HTTP; one trace across them."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiohttp import web
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labkit.agents.code_critic.service import make_app
from labkit.agents.prompt_reviewer.service import ServiceTelemetry
from labkit.lgtm.testing import free_port

PLANTED = "def collect(item, seen=[]):\n    seen.append(item)\n    return eval(item)\n"


class _Running:
    def __init__(self, role: str, exporter: InMemorySpanExporter, urls: dict[str, str] | None = None) -> None:
        provider = TracerProvider(resource=Resource.create({"service.name": f"code-critic-{role}"}))
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        reader = InMemoryMetricReader()
        self.telemetry = ServiceTelemetry(provider, MeterProvider(metric_readers=[reader]), reader)
        self.app = make_app(role, self.telemetry, specialist_urls=urls or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()

        async def start() -> None:
            self.runner = web.AppRunner(self.app, handle_signals=False)
            await self.runner.setup()
            await web.TCPSite(self.runner, "127.0.0.1", self.port).start()
            ready.set()

        self.thread = threading.Thread(
            target=lambda: (self.loop.run_until_complete(start()), self.loop.run_forever())
        )
        self.thread.start()
        assert ready.wait(20)

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self.runner.cleanup(), self.loop).result(20)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(20)
        self.loop.close()
        self.telemetry.tracer_provider.shutdown()
        self.telemetry.meter_provider.shutdown()


@pytest.fixture
def stack(
    llm_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[_Running, InMemorySpanExporter]]:
    monkeypatch.setenv("LABKIT_LLM_URL", llm_server.url)
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    exporter = InMemorySpanExporter()
    specialists = {n: _Running(n, exporter) for n in ("style", "security", "complexity", "tests")}
    supervisor = _Running("supervisor", exporter, {n: s.url for n, s in specialists.items()})
    yield supervisor, exporter
    for s in [supervisor, *specialists.values()]:
        s.stop()


def test_the_supervisor_reviews_through_the_specialists_in_one_trace(stack: Any, tmp_path: Path) -> None:
    supervisor, exporter = stack
    health = httpx.get(supervisor.url + "/health", timeout=10).json()
    assert health["role"] == "supervisor" and set(health["specialists"]) == {
        "style",
        "security",
        "complexity",
        "tests",
    }
    response = httpx.post(
        supervisor.url + "/review", json={"files": [{"path": "p.py", "text": PLANTED}]}, timeout=120
    )
    assert response.status_code == 200, response.text
    found = {(f["rule_id"], f["line_start"]) for f in response.json()["review"]["findings"]}
    assert {("B006", 1), ("B307", 3)} <= found
    spans = exporter.get_finished_spans()
    assert len({s.context.trace_id for s in spans}) == 1
    services = {s.resource.attributes["service.name"] for s in spans}
    assert services == {
        f"code-critic-{r}" for r in ("supervisor", "style", "security", "complexity", "tests")
    }
    servers = [s for s in spans if s.name == "POST /review" and s.kind.name == "SERVER"]
    clients = {s.context.span_id: s for s in spans if s.name == "POST /review" and s.kind.name == "CLIENT"}
    # The supervisor's SERVER span is the root; each specialist's is the child of a supervisor CLIENT span.
    roots = [s for s in servers if s.parent is None]
    assert [r.resource.attributes["service.name"] for r in roots] == ["code-critic-supervisor"]
    children = [s for s in servers if s.parent is not None]
    assert len(children) == 4 and all(s.parent.span_id in clients for s in children)
    assert all(
        clients[s.parent.span_id].resource.attributes["service.name"] == "code-critic-supervisor"
        for s in children
    )


def test_bad_bodies_are_400_with_the_reason(stack: Any) -> None:
    supervisor, _ = stack
    assert httpx.post(supervisor.url + "/review", content=b"nope", timeout=10).status_code == 400
    reply = httpx.post(supervisor.url + "/review", json={"files": [{"path": 1}]}, timeout=10)
    assert reply.status_code == 400 and "path" in reply.json()["error"]
