"""Verifier of notebook 10's exercise: a TraceQL query that finds the workflow's slowest node.

The truth is computed from the stored traces, not from a reference query: every
``invoke_workflow learning_cycle`` trace in the window is opened and the mean duration
of each node's ``invoke_agent <node>`` span is taken. The learner's query passes when
the spans it matches are all ``invoke_agent <slowest node>`` spans (at least one), so a
threshold that happens to fit, a structural query and an aggregate all count, while a
query that also returns another node, or any other span, does not.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from labkit.agents.learning_cycle.graph import NODES, WORKFLOW

__all__ = ["node_durations", "p95_by_server", "slowest_node_query"]

WORKFLOW_TRACES = f'{{ name = "invoke_workflow {WORKFLOW}" }}'
# Kept here, not in the notebook, so that the learner edition does not give the answer away.
_P95_BY_SERVER = (
    "histogram_quantile(0.95, sum by (server, le) "
    "(rate(traces_service_graph_request_server_seconds_bucket[5m])))"
)


def p95_by_server(settings: Any = None) -> Any:
    """verify(promql): one series per called service, its p95 server latency over 5 minutes."""
    from labkit.exercises.verify_queries import promql_same_series

    return promql_same_series(_P95_BY_SERVER, settings=settings)


def node_durations(tempo: Any, since: Any, until: Any = "now", *, limit: int = 200) -> dict[str, float]:
    """Mean duration (ms) of each node's ``invoke_agent`` span over the workflow traces in the window."""
    traces = tempo.search(WORKFLOW_TRACES, since, until, limit=limit)
    totals: dict[str, list[float]] = defaultdict(list)
    for trace_id in traces["trace_id"]:
        spans = tempo.trace(trace_id)
        for name, duration in zip(spans["name"], spans["duration_ms"], strict=True):
            node = str(name).removeprefix("invoke_agent ")
            if node in NODES and str(name).startswith("invoke_agent "):
                totals[node].append(float(duration))
    return {node: sum(v) / len(v) for node, v in totals.items()}


def slowest_node_query(*, since: Any, until: Any = "now", settings: Any = None) -> Any:
    """verify(traceql): the query's matched spans are exactly the slowest node's agent spans."""

    def verify(answer: Any) -> tuple[bool, str]:
        import pandas as pd

        from labkit.observe import QueryError, Tempo
        from labkit.observe._time import to_timestamp

        if not isinstance(answer, str) or not answer.strip():
            return False, "the answer must be a TraceQL query, as a string"
        tempo = Tempo(settings=settings)
        end = to_timestamp(until, pd.Timestamp.now(tz="UTC"))
        means = node_durations(tempo, since, end)
        if not means:
            return False, "no learning_cycle trace in the window yet: run the workflow first"
        slowest = max(means, key=lambda n: means[n])
        try:
            found = tempo.search(answer, since, end, limit=200, spss=100)
        except QueryError as exc:
            return False, f"Tempo rejected the query: {exc}"
        names: dict[str, str] = {}
        matched: list[str] = []
        for row in found.itertuples():
            if any(s["span_id"] not in names for s in row.spans):
                spans = tempo.trace(row.trace_id)
                names.update(zip(spans["span_id"], spans["name"], strict=True))
            matched += [str(names.get(s["span_id"], "?")) for s in row.spans]
        if not matched:
            return False, "your query matches no span; the slowest node's spans should be its result"
        wrong = sorted(set(matched) - {f"invoke_agent {slowest}"})
        timing = ", ".join(f"{n} {means[n]:.0f} ms" for n in sorted(means, key=lambda n: -means[n]))
        if wrong:
            return (
                False,
                f"your query also matches {wrong[:5]}; only the slowest node's agent spans should be left",
            )
        return True, f"finds the {len(matched)} {slowest} span(s): mean {timing}"

    return verify
