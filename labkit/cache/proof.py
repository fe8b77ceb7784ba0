"""The before/after proof of a cache's saving, computed from Mimir rather than from Python counters.

The same traffic runs twice through :class:`labkit.llm.TrackedClient`: phase ``no cache``
(``cache_enabled=False``), then phase ``cache`` (``cache_enabled=True``). Each phase
exports its telemetry as its own OTLP service instance (``service.instance.id =
<run>/<phase>``, so the Prometheus label ``instance`` marks the phase; the resource
attribute ``labkit.phase`` also goes on ``target_info``), in its own time window. The cost
of a phase is then a PromQL query on the configured Prometheus API, e.g.::

    sum(max_over_time(labkit_llm_cost_live_equivalent_usd_total{job="labkit/cost-proof",
                                                                instance="r1/cache"}[5m]))

Each phase's counters start at zero (a fresh meter provider), so the highest value in the
window is the phase's total; ``increase()`` would lose the first export's worth, since
Prometheus sees no sample before it.

The live-equivalent cost is the default: the offline model costs 0 USD, and the
live-equivalent prices the same tokens at the configured Claude model (on the live
backend the two are equal). ``metric="llm_cost_dollars"`` proves actual spend instead.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labkit.config import Settings, load_settings

__all__ = [
    "COST_METRIC",
    "PHASES",
    "PhaseRun",
    "Proof",
    "phase_cost",
    "phase_query",
    "phase_settings",
    "prove",
    "run_phase",
    "sample_queries",
    "workload_items",
]

COST_METRIC = "labkit_llm_cost_live_equivalent_usd_total"
PHASES = ("no cache", "cache")
SERVICE = "cost-proof"
NAMESPACE = "labkit"
AGENT = "cost_proof"

# (settings, llm telemetry, agent) -> a TrackedClient-like object with .call(...) and .records.
ClientFactory = Callable[[Settings, Any, str], Any]


def workload_items(workload: Any) -> list[tuple[str, str]]:
    """(query, intent) pairs of a workload: a list of mappings or of objects with ``.query`` and
    ``.intent``, a DataFrame with those columns, or an object holding such a list as ``.items``."""
    if hasattr(workload, "to_dict") and hasattr(workload, "columns"):
        workload = workload.to_dict("records")
    elif not isinstance(workload, Iterable) and hasattr(workload, "items"):
        workload = workload.items
    out = []
    for item in workload:
        get = item.get if isinstance(item, Mapping) else lambda k, item=item: getattr(item, k, None)
        query, intent = get("query"), get("intent")
        if isinstance(query, str) and intent is not None:
            out.append((query, str(intent)))
    return out


def sample_queries(workload: Any, intents: int, *, seed: int = 0) -> list[str]:
    """Every query of ``intents`` intent groups drawn at random (``seed``), shuffled.

    Whole groups, so the sample keeps the workload's repeats-per-intent and so its hit rate.
    """
    import random

    groups: dict[str, list[str]] = {}
    for query, intent in workload_items(workload):
        groups.setdefault(intent, []).append(query)
    rng = random.Random(seed)
    chosen = rng.sample(sorted(groups), min(intents, len(groups)))
    queries = [q for g in chosen for q in groups[g]]
    rng.shuffle(queries)
    return queries


def phase_settings(settings: Settings, *, cache: bool, threshold: float | None = None) -> Settings:
    """``settings`` with the cache switched on or off.

    ``model_copy(update=...)`` sets the fields whether or not this Settings declares them
    yet, so the proof runs against any version of the config.
    """
    update: dict[str, Any] = {"cache_enabled": cache}
    if threshold is not None:
        update["cache_threshold"] = float(threshold)
    return settings.model_copy(update=update)


def _instance(run_id: str, phase: str) -> str:
    return f"{run_id}/{phase.replace(' ', '-')}"


def phase_query(run_id: str, phase: str, *, metric: str = COST_METRIC, window_s: int = 300) -> str:
    """The PromQL total of ``metric`` over one phase (see the module doc for why max_over_time)."""
    selector = f'{{job="{NAMESPACE}/{SERVICE}", instance="{_instance(run_id, phase)}"}}'
    return f"sum(max_over_time({metric}{selector}[{int(window_s)}s]))"


@dataclass
class PhaseRun:
    """One phase of traffic as it ran (Python's view; the proof itself reads Mimir)."""

    phase: str
    run_id: str
    start: float
    end: float
    calls: int
    errors: int = 0

    @property
    def instance(self) -> str:
        return _instance(self.run_id, self.phase)


def _default_client(settings: Settings, telemetry: Any, agent: str) -> Any:
    from labkit.llm import TrackedClient

    return TrackedClient(agent=agent, telemetry=telemetry, settings=settings)


def run_phase(
    queries: Iterable[str],
    phase: str,
    *,
    run_id: str,
    settings: Settings,
    client_factory: ClientFactory | None = None,
    model: str | None = None,
    max_tokens: int = 200,
    system: str | None = None,
    agent: str = AGENT,
    metric_interval_s: float = 1.0,
) -> PhaseRun:
    """Send every query once through a TrackedClient whose telemetry is this phase's service instance."""
    from labkit.llm.telemetry import LLMTelemetry
    from labkit.telemetry import setup

    tel = setup(
        SERVICE,
        "http",
        settings=settings,
        service_namespace=NAMESPACE,
        resource_attributes={
            "service.instance.id": _instance(run_id, phase),
            "labkit.phase": phase,
            "labkit.proof.run": run_id,
        },
        metric_interval_s=metric_interval_s,
        capture_logging=False,
        set_global=False,
    )
    telemetry = LLMTelemetry(tel.tracer_provider, tel.meter_provider, capture_content=False)
    client = (client_factory or _default_client)(settings, telemetry, agent)
    start = time.time()
    calls = errors = 0
    extra = {"system": system} if system else {}
    try:
        for query in queries:
            calls += 1
            try:
                client.call(query, model=model, max_tokens=max_tokens, **extra)
            except Exception as exc:  # a failed call is still traffic; the budget stop is not
                if type(exc).__name__ == "BudgetExceeded":
                    raise
                errors += 1
            if calls == 1:
                # Export at once: rate() counts increases *between* samples, so a phase shorter
                # than the export interval would first be seen at its final value and show a
                # rate of 0 on the dashboard. Now only the first call is before the first sample.
                tel.meter_provider.force_flush()
    finally:
        sdk = getattr(client, "client", None)
        if sdk is not None and client_factory is None:
            sdk.close()
        # shutdown() flushes: the phase's last counter values are in Mimir when this returns.
        tel.shutdown()
    return PhaseRun(phase, run_id, start, time.time(), calls, errors)


def phase_cost(
    run: PhaseRun, *, settings: Settings | None = None, metric: str = COST_METRIC, mimir: Any = None
) -> float:
    """The phase's cost (``metric`` total) from PromQL, evaluated at the phase's end."""
    from labkit.observe import Mimir

    mimir = mimir or Mimir(settings=settings or load_settings())
    # The window reaches back over the whole phase, plus the lookback of the first export.
    window = max(60, math.ceil(time.time() - run.start) + 60)
    frame = mimir.query(phase_query(run.run_id, run.phase, metric=metric, window_s=window))
    return float(frame["value"].sum()) if not frame.empty else 0.0


@dataclass
class Proof:
    """Cost per phase from PromQL, and the reduction the cache brought."""

    run_id: str
    table: pd.DataFrame
    queries: dict[str, str] = field(default_factory=dict)
    metric: str = COST_METRIC

    @property
    def reduction(self) -> float:
        """1 - cost(cache) / cost(no cache); NaN when the uncached phase cost nothing."""
        costs = dict(zip(self.table["phase"], self.table["cost_usd"], strict=True))
        before, after = costs.get(PHASES[0], 0.0), costs.get(PHASES[1], 0.0)
        return float("nan") if before <= 0 else 1.0 - after / before

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "metric": self.metric,
            "reduction": self.reduction,
            "phases": self.table.to_dict(orient="records"),
            "queries": dict(self.queries),
        }

    def _repr_html_(self) -> str:
        return (
            self.table.to_html(index=False)
            + f"<p>cost reduction from PromQL: <b>{self.reduction:.1%}</b> ({self.metric})</p>"
        )


def prove(
    queries: Sequence[str],
    *,
    settings: Settings | None = None,
    threshold: float | None = None,
    metric: str = COST_METRIC,
    client_factory: ClientFactory | None = None,
    run_id: str | None = None,
    model: str | None = None,
    max_tokens: int = 200,
    system: str | None = None,
    pause_s: float = 1.0,
) -> Proof:
    """Run ``queries`` without, then with, the cache, and compute each phase's cost from Mimir.

    ``pause_s`` separates the two phases' time windows, so a dashboard shows the drop.
    Returns a :class:`Proof` (``.table``: phase, calls, errors, cost_usd, tokens, start, end;
    ``.reduction``).
    """
    from labkit.observe import Mimir

    if not queries:
        raise ValueError("the proof needs at least one query")
    settings = settings or load_settings()
    run_id = run_id or uuid.uuid4().hex[:8]
    # The system prompt is part of every cache scope: one per run, so the cache phase starts
    # cold even when an earlier run left entries in the store.
    system = system or f"Answer the customer briefly. (proof run {run_id})"
    mimir = Mimir(settings=settings)
    rows, used = [], {}
    for i, phase in enumerate(PHASES):
        if i:
            time.sleep(pause_s)
        run = run_phase(
            queries,
            phase,
            run_id=run_id,
            settings=phase_settings(settings, cache=phase == "cache", threshold=threshold),
            client_factory=client_factory,
            model=model,
            max_tokens=max_tokens,
            system=system,
        )
        cost = phase_cost(run, metric=metric, mimir=mimir)
        tokens = phase_cost(run, metric="llm_tokens_total", mimir=mimir)
        used[phase] = phase_query(run_id, phase, metric=metric)
        rows.append(
            {
                "phase": phase,
                "calls": run.calls,
                "errors": run.errors,
                "cost_usd": cost,
                "tokens": int(tokens),
                "start": pd.Timestamp(run.start, unit="s", tz="UTC"),
                "end": pd.Timestamp(run.end, unit="s", tz="UTC"),
            }
        )
    return Proof(run_id, pd.DataFrame(rows), used, metric)
