"""Fixtures for the LLM layer: a local Messages API server, settings and in-memory telemetry."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labkit.config import Settings, load_settings
from labkit.llm import Budget, LLMTelemetry, LocalServer, TrackedClient

DATA = Path(__file__).parent / "data"
TEST_KEY = "sk-test-local-0123456789"


# Data files say {FAKE_ANTHROPIC_KEY} where a key-shaped secret belongs, so that nothing
# committed looks like a real key to secret scanners; the loader puts a fake one in.
FAKE_ANTHROPIC_KEY = "sk-" + "ant-api03-FAKEFAKEFAKEFAKEFAKE1234"


def load_jsonl(name: str) -> list[dict[str, Any]]:
    text = (DATA / name).read_text(encoding="utf-8").replace("{FAKE_ANTHROPIC_KEY}", FAKE_ANTHROPIC_KEY)
    return [json.loads(line) for line in text.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def _module_server() -> Iterator[LocalServer]:
    with LocalServer(0) as server:
        yield server


@pytest.fixture
def server(_module_server: LocalServer) -> LocalServer:
    _module_server.faults.clear()
    _module_server.faults.latency_s = 0.0
    _module_server.faults.stream_delay_s = 0.0
    _module_server.state.api_key = None
    _module_server.state.clear_log()
    return _module_server


@pytest.fixture
def settings(server: LocalServer) -> Settings:
    return load_settings(environ={}, config_file=None, cwd=Path("/"), llm_url=server.url, backend="embedded")


@pytest.fixture
def sdk(server: LocalServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(
        api_key=TEST_KEY, base_url=server.url, max_retries=2, open_telemetry=False
    ) as client:
        yield client


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.llm = LLMTelemetry(self.tracer_provider, self.meter_provider, capture_content=False)

    def finished(self) -> list[Any]:
        return list(self.spans.get_finished_spans())

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        out.extend(metric.data.data_points)
        return out

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    tel = Telemetry()
    yield tel
    tel.close()


@pytest.fixture
def tracked(sdk: anthropic.Anthropic, settings: Settings, telemetry: Telemetry) -> TrackedClient:
    return TrackedClient(
        sdk, agent="test_agent", budget=Budget(1_000_000, 10.0), telemetry=telemetry.llm, settings=settings
    )
