"""One embedded LGTM server and one local Messages API server per module, and a fake cache.

The fake is an exact-match cache in front of a real TrackedClient: enough to prove that the
proof and the dashboard read what the traffic did, without the semantic cache itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic
import pytest
from opentelemetry import metrics as metrics_api

from labkit.config import Settings
from labkit.llm import Budget, LocalServer, TrackedClient

running_server = pytest.importorskip("labkit.lgtm.testing").running_server


class ExactCache:
    """Answers a query it has seen from memory when ``settings.cache_enabled``; emits the cache counters."""

    def __init__(self, tracked: TrackedClient, enabled: bool, meter_provider: Any) -> None:
        self.tracked = tracked
        self.enabled = enabled
        self.client = tracked.client
        self.records = tracked.records
        self.store: dict[str, Any] = {}
        meter = metrics_api.get_meter("labkit.cache", meter_provider=meter_provider)
        # The names the semantic cache emits (labkit_cache_requests_total, ..._saved_usd_total).
        self.requests = meter.create_counter("labkit.cache.requests", unit="{request}")
        self.saved_usd = meter.create_counter("labkit.cache.saved.usd", unit="{USD}")
        self.hits = 0

    def call(self, query: str, **kwargs: Any) -> Any:
        labels = {"agent": self.tracked.agent or "none", "model": kwargs.get("model") or "?"}
        if not self.enabled:
            self.requests.add(1, {**labels, "result": "bypass"})
            return self.tracked.call(query, **kwargs)
        if query in self.store:
            self.hits += 1
            result, usd = self.store[query]
            self.requests.add(1, {**labels, "result": "hit"})
            self.saved_usd.add(usd, labels)
            return result
        self.requests.add(1, {**labels, "result": "miss"})
        result = self.tracked.call(query, **kwargs)
        self.store[query] = (result, result.record.cost.live_equivalent_usd or 0.0)
        return result


@dataclass
class Stack:
    settings: Settings
    llm: LocalServer

    def sdk(self) -> anthropic.Anthropic:
        return anthropic.Anthropic(api_key="sk-test-local-0", base_url=self.llm.url, open_telemetry=False)

    def factory(self, caches: list[ExactCache]) -> Any:
        """A proof client factory: a real TrackedClient behind an ExactCache (kept in ``caches``)."""

        def make(settings: Settings, telemetry: Any, agent: str) -> ExactCache:
            tracked = TrackedClient(
                self.sdk(),
                agent=agent,
                budget=Budget(10_000_000, 100.0),
                telemetry=telemetry,
                settings=settings,
            )
            cache = ExactCache(
                tracked, bool(getattr(settings, "cache_enabled", False)), telemetry.meter_provider
            )
            caches.append(cache)
            return cache

        return make


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp: Path = tmp_path_factory.mktemp("cost")
    with running_server(tmp) as srv, LocalServer(0) as llm:
        settings = srv.settings.model_copy(update={"llm_url": llm.url, "backend": "embedded"})
        yield Stack(settings, llm)
