"""Fixtures for the Code Critic: an offline LLM server, in-memory telemetry, a graph on both."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from labkit.agents.code_critic import CriticConfig, build_graph
from labkit.config import load_settings
from labkit.llm import Budget, LLMTelemetry, LocalServer, TrackedClient

# The labelled corpus holds planted problems (and test files): never collect or lint it.
collect_ignore_glob = ["corpus/*"]
CORPUS = Path(__file__).parent / "corpus"


@pytest.fixture(scope="module")
def llm_server() -> Iterator[LocalServer]:
    with LocalServer(0) as server:
        yield server


class Spans:
    def __init__(self) -> None:
        self.exporter = InMemorySpanExporter()
        self.provider = TracerProvider()
        self.provider.add_span_processor(SimpleSpanProcessor(self.exporter))
        self.llm = LLMTelemetry(self.provider, capture_content=False)

    def finished(self) -> list[Any]:
        return list(self.exporter.get_finished_spans())


@pytest.fixture
def spans() -> Iterator[Spans]:
    s = Spans()
    yield s
    s.provider.shutdown()


@pytest.fixture
def make_graph(llm_server: LocalServer, spans: Spans) -> Iterator[Any]:
    settings = load_settings(
        environ={}, config_file=None, cwd=Path("/"), llm_url=llm_server.url, backend="embedded"
    )
    clients: list[anthropic.Anthropic] = []

    def make(**config: Any) -> Any:
        sdk = anthropic.Anthropic(
            api_key="local", base_url=llm_server.url, max_retries=1, open_telemetry=False
        )
        clients.append(sdk)
        tracked = TrackedClient(sdk, budget=Budget(50_000_000, 100.0), telemetry=spans.llm, settings=settings)
        return build_graph(
            tracked, config=CriticConfig(model="labkit-offline-1", **config), telemetry=spans.llm
        )

    yield make
    for sdk in clients:
        sdk.close()


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return folder
