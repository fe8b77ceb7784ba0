"""Fixtures for the semantic cache: a bag-of-words embedder, in-memory telemetry, a local LLM server."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import anthropic
import numpy as np
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labkit.cache import CacheTelemetry, SemanticCache
from labkit.config import Settings, load_settings
from labkit.llm import LLMTelemetry, LocalServer


class BagOfWords:
    """A deterministic stand-in for the embedding model: hashed word counts, unit length.

    Cosine is then the word overlap, so a test can say how similar two questions are.
    """

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        self.calls += 1
        out = np.zeros((len(texts), 384), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1.0
            norm = np.linalg.norm(out[row])
            if norm:
                out[row] /= norm
        return out


class Telemetry:
    def __init__(self) -> None:
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider()
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(metric_readers=[self.reader])
        self.cache = CacheTelemetry(self.meter_provider, self.tracer_provider)
        self.llm = LLMTelemetry(self.tracer_provider, self.meter_provider, capture_content=False)

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        out = []
        for rm in data.resource_metrics if data else []:
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    if metric.name == name:
                        out.extend(metric.data.data_points)
        return out

    def results(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for point in self.points("labkit.cache.requests"):
            result = point.attributes["result"]
            counts[result] = counts.get(result, 0) + int(point.value)
        return counts

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@pytest.fixture
def telemetry() -> Iterator[Telemetry]:
    tel = Telemetry()
    yield tel
    tel.close()


@pytest.fixture
def embedder() -> BagOfWords:
    return BagOfWords()


@pytest.fixture
def make_cache(embedder: BagOfWords, telemetry: Telemetry) -> Any:
    def make(**kwargs: Any) -> SemanticCache:
        kwargs.setdefault("threshold", 0.7)
        kwargs.setdefault("embedder", embedder)
        kwargs.setdefault("telemetry", telemetry.cache)
        return SemanticCache(**kwargs)

    return make


@pytest.fixture(scope="module")
def _module_server() -> Iterator[LocalServer]:
    with LocalServer(0) as server:
        yield server


@pytest.fixture
def server(_module_server: LocalServer) -> LocalServer:
    _module_server.state.clear_log()
    return _module_server


@pytest.fixture
def settings(server: LocalServer, tmp_path: Path) -> Settings:
    return load_settings(
        environ={},
        config_file=None,
        cwd=Path("/"),
        llm_url=server.url,
        backend="embedded",
        data_dir=str(tmp_path / "data"),
    )


@pytest.fixture
def sdk(server: LocalServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(api_key="test-key", base_url=server.url, open_telemetry=False) as client:
        yield client


def requests_seen(server: LocalServer) -> int:
    return sum(1 for entry in server.request_log() if str(entry.get("path", "")) == "/v1/messages")
