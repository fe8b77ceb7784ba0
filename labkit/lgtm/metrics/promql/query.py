"""Instant and range queries: evaluate, then shape the result as the Prometheus API does."""

from __future__ import annotations

from typing import Any

import numpy as np

from labkit.lgtm.metrics.index import MetricIndex
from labkit.lgtm.metrics.promql.evaluate import EvalContext, check_unique, evaluate, parse
from labkit.lgtm.metrics.promql.values import Matrix, PromQLError, Scalar, StringValue, labels_sig
from labkit.lgtm.metrics.translate import format_bound

__all__ = ["MAX_POINTS", "format_ts", "instant_query", "range_query"]

MAX_POINTS = 11_000


def format_ts(ms: int) -> float | int:
    """Float seconds as Prometheus prints them: ``1700000000`` or ``1700000000.5``."""
    return ms // 1000 if ms % 1000 == 0 else ms / 1000.0


def _outer_call(node: Any) -> str | None:
    import promql_parser as pp

    while isinstance(node, pp.ParenExpr):
        node = node.expr
    return node.func.name if isinstance(node, pp.Call) else None


def instant_query(index: MetricIndex, query: str, time_ms: int) -> dict[str, Any]:
    node = parse(query)
    ctx = EvalContext(index, np.array([time_ms], dtype=np.int64), time_ms, time_ms)
    value = evaluate(ctx, node)
    ts = format_ts(time_ms)
    if isinstance(value, Scalar):
        return {"resultType": "scalar", "result": [ts, format_bound(float(value.vals[0]))]}
    if isinstance(value, StringValue):
        return {"resultType": "string", "result": [ts, value.val]}
    if isinstance(value, Matrix):
        result: list[dict[str, Any]] = []
        for rs in value.series:
            keep = (rs.ts >= value.lo[0]) & (rs.ts <= value.hi[0])
            if keep.any():
                points = [
                    [format_ts(int(t)), format_bound(float(v))]
                    for t, v in zip(rs.ts[keep], rs.vals[keep], strict=True)
                ]
                result.append({"metric": rs.labels, "values": points})
        result.sort(key=lambda r: labels_sig(r["metric"]))
        return {"resultType": "matrix", "result": result}
    check_unique(value)
    rows = [(s.labels, float(s.vals[0])) for s in value.series if s.present[0]]
    outer = _outer_call(node)
    if outer == "sort":
        rows.sort(key=lambda r: (np.isnan(r[1]), r[1]))
    elif outer == "sort_desc":
        rows.sort(key=lambda r: (np.isnan(r[1]), -r[1]))
    elif outer is None and _is_topk(node):
        rows.sort(key=lambda r: -r[1] if not np.isnan(r[1]) else np.inf)
    else:
        rows.sort(key=lambda r: labels_sig(r[0]))
    return {
        "resultType": "vector",
        "result": [{"metric": labels, "value": [ts, format_bound(v)]} for labels, v in rows],
    }


def _is_topk(node: Any) -> bool:
    import promql_parser as pp

    return isinstance(node, pp.AggregateExpr) and str(node.op).strip() in ("topk",)


def range_query(index: MetricIndex, query: str, start_ms: int, end_ms: int, step_ms: int) -> dict[str, Any]:
    if step_ms <= 0:
        raise PromQLError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    if end_ms < start_ms:
        raise PromQLError("end timestamp must not be before start time")
    if (end_ms - start_ms) // step_ms + 1 > MAX_POINTS:
        raise PromQLError(
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    node = parse(query)
    steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
    ctx = EvalContext(index, steps, start_ms, end_ms)
    value = evaluate(ctx, node)
    if isinstance(value, (Matrix, StringValue)):
        kind = "range vector" if isinstance(value, Matrix) else "string"
        raise PromQLError(
            f'invalid expression type "{kind}" for range query, must be Scalar or instant Vector'
        )
    stamps = [format_ts(int(t)) for t in steps]
    if isinstance(value, Scalar):
        points = [[stamps[i], format_bound(float(v))] for i, v in enumerate(value.vals)]
        return {"resultType": "matrix", "result": [{"metric": {}, "values": points}]}
    check_unique(value)
    merged: dict[Any, tuple[dict[str, str], np.ndarray, np.ndarray]] = {}
    for s in value.series:
        sig = labels_sig(s.labels)
        if sig in merged:
            labels, vals, present = merged[sig]
            merged[sig] = (labels, np.where(s.present, s.vals, vals), present | s.present)
        else:
            merged[sig] = (s.labels, s.vals, s.present)
    result = []
    for sig in sorted(merged):
        labels, vals, present = merged[sig]
        idx = np.flatnonzero(present)
        if len(idx):
            result.append(
                {
                    "metric": labels,
                    "values": [[stamps[i], format_bound(float(vals[i]))] for i in idx.tolist()],
                }
            )
    return {"resultType": "matrix", "result": result}
