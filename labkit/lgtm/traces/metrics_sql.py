"""TraceQL metrics computed inside DuckDB when the query allows it.

``{ filter } | rate() by (resource.service.name)`` is the shape dashboards use. When the
filter translates to SQL *exactly* (span name, status, kind, duration, service name,
combined with ``&&``/``||``) and the ``by`` fields are columns, the buckets are counted
by DuckDB instead of evaluating every span in Python; the answer is the same as
:func:`labkit.lgtm.traces.traceql.metrics.query_range` gives (a test compares both).
Anything else returns None and the caller takes the general path.
"""

from __future__ import annotations

from typing import Any

from labkit.lgtm.db import Database
from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.metrics import MAX_EXEMPLARS, align_range, value_json
from labkit.lgtm.traces.traceql.printer import format_field

__all__ = ["fast_query_range"]

_KIND = {k: i for i, k in enumerate(ast.KINDS)}
_STATUS = {"unset": 0, "ok": 1, "error": 2}
_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_STATUS_SQL = "CASE status_code WHEN 2 THEN 'error' WHEN 1 THEN 'ok' ELSE 'unset' END"
_KIND_SQL = (
    "CASE kind WHEN 1 THEN 'internal' WHEN 2 THEN 'server' WHEN 3 THEN 'client' WHEN 4 THEN 'producer' "
    "WHEN 5 THEN 'consumer' ELSE 'unspecified' END"
)
# by() fields that are columns: (SQL, value type for the label).
_BY_SQL: dict[ast.Field, tuple[str, str]] = {
    ast.Intrinsic("name"): ("name", "string"),
    ast.Intrinsic("status"): (_STATUS_SQL, "status"),
    ast.Intrinsic("kind"): (_KIND_SQL, "kind"),
    ast.Attribute("resource", "service.name"): ("service_name", "string"),
}


def _exact(expr: ast.FieldExpr | None) -> tuple[str, list[Any]] | None:
    """SQL equal to the filter on every span, or None when it cannot be said exactly."""
    if expr is None:
        return "TRUE", []
    if not isinstance(expr, ast.BinaryOp):
        return None
    if expr.op in ("&&", "||"):
        lhs, rhs = _exact(expr.lhs), _exact(expr.rhs)
        if lhs is None or rhs is None:
            return None
        joiner = " AND " if expr.op == "&&" else " OR "
        return f"({lhs[0]}{joiner}{rhs[0]})", lhs[1] + rhs[1]
    f, v, op = expr.lhs, expr.rhs, _OPS.get(expr.op)
    if op is None or not isinstance(v, ast.Static):
        return None
    if isinstance(f, ast.Intrinsic):
        if f.name == "name" and v.type == "string":
            return f"name {op} ?", [v.value]
        if f.name == "statusMessage" and v.type == "string":
            return f"status_message {op} ?", [v.value]
        if f.name == "status" and v.type == "status" and expr.op in ("=", "!="):
            return f"status_code {op} ?", [_STATUS[str(v.value)]]
        if f.name == "kind" and v.type == "kind" and expr.op in ("=", "!="):
            return f"kind {op} ?", [_KIND[str(v.value)]]
        if f.name == "duration" and v.type in ("int", "float", "duration"):
            return f"(end_ns - start_ns) {op} ?", [v.value]
        return None
    if f == ast.Attribute("resource", "service.name") and v.type == "string" and expr.op in ("=", "!="):
        # an absent service.name is stored as '' but compares false in TraceQL
        return f"(service_name <> '' AND service_name {op} ?)", [v.value]
    return None


def fast_query_range(
    db: Database, query: ast.Query, start_ns: int, end_ns: int, step_ns: int
) -> dict[str, Any] | None:
    """The ``{"series": [...]}`` body, or None when the query needs the general evaluator."""
    m = query.metrics
    stages = query.pipeline.stages
    if m is None or len(stages) != 1 or not isinstance(stages[0], ast.SpansetFilter):
        return None
    if m.fn not in ("rate", "count_over_time") or any(f not in _BY_SQL for f in m.by):
        return None
    cond = _exact(stages[0].expr)
    if cond is None:
        return None
    start, end = align_range(start_ns, end_ns, step_ns)
    by_cols = [_BY_SQL[f][0] for f in m.by]
    by_sel = "".join(f"{c} AS by{i}, " for i, c in enumerate(by_cols))
    by_names = "".join(f"by{i}, " for i in range(len(by_cols)))
    # bucket: the first step boundary at or after the span start, i.e. start in (T - step, T]
    sql = (
        f"SELECT {by_names}bucket, count(*), min(trace_id) FROM ("
        f"SELECT {by_sel}trace_id, ? + ((start_ns - ? + ? - 1) // ?) * ? AS bucket "
        f"FROM spans WHERE {cond[0]} AND start_ns > ? AND start_ns <= ?) "
        f"GROUP BY {by_names}bucket ORDER BY {by_names}bucket"
    )
    params = [start, start, step_ns, step_ns, step_ns, *cond[1], start - step_ns, end]
    rows = db.query(sql, params)
    series: dict[tuple[Any, ...], dict[str, Any]] = {}
    scale = 1 / (step_ns / 1e9)
    for row in rows:
        key, bucket, count, trace_id = row[: len(by_cols)], int(row[-3]), int(row[-2]), row[-1]
        entry = series.get(key)
        if entry is None:
            if m.by:
                labels = [
                    {"key": format_field(f), "value": value_json((_BY_SQL[f][1], v))}
                    for f, v in zip(m.by, key, strict=True)
                ]
            else:
                labels = [{"key": "__name__", "value": {"stringValue": m.fn}}]
            entry = series[key] = {"labels": labels, "values": {}, "exemplars": []}
        value = count * scale if m.fn == "rate" else float(count)
        entry["values"][bucket] = value
        if len(entry["exemplars"]) < MAX_EXEMPLARS:
            entry["exemplars"].append((trace_id.lstrip("0") or "0", bucket, value))
    out = []
    for entry in series.values():
        samples = []
        for ts in range(start, end + 1, step_ns):
            point: dict[str, Any] = {"timestampMs": str(ts // 1_000_000)}
            if entry["values"].get(ts):
                point["value"] = entry["values"][ts]
            samples.append(point)
        exemplars = [
            {
                "labels": [{"key": "trace:id", "value": {"stringValue": tid}}, *entry["labels"]],
                "value": value,
                "timestampMs": str(ts // 1_000_000),
            }
            for tid, ts, value in entry["exemplars"]
        ]
        item: dict[str, Any] = {"labels": entry["labels"], "samples": samples}
        if exemplars:
            item["exemplars"] = exemplars
        out.append(item)
    return {"series": out}
