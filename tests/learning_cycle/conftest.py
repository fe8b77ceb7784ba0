"""Fixtures: an offline LLM server, in-memory spans and metrics, a graph on a private store."""

from __future__ import annotations

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

from labkit.agents.learning_cycle import CycleConfig, build_graph
from labkit.config import load_settings
from labkit.llm import Budget, LLMTelemetry, LocalServer, TrackedClient


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LocalServer]:
    with LocalServer(0) as server:
        yield server


class Telemetry:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.reader = InMemoryMetricReader()
        self.meters = MeterProvider(metric_readers=[self.reader])
        self.llm = LLMTelemetry(self.provider, self.meters, capture_content=False)

    def finished(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    t = Telemetry()
    yield t
    t.provider.shutdown()
    t.meters.shutdown()


@pytest.fixture
def make_graph(llm_server: LocalServer, telemetry: Telemetry, tmp_path: Path) -> Iterator[Any]:
    settings = load_settings(
        environ={},
        config_file=None,
        cwd=tmp_path,
        llm_url=llm_server.url,
        backend="embedded",
        data_dir=str(tmp_path / "data"),
    )
    clients: list[anthropic.Anthropic] = []

    def make(**config: Any) -> Any:
        sdk = anthropic.Anthropic(
            api_key="local", base_url=llm_server.url, max_retries=1, open_telemetry=False
        )
        clients.append(sdk)
        tracked = TrackedClient(
            sdk, budget=Budget(50_000_000, 100.0), telemetry=telemetry.llm, settings=settings
        )
        return build_graph(
            tracked,
            config=CycleConfig(model="labkit-offline-1", **config),
            telemetry=telemetry.llm,
            store=tmp_path / "data" / "learning_cycle" / "progress.sqlite",
            checkpoints=tmp_path / "data" / "learning_cycle" / "checkpoints.sqlite",
        )

    yield make
    for sdk in clients:
        sdk.close()
