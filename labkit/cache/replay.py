"""Replay a labelled workload through a semantic cache and measure what it saves.

Each query is looked up; a miss (or a rejected near miss) is sent to the model and its
answer stored, a hit is served from the cache. The model is the offline model behind
the local Messages API server (``labkit.llm``), called through ``TrackedClient``, so
tokens are the server's own counts and cost comes from labkit's price table. The
offline model costs $0, so USD figures are *live-equivalent*: the same usage priced
at ``settings.model``, the model a live run would use.

Definitions (docs/cache.md):

* hit rate = hits / queries; false-hit rate = hits whose entry has another intent / hits;
* a hit saves what the reused answer cost when it was generated;
* cost reduction = USD saved / (USD spent + USD saved), i.e. against replaying the same
  traffic without a cache.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.cache._metrics import CacheTelemetry
from labkit.cache._text import normalise
from labkit.cache.semantic import SemanticCache
from labkit.cache.workload import WorkloadItem, load_workload
from labkit.config import Settings, load_settings

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ReplayReport", "Responder", "plot_sweep", "replay", "sweep"]

REPLAY_AGENT = "cache-replay"
MAX_TOKENS = 300
Responder = Callable[[Mapping[str, Any]], tuple[Any, Any]]  # request -> (Message, Cost)


@dataclass
class ReplayReport:
    n_queries: int
    threshold: float
    hits: int
    exact_hits: int
    false_hits: int
    near_miss_rejected: int
    misses: int
    errors: int
    hit_rate: float
    false_hit_rate: float
    tokens_spent: int
    tokens_saved: int
    usd_spent: float
    usd_saved: float
    cost_reduction: float
    latency_p50_ms: float
    latency_p95_ms: float
    embed_ms_per_query: float
    seconds: float
    queries_per_s: float
    price_model: str
    false_hit_examples: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _quiet_telemetry() -> CacheTelemetry:
    from opentelemetry.metrics import NoOpMeterProvider
    from opentelemetry.trace import NoOpTracerProvider

    return CacheTelemetry(meter_provider=NoOpMeterProvider(), tracer_provider=NoOpTracerProvider())


class _TableEmbedder:
    """Vectors embedded in one batch up front; replay's lookups then time the cache, not the model."""

    def __init__(self, texts: Iterable[str]) -> None:
        from labkit.rag.embeddings import embed

        unique = sorted({normalise(t) for t in texts})
        embed(["warm up"])  # loading the model (seconds) is not the per-query cost
        started = time.perf_counter()
        vectors = embed(unique)
        self.seconds = time.perf_counter() - started
        self.table = dict(zip(unique, vectors, strict=True))

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        from labkit.rag.embeddings import embed

        missing = [t for t in texts if t not in self.table]
        if missing:
            self.table.update(zip(missing, embed(missing), strict=True))
        return np.stack([self.table[t] for t in texts])


class ModelResponder:
    """Calls the configured model through TrackedClient; remembers answers so a sweep asks once."""

    def __init__(self, settings: Settings | None = None) -> None:
        from labkit.llm import Budget, TrackedClient, client

        base = settings or load_settings()
        # The replay measures the cache under test; it must not also go through the settings' cache.
        self.settings = base.model_copy(update={"cache_enabled": False})
        self._llm = TrackedClient(
            client(self.settings),  # type: ignore[operator]  # mypy takes labkit.llm.client for the module
            agent=REPLAY_AGENT,
            budget=Budget(None, None),
            settings=self.settings,
        )
        self._memo: dict[str, tuple[Any, Any]] = {}

    @property
    def model(self) -> str:
        from labkit.llm import default_model

        return default_model(self.settings)

    def __call__(self, request: Mapping[str, Any]) -> tuple[Any, Any]:
        import json

        key = json.dumps(request, sort_keys=True)
        if key not in self._memo:
            message = self._llm.messages.create(**dict(request), labkit_cache=False)
            self._memo[key] = (message, self._llm.last.cost)
        return self._memo[key]

    def close(self) -> None:
        self._llm.client.close()


def _request(item: WorkloadItem, model: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "model": item.model or model,
        "max_tokens": MAX_TOKENS,
        "messages": [{"role": "user", "content": item.query}],
    }
    if item.system:
        request["system"] = item.system
    return request


def _usd(cost: Any) -> float:
    value = getattr(cost, "live_equivalent_usd", None)
    if value is None:
        value = getattr(cost, "usd", None)
    return float(value or 0.0)


def _tokens(message: Any) -> int:
    usage = message.usage
    return int(
        usage.input_tokens
        + usage.output_tokens
        + (usage.cache_read_input_tokens or 0)
        + (usage.cache_creation_input_tokens or 0)
    )


def _as_items(workload: Sequence[WorkloadItem] | str | Path) -> list[WorkloadItem]:
    if isinstance(workload, (str, Path)):
        return load_workload(workload)
    items = list(workload)
    if not items:
        raise ValueError("the workload has no queries")
    return items


def replay(
    workload: Sequence[WorkloadItem] | str | Path,
    *,
    threshold: float | None = None,
    cache: SemanticCache | None = None,
    responder: Responder | None = None,
    settings: Settings | None = None,
    batch_embed: bool = True,
    model: str | None = None,
    _embedder: _TableEmbedder | None = None,
) -> ReplayReport:
    """Replay ``workload`` (items or a JSONL path) through ``cache`` (default: a fresh in-memory one).

    ``responder`` answers misses (default: the configured model via TrackedClient).
    ``batch_embed`` embeds every query in one batch first (fast; the reported lookup
    latency then excludes embedding, shown separately as ``embed_ms_per_query``).
    """
    items = _as_items(workload)
    settings = settings or load_settings()
    own_responder = responder is None
    responder = responder or ModelResponder(settings)
    try:
        embedder = _embedder
        if embedder is None and batch_embed and cache is None:
            embedder = _TableEmbedder(i.query for i in items)
        if cache is None:
            cache = SemanticCache(
                threshold=threshold if threshold is not None else settings.cache_threshold,
                ttl_s=settings.cache_ttl_s,
                max_entries=max(settings.cache_max_entries, len(items)),
                embedder=embedder,
                telemetry=_quiet_telemetry(),
            )
        elif threshold is not None:
            cache.threshold = threshold
        model = model or getattr(responder, "model", None) or settings.offline_model
        return _run(items, cache, responder, model, settings, embedder)
    finally:
        if own_responder:
            responder.close()  # type: ignore[attr-defined]


def _run(
    items: list[WorkloadItem],
    cache: SemanticCache,
    responder: Responder,
    model: str,
    settings: Settings,
    embedder: _TableEmbedder | None,
) -> ReplayReport:
    counts = dict.fromkeys(("hit", "miss", "near_miss_rejected", "bypass", "error"), 0)
    exact = false_hits = tokens_spent = tokens_saved = 0
    usd_spent = usd_saved = 0.0
    latencies = []
    examples: list[dict[str, Any]] = []
    started = time.perf_counter()
    for item in items:
        request = _request(item, model)
        t0 = time.perf_counter()
        outcome = cache.lookup(request, agent=REPLAY_AGENT)
        latencies.append(time.perf_counter() - t0)
        counts[outcome.result] += 1
        if outcome.result == "hit" and outcome.entry is not None:
            entry = outcome.entry
            exact += outcome.exact
            tokens_saved += entry.tokens
            usd_saved += entry.equivalent_usd if entry.equivalent_usd is not None else (entry.usd or 0.0)
            if entry.intent != item.intent:
                false_hits += 1
                if len(examples) < 20:
                    examples.append(
                        {
                            "query": item.query,
                            "intent": item.intent,
                            "cached": entry.text,
                            "cached_intent": entry.intent,
                            "similarity": round(outcome.similarity or 0.0, 4),
                        }
                    )
            continue
        message, cost = responder(request)
        tokens_spent += _tokens(message)
        usd_spent += _usd(cost)
        entry = cache.put(request, message, agent=REPLAY_AGENT, cost=cost, intent=item.intent)  # type: ignore[assignment]
    seconds = time.perf_counter() - started
    n = len(items)
    hits = counts["hit"]
    embed_s = embedder.seconds if embedder is not None else 0.0
    total_usd = usd_spent + usd_saved
    ms = np.array(latencies) * 1000.0
    return ReplayReport(
        n_queries=n,
        threshold=cache.threshold,
        hits=hits,
        exact_hits=exact,
        false_hits=false_hits,
        near_miss_rejected=counts["near_miss_rejected"],
        misses=counts["miss"],
        errors=counts["error"],
        hit_rate=hits / n,
        false_hit_rate=false_hits / hits if hits else 0.0,
        tokens_spent=tokens_spent,
        tokens_saved=tokens_saved,
        usd_spent=round(usd_spent, 8),
        usd_saved=round(usd_saved, 8),
        cost_reduction=usd_saved / total_usd if total_usd else 0.0,
        latency_p50_ms=float(np.percentile(ms, 50)),
        latency_p95_ms=float(np.percentile(ms, 95)),
        embed_ms_per_query=1000.0 * embed_s / n,
        seconds=seconds + embed_s,
        queries_per_s=n / (seconds + embed_s) if seconds + embed_s else 0.0,
        price_model=settings.model,
        false_hit_examples=examples,
    )


def sweep(
    workload: Sequence[WorkloadItem] | str | Path,
    thresholds: Iterable[float],
    *,
    responder: Responder | None = None,
    settings: Settings | None = None,
) -> pd.DataFrame:
    """Replay once per threshold (embeddings and model answers computed once, shared)."""
    import pandas as pd

    items = _as_items(workload)
    settings = settings or load_settings()
    own = responder is None
    responder = responder or ModelResponder(settings)
    try:
        embedder = _TableEmbedder(i.query for i in items)
        rows = []
        for threshold in thresholds:
            report = replay(
                items, threshold=float(threshold), responder=responder, settings=settings, _embedder=embedder
            )
            rows.append(
                {
                    "threshold": float(threshold),
                    "hit_rate": report.hit_rate,
                    "false_hit_rate": report.false_hit_rate,
                    "cost_reduction": report.cost_reduction,
                    "near_miss_rejected": report.near_miss_rejected,
                    "false_hits": report.false_hits,
                    "tokens_saved": report.tokens_saved,
                    "usd_saved": report.usd_saved,
                }
            )
        return pd.DataFrame(rows)
    finally:
        if own:
            responder.close()  # type: ignore[attr-defined]


def plot_sweep(frame: pd.DataFrame, *, max_false_hit_rate: float = 0.01, title: str | None = None) -> Any:
    """A matplotlib Figure of a sweep: hit rate, cost reduction and false-hit rate by threshold."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7, 4))
    ax = figure.add_subplot()
    ax.plot(frame.threshold, frame.hit_rate, marker="o", label="hit rate")
    ax.plot(frame.threshold, frame.cost_reduction, marker="s", label="cost reduction")
    ax.set_xlabel("similarity threshold")
    ax.set_ylabel("fraction of queries / of cost")
    ax.set_ylim(0, 1)
    false_ax = ax.twinx()
    false_ax.plot(frame.threshold, frame.false_hit_rate, color="tab:red", marker="x", label="false-hit rate")
    false_ax.axhline(max_false_hit_rate, color="tab:red", linestyle=":", linewidth=1)
    false_ax.set_ylabel("false-hit rate (of hits)", color="tab:red")
    lines = ax.get_legend_handles_labels()
    more = false_ax.get_legend_handles_labels()
    ax.legend(lines[0] + more[0], lines[1] + more[1], loc="lower left")
    ax.set_title(title or "threshold sweep")
    figure.tight_layout()
    return figure
