"""The shipped solution paths: the queries an engineer runs, as data, and the reasoning on
their answers. Nothing here reads the injected truth; the answer comes from Mimir, Tempo
and Loki alone (CI runs these against replays of several seeds).

Every query is a template over ``{run}`` (the run's ``service.instance.id``) and, after the
first step, ``{node}``/``{agent}``. PromQL and LogQL metric queries are instant queries at
the end of the incident window (``incident``) and 5 minutes earlier (``baseline``); TraceQL
searches run over each window.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

__all__ = ["COSTS_QUERIES", "SLOW_QUERIES", "Solution", "Step", "solve_costs", "solve_slow"]


@dataclass(frozen=True)
class Step:
    language: str  # promql | traceql | logql
    query: str
    why: str


COSTS_QUERIES: dict[str, Step] = {
    "cost_by_agent": Step(
        "promql",
        'sum by (agent) (increase(labkit_llm_cost_usd_total{{instance="{run}"}}[5m]))',
        "which agent's spend rose between the two windows",
    ),
    "cost_by_model": Step(
        "promql",
        'sum by (model) (increase(labkit_llm_cost_usd_total{{instance="{run}", agent="{agent}"}}[5m]))',
        "a model the agent did not use before means it switched model",
    ),
    "rate_limited_logs": Step(
        "logql",
        'sum(count_over_time({{service_instance_id="{run}", service_name="{agent}"}}'
        ' |= "rate limited (429)" [5m]))',
        "429 warnings mean its runs are retried",
    ),
    "rate_limited_spans": Step(
        "traceql",
        '{{ resource.service.instance.id = "{run}" && resource.service.name = "{agent}" '
        '&& span.error.type = "rate_limit_error" }}',
        "the rate-limited chat spans themselves",
    ),
    "tokens_by_type": Step(
        "promql",
        'sum by (token_type) (increase(labkit_llm_tokens_total{{instance="{run}", agent="{agent}"}}[5m]))',
        "cache_read gone means the cache is off; more fresh input alone means a bigger prompt",
    ),
}
SLOW_QUERIES: dict[str, Step] = {
    "node_spans": Step(
        "traceql",
        '{{ resource.service.instance.id = "{run}" && kind = internal && span.labkit.agent.node != nil }}',
        "the duration of every node span, averaged per node in each window",
    ),
    "chat_spans": Step(
        "traceql",
        '{{ resource.service.instance.id = "{run}" && span.labkit.agent.node = "{node}" && kind = client }}',
        "the slow node's LLM calls",
    ),
    "tool_spans": Step(
        "traceql",
        '{{ resource.service.instance.id = "{run}" && span.labkit.agent.node = "{node}" }} '
        '> {{ span.gen_ai.operation.name = "execute_tool" }}',
        "the tools the slow node runs (children of its span)",
    ),
    "model_latency": Step(
        "promql",
        "sum by (gen_ai_request_model) "
        '(increase(gen_ai_client_operation_duration_seconds_sum{{instance="{run}"}}[5m]))'
        " / sum by (gen_ai_request_model) "
        '(increase(gen_ai_client_operation_duration_seconds_count{{instance="{run}"}}[5m]))',
        "mean latency per model: a slow model shows here for every caller",
    ),
    "lock_waits": Step(
        "logql",
        '{{service_instance_id="{run}"}} |= "slow lock acquire" | logfmt | node = "{node}"',
        "time spent waiting on a shared lock",
    ),
}


@dataclass(repr=False)
class Solution:
    """What the solution path concluded, and the evidence it looked at."""

    drill: str
    answer: dict[str, str]
    evidence: dict[str, pd.DataFrame] = field(default_factory=dict)
    queries: list[tuple[str, str, str]] = field(default_factory=list)  # (step, language, query)
    matches_truth: bool | None = None

    def __repr__(self) -> str:
        return (
            f"Solution(drill={self.drill!r}, answer={self.answer!r}, matches_truth={self.matches_truth!r}, "
            f"{len(self.queries)} queries, evidence: {', '.join(self.evidence)})"
        )

    def _repr_markdown_(self) -> str:
        rows = "\n".join(f"| {s} | {lang} | `{q}` |" for s, lang, q in self.queries)
        found = ", ".join(f"{k} = **{v}**" for k, v in self.answer.items())
        return (
            f"Solution path of `{self.drill}`: {found}\n\n| step | language | query |\n|---|---|---|\n{rows}"
        )


class _Backends:
    def __init__(
        self, settings: Any, window: Mapping[str, int], fmt: dict[str, str], solution: Solution
    ) -> None:
        from labkit.observe import Loki, Mimir, Tempo

        self.mimir, self.tempo, self.loki = (
            Mimir(settings=settings),
            Tempo(settings=settings),
            Loki(settings=settings),
        )
        self.window = window
        self.fmt = fmt
        self.solution = solution

    def text(self, name: str, steps: Mapping[str, Step]) -> str:
        step = steps[name]
        query = step.query.format(**self.fmt)
        self.solution.queries.append((name, step.language, query))
        return query

    def instant(self, name: str, steps: Mapping[str, Step], by: str | None) -> pd.DataFrame:
        """The query at the end of the incident and at the end of the baseline, side by side."""
        query = self.text(name, steps)
        client = self.mimir if steps[name].language == "promql" else self.loki
        columns = {}
        for window, at in (("baseline", self.window["incident_ns"]), ("incident", self.window["end_ns"])):
            frame = client.query(query, pd.Timestamp(at, unit="ns", tz="UTC"))
            if frame.empty:
                columns[window] = pd.Series(dtype="float64")
            elif by is None:
                columns[window] = pd.Series({"all": float(frame["value"].sum())})
            else:
                columns[window] = frame.set_index(by)["value"].astype("float64")
        table = pd.DataFrame(columns).fillna(0.0)
        self.solution.evidence[name] = table
        return table

    def spans(self, name: str, steps: Mapping[str, Step]) -> pd.DataFrame:
        query = self.text(name, steps)
        frames = []
        for window, start, end in (
            ("baseline", self.window["start_ns"], self.window["incident_ns"]),
            ("incident", self.window["incident_ns"], self.window["end_ns"] + 1),
        ):
            frame = self.tempo.search_spans(
                query,
                pd.Timestamp(start, unit="ns", tz="UTC"),
                pd.Timestamp(end, unit="ns", tz="UTC") + pd.Timedelta(seconds=1),
                limit=2000,
                spss=50,
            )
            # A search window is whole seconds wide; keep the spans that started in this window.
            starts = frame["start"].astype("int64") if not frame.empty else pd.Series(dtype="int64")
            frame = frame[(starts >= start) & (starts < end)] if not frame.empty else frame
            frames.append(frame.assign(window=window))
        out = pd.concat(frames, ignore_index=True)
        self.solution.evidence[name] = out
        return out


def _mean_by(frame: pd.DataFrame, column: str | None = None) -> pd.DataFrame:
    if frame.empty:
        return pd.DataFrame(columns=["baseline", "incident"], dtype="float64")
    if column is None:
        table = frame.groupby("window")["duration_ms"].mean().to_frame("all").T
    else:
        table = frame.groupby([column, "window"])["duration_ms"].mean().unstack("window")
    return table.reindex(columns=["baseline", "incident"]).fillna(0.0)


def solve_costs(settings: Any, run: Mapping[str, Any]) -> Solution:
    solution = Solution("costs-doubled", {})
    b = _Backends(settings, run, {"run": run["run_id"]}, solution)
    by_agent = b.instant("cost_by_agent", COSTS_QUERIES, "agent")
    if by_agent.empty:
        raise LookupError(f"no cost series for run {run['run_id']} in Mimir; replay the drill first")
    agent = str((by_agent["incident"] - by_agent["baseline"]).idxmax())
    b.fmt["agent"] = agent
    models = b.instant("cost_by_model", COSTS_QUERIES, "model")
    limited = b.instant("rate_limited_logs", COSTS_QUERIES, None)
    spans = b.spans("rate_limited_spans", COSTS_QUERIES)
    tokens = b.instant("tokens_by_type", COSTS_QUERIES, "token_type")
    new_models = models.index[(models["incident"] > 0) & (models["baseline"] == 0)]
    cache_read = tokens["incident"].get("cache_read", 0.0), tokens["baseline"].get("cache_read", 0.0)
    if len(new_models):
        cause = "pricier_model"
    elif limited["incident"].sum() > 0 or (spans["window"] == "incident").any():
        cause = "retry_storm"
    elif cache_read[1] > 0 and cache_read[0] < 0.5 * cache_read[1]:
        cause = "cache_disabled"
    else:
        cause = "prompt_regression"
    solution.answer = {"agent": agent, "cause": cause}
    return solution


def solve_slow(settings: Any, run: Mapping[str, Any]) -> Solution:
    solution = Solution("responses-slow", {})
    b = _Backends(settings, run, {"run": run["run_id"]}, solution)
    nodes = _mean_by(b.spans("node_spans", SLOW_QUERIES), "labkit.agent.node")
    if nodes.empty:
        raise LookupError(f"no node spans for run {run['run_id']} in Tempo; replay the drill first")
    growth = nodes["incident"] - nodes["baseline"]
    node = str(growth.idxmax())
    b.fmt["node"] = node
    chat = _mean_by(b.spans("chat_spans", SLOW_QUERIES))
    tool = _mean_by(b.spans("tool_spans", SLOW_QUERIES))
    b.instant("model_latency", SLOW_QUERIES, "gen_ai_request_model")
    lines = b.loki.query_range(
        b.text("lock_waits", SLOW_QUERIES),
        pd.Timestamp(run["start_ns"], unit="ns", tz="UTC"),
        pd.Timestamp(run["end_ns"], unit="ns", tz="UTC") + pd.Timedelta(seconds=1),
        limit=5000,
    )
    solution.evidence["lock_waits"] = lines

    def delta(table: pd.DataFrame) -> float:
        return float(table["incident"].sum() - table["baseline"].sum()) if not table.empty else 0.0

    d_chat, d_tool = delta(chat), delta(tool)
    d_self = float(growth[node]) - d_chat - d_tool  # time in the node that is in neither child
    parts = {"slow_model": d_chat, "slow_tool": d_tool, "contention": d_self}
    solution.evidence["where_the_time_went"] = pd.DataFrame(
        {"added_ms": parts, "lock_warnings": {"slow_model": 0, "slow_tool": 0, "contention": len(lines)}}
    )
    solution.answer = {"node": node, "cause": max(parts, key=lambda k: parts[k])}
    return solution


def _window_of(run: Any) -> dict[str, int]:
    if isinstance(run, Mapping):
        return {k: int(run[k]) for k in ("start_ns", "incident_ns", "end_ns")}
    return {"start_ns": run.start.value, "incident_ns": run.incident_start.value, "end_ns": run.end.value}


def compare(
    query: str, run: Any, *, language: str = "promql", by: str | None = None, settings: Any = None
) -> pd.DataFrame:
    """A PromQL (or LogQL metric) query at the end of the baseline and at the end of the incident,
    side by side: one row per value of the label ``by`` (default: the query's only label)."""
    from labkit.config import load_settings

    if language not in ("promql", "logql"):
        raise ValueError(f"language must be 'promql' or 'logql', got {language!r}")
    b = _Backends(settings or load_settings(), _window_of(run), {}, Solution("compare", {}))
    steps = {"q": Step(language, query.replace("{", "{{").replace("}", "}}"), "")}
    if by is None:
        probe = (b.mimir if language == "promql" else b.loki).query(
            query, pd.Timestamp(b.window["end_ns"], unit="ns")
        )
        labels = [c for c in probe.columns if c not in ("timestamp", "value", "series")]
        by = labels[0] if len(labels) == 1 else None
    return b.instant("q", steps, by)


def span_durations(traceql: str, run: Any, *, by: str | None = None, settings: Any = None) -> pd.DataFrame:
    """Mean duration (ms) of the spans a TraceQL search matches in the baseline and in the
    incident window, per value of the span attribute ``by`` (or overall)."""
    from labkit.config import load_settings

    b = _Backends(settings or load_settings(), _window_of(run), {}, Solution("spans", {}))
    steps = {"q": Step("traceql", traceql.replace("{", "{{").replace("}", "}}"), "")}
    return _mean_by(b.spans("q", steps), by)
