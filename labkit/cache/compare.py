"""Anthropic prompt caching against semantic caching, measured on the same workload.

Four runs of the same queries, each a real call per query to the configured model (the
offline model meters prompt-cache reads and writes as the API does), under one long,
stable system prompt -- the case prompt caching is made for:

=================  ===================================================================
``no cache``       every query is a full-price call
``prompt cache``   the system prompt carries ``cache_control``: written once (1.25x), then
                   read at 0.1x of the input price; every query still reaches the model
``semantic cache``  ``cache_enabled``: a paraphrase already answered in the same scope is
                   served without a call; a miss is a full-price call
``both``           the semantic cache in front, prompt caching on each miss
=================  ===================================================================

Costs are live-equivalent USD (the offline model costs 0; see docs/cost.md), read from the
same counters the Mimir proof sums (``labkit.llm.cost.live_equivalent.usd``, tokens from
``labkit.llm.tokens``, calls from ``llm.requests``), each strategy on its own in-memory meter,
so a cache hit counts exactly as it counts on the dashboard. Spans go to the tracer provider
given (default: the global one), so the runs are in Tempo too.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from labkit.config import Settings, load_settings

__all__ = ["STRATEGIES", "SYSTEM_PROMPT", "WHEN", "Comparison", "compare", "system_blocks"]

STRATEGIES = ("no cache", "prompt cache", "semantic cache", "both")
AGENT = "cost_compare"

# A support desk's standing instructions: long and identical on every call, like the system
# prompts, tool definitions and reference documents that prompt caching is for. It must
# exceed the API's minimum cacheable prefix (1,024 tokens), or nothing is cached at all.
_RULES = [
    "Greet the customer by name when the ticket gives one, and never invent a name.",
    "State the answer in the first sentence, then the steps, then what to do if it fails.",
    "Quote amounts with their currency and dates in ISO format, as written in the ticket.",
    "Refunds within 30 days of purchase are automatic; later ones need a manager's approval.",
    "Shipping to the EU takes 3 to 5 business days; to the rest of the world, 7 to 12.",
    "Passwords are never sent by email; point to the reset page and its 15-minute link.",
    "Escalate any mention of a security incident, a legal threat or a medical emergency.",
    "Do not promise delivery dates the carrier has not confirmed in the tracking page.",
    "Accounts locked after 5 failed logins unlock after 30 minutes or through support.",
    "Invoices can be re-issued for the last 24 months; older ones come from the archive team.",
    "Answer in the customer's language when it is one of English, French, German or Spanish.",
    "Never share another customer's data, even when the ticket claims to be from them.",
]
SYSTEM_PROMPT = "You are the support desk assistant of an online shop.\n" + "\n".join(
    f"Rule {i}.{j}: {rule}" for i in range(1, 5) for j, rule in enumerate(_RULES, 1)
)

# When each one applies: the table of the lesson.
WHEN = pd.DataFrame(
    [
        ("what is reused", "the processed prompt prefix (KV cache)", "a whole earlier answer"),
        ("what it saves", "input price of the prefix (reads at 0.1x)", "the entire call: input and output"),
        ("what it costs", "cache writes at 1.25x (5 min) or 2x (1 h)", "an embedding and a vector lookup"),
        ("applies when", "a stable prefix >= 1,024 tokens repeats", "a paraphrase repeats in the same scope"),
        ("lifetime", "5 minutes or 1 hour, refreshed on each hit", "its TTL and size limit (evictions)"),
        ("answer", "always freshly generated, never stale", "the cached one: stale or wrong on a false hit"),
        ("risk", "none for correctness", "false hits: threshold + verification"),
        ("latency", "lower time to first token", "no model call at all on a hit"),
    ],
    columns=["aspect", "prompt caching", "semantic caching"],
)


def system_blocks(system: str, *, cached: bool) -> list[dict[str, Any]]:
    """The system prompt as one text block, with ``cache_control`` when ``cached``."""
    block: dict[str, Any] = {"type": "text", "text": system}
    if cached:
        block["cache_control"] = {"type": "ephemeral"}
    return [block]


@dataclass
class Comparison:
    table: pd.DataFrame  # one row per strategy
    when: pd.DataFrame

    def saving(self, strategy: str) -> float:
        """The fraction of the ``no cache`` cost that ``strategy`` saves."""
        costs = dict(zip(self.table["strategy"], self.table["cost_usd"], strict=True))
        base = costs["no cache"]
        return float("nan") if base <= 0 else 1.0 - costs[strategy] / base

    def _repr_html_(self) -> str:
        return self.table.to_html(index=False) + self.when.to_html(index=False)


def _default_client(settings: Settings, telemetry: Any, agent: str) -> Any:
    from labkit.llm import TrackedClient

    return TrackedClient(agent=agent, telemetry=telemetry, settings=settings)


def compare(
    queries: Sequence[str],
    *,
    settings: Settings | None = None,
    system: str = SYSTEM_PROMPT,
    threshold: float | None = None,
    client_factory: Any = None,
    tracer_provider: Any = None,
    model: str | None = None,
    max_tokens: int = 120,
) -> Comparison:
    """Run ``queries`` under each of :data:`STRATEGIES` and tabulate what each cost and saved."""
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    from labkit.cache.proof import phase_settings
    from labkit.llm.telemetry import LLMTelemetry

    if not queries:
        raise ValueError("the comparison needs at least one query")
    settings = settings or load_settings()
    factory = client_factory or _default_client
    rows = []
    run = uuid.uuid4().hex[:8]
    for n, strategy in enumerate(STRATEGIES):
        # A session line of equal length per strategy: each starts with a cold semantic cache
        # (the system prompt is part of its scope) and a cold prompt cache, at the same token count.
        scoped = f"{system}\nSession {run}-{n}."
        semantic = strategy in ("semantic cache", "both")
        prompt = strategy in ("prompt cache", "both")
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        telemetry = LLMTelemetry(tracer_provider, meter_provider, capture_content=False)
        client = factory(phase_settings(settings, cache=semantic, threshold=threshold), telemetry, AGENT)
        try:
            for query in queries:
                client.call(
                    query, model=model, max_tokens=max_tokens, system=system_blocks(scoped, cached=prompt)
                )
        finally:
            if client_factory is None:
                client.client.close()
            sums = _sums(reader)
            meter_provider.shutdown()
        tokens = sums.get("labkit.llm.tokens", {})
        calls = sums.get("llm.requests", {})
        rows.append(
            {
                "strategy": strategy,
                "requests": len(queries),
                "model_calls": int(calls.get(("outcome", "ok"), 0)),
                "input_tokens": int(tokens.get(("token_type", "input"), 0)),
                "cache_write_tokens": int(tokens.get(("token_type", "cache_creation"), 0)),
                "cache_read_tokens": int(tokens.get(("token_type", "cache_read"), 0)),
                "output_tokens": int(tokens.get(("token_type", "output"), 0)),
                "cost_usd": float(sum(sums.get("labkit.llm.cost.live_equivalent.usd", {}).values())),
            }
        )
    table = pd.DataFrame(rows)
    base = float(table.loc[0, "cost_usd"])
    table["saving"] = [(1.0 - c / base) if base > 0 else float("nan") for c in table["cost_usd"]]
    return Comparison(table, WHEN.copy())


# The attribute each counter is split by here; other attributes (agent, model ...) are summed over.
_SPLIT = {"labkit.llm.tokens": "token_type", "llm.requests": "outcome"}


def _sums(reader: Any) -> dict[str, dict[tuple[str, str], float]]:
    """Counter totals from an in-memory reader: name -> {(split attribute, value): total}."""
    out: dict[str, dict[tuple[str, str], float]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics if data else []:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                key = _SPLIT.get(metric.name)
                totals = out.setdefault(metric.name, {})
                for point in getattr(metric.data, "data_points", []):
                    value = getattr(point, "value", None)
                    if value is None:
                        continue  # histograms: not a total
                    split = (key, str(point.attributes.get(key))) if key else ("", "")
                    totals[split] = totals.get(split, 0.0) + float(value)
    return out
