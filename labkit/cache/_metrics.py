"""The cache's OpenTelemetry instruments (see docs/cache.md for the Prometheus names).

========================================  ===========================================
OpenTelemetry instrument (unit)           Prometheus name
========================================  ===========================================
``labkit.cache.requests`` ({request})     ``labkit_cache_requests_total``
``labkit.cache.saved.tokens`` ({token})   ``labkit_cache_saved_tokens_total``
``labkit.cache.saved.usd`` ({USD})        ``labkit_cache_saved_usd_total``
``labkit.cache.saved.live_equivalent.usd``  ``labkit_cache_saved_live_equivalent_usd_total``
========================================  ===========================================

Units in braces are annotations: the translation adds no unit suffix (as for
``labkit.llm.cost.usd`` -> ``labkit_llm_cost_usd_total``).
"""

from __future__ import annotations

from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

__all__ = ["RESULTS", "SCOPE", "CacheTelemetry"]

SCOPE = "labkit.cache"
RESULTS = ("hit", "miss", "near_miss_rejected", "bypass", "error")


class CacheTelemetry:
    def __init__(self, meter_provider: Any = None, tracer_provider: Any = None) -> None:
        meter = metrics_api.get_meter(SCOPE, meter_provider=meter_provider)
        self.tracer = trace_api.get_tracer(SCOPE, tracer_provider=tracer_provider)
        self.requests = meter.create_counter(
            "labkit.cache.requests",
            unit="{request}",
            description="semantic cache lookups by result (hit, miss, near_miss_rejected, bypass, error)",
        )
        self.saved_tokens = meter.create_counter(
            "labkit.cache.saved.tokens", unit="{token}", description="LLM tokens a cache hit did not spend"
        )
        self.saved_usd = meter.create_counter(
            "labkit.cache.saved.usd", unit="{USD}", description="USD a cache hit did not spend"
        )
        self.saved_equivalent = meter.create_counter(
            "labkit.cache.saved.live_equivalent.usd",
            unit="{USD}",
            description="what the calls cache hits avoided cost on the configured live model (USD)",
        )

    def count(self, result: str, agent: str | None, model: str | None) -> None:
        self.requests.add(1, {"result": result, "agent": agent or "none", "model": model or "none"})

    def saved(
        self, tokens: int, usd: float | None, equivalent: float | None, agent: str | None, model: str
    ) -> None:
        labels = {"agent": agent or "none", "model": model or "none"}
        self.saved_tokens.add(tokens, labels)
        if usd:
            self.saved_usd.add(usd, labels)
        if equivalent:
            self.saved_equivalent.add(equivalent, labels)


_default: CacheTelemetry | None = None


def default_cache_telemetry() -> CacheTelemetry:
    global _default
    if _default is None:
        _default = CacheTelemetry()
    return _default
