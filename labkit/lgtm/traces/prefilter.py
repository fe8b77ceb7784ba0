"""Push the cheap part of a TraceQL query down to DuckDB: which traces can possibly match.

The SQL built here is a *necessary* condition only — every trace the evaluator would
match passes it, some that pass are then dropped by the evaluator — so it never
changes an answer, it only spares loading and evaluating traces that cannot match.
Anything not translated exactly (regexes, trace-level intrinsics, negations,
numeric attribute values) falls back to "attribute present" or to no condition.

Attribute tests search the JSON text the span store writes
(``[{"key":"k","value":{"stringValue":"v"}}]``, compact, keys in that order).
"""

from __future__ import annotations

import json
from typing import Any

from labkit.lgtm.traces.traceql import ast

__all__ = ["Condition", "span_condition", "trace_condition"]

# (SQL text, parameters); None means "no condition" (every span / trace passes).
Condition = tuple[str, list[Any]] | None

_KIND = {k: i for i, k in enumerate(ast.KINDS)}
_STATUS = {"unset": 0, "ok": 1, "error": 2}
_ORDER_OPS = {"=": "=", "!=": "<>", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def _j(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


def _contains(column: str, needle: str) -> tuple[str, list[Any]]:
    return f"contains(CAST({column} AS VARCHAR), ?)", [needle]


def _any_of(*conds: tuple[str, list[Any]]) -> tuple[str, list[Any]]:
    return "(" + " OR ".join(c[0] for c in conds) + ")", [p for c in conds for p in c[1]]


def _attribute(column: str, name: str, op: str, value: ast.Static) -> tuple[str, list[Any]]:
    key = '{"key":' + _j(name) + ","
    present = _contains(column, key)
    if op != "=" or value.type not in ("string", "bool"):
        return present  # numeric values may be int or double; arrays; other operators
    if value.type == "string":
        exact = key + '"value":{"stringValue":' + _j(str(value.value)) + "}}"
    else:
        exact = key + '"value":{"boolValue":' + ("true" if value.value else "false") + "}}"
    array = key + '"value":{"arrayValue"'
    return _any_of(_contains(column, exact), _contains(column, array))


def _comparison(op: str, f: ast.Field, value: ast.Static) -> Condition:
    if value.type == "nil":
        if op == "!=" and isinstance(f, ast.Attribute):
            return _attribute_presence(f)
        return None
    if isinstance(f, ast.Intrinsic):
        sql_op = _ORDER_OPS.get(op)
        if sql_op is None:
            return None
        if f.name == "name" and value.type == "string" and op in ("=", "!="):
            return f"name {sql_op} ?", [value.value]
        if f.name == "statusMessage" and value.type == "string" and op in ("=", "!="):
            return f"status_message {sql_op} ?", [value.value]
        if f.name == "status" and value.type == "status" and op in ("=", "!="):
            return f"status_code {sql_op} ?", [_STATUS[str(value.value)]]
        if f.name == "kind" and value.type == "kind" and op in ("=", "!="):
            return f"kind {sql_op} ?", [_KIND[str(value.value)]]
        if f.name == "duration" and value.type in ("int", "float", "duration"):
            return f"(end_ns - start_ns) {sql_op} ?", [value.value]
        return None
    if f.scope == "resource" and f.name == "service.name" and value.type == "string" and op in ("=", "!="):
        return f"service_name {_ORDER_OPS[op]} ?", [value.value]
    if op == "!=" or op == "!~":
        return _attribute_presence(f)
    cols = {
        "span": ["attributes"],
        "resource": ["resource_attributes"],
        "": ["attributes", "resource_attributes"],
    }
    return _any_of(*(_attribute(c, f.name, op, value) for c in cols[f.scope]))


def _attribute_presence(f: ast.Attribute) -> tuple[str, list[Any]]:
    key = '{"key":' + _j(f.name) + ","
    cols = {
        "span": ["attributes"],
        "resource": ["resource_attributes"],
        "": ["attributes", "resource_attributes"],
    }
    return _any_of(*(_contains(c, key) for c in cols[f.scope]))


def span_condition(expr: ast.FieldExpr | None) -> Condition:
    """A SQL condition every span matching ``expr`` satisfies (None: no useful condition)."""
    if expr is None or not isinstance(expr, ast.BinaryOp):
        return None
    if expr.op in ("&&", "||"):
        lhs, rhs = span_condition(expr.lhs), span_condition(expr.rhs)
        if expr.op == "&&":
            if lhs is None or rhs is None:
                return lhs or rhs
            return f"({lhs[0]} AND {rhs[0]})", lhs[1] + rhs[1]
        if lhs is None or rhs is None:
            return None
        return f"({lhs[0]} OR {rhs[0]})", lhs[1] + rhs[1]
    field, static, op = expr.lhs, expr.rhs, expr.op
    if isinstance(field, ast.Static) and isinstance(static, ast.Attribute | ast.Intrinsic):
        field, static = static, field
        op = {">": "<", "<": ">", ">=": "<=", "<=": ">="}.get(op, op)
        if op in ("=~", "!~"):
            return None
    if not isinstance(field, ast.Attribute | ast.Intrinsic) or not isinstance(static, ast.Static):
        return None
    return _comparison(op, field, static)


def trace_condition(expr: ast.SpansetExpr | ast.Stage) -> Condition:
    """A SQL condition on ``trace_id`` every trace matching the spanset expression satisfies."""
    if isinstance(expr, ast.SpansetFilter):
        cond = span_condition(expr.expr)
        if cond is None:
            return None
        return f"trace_id IN (SELECT trace_id FROM spans WHERE {cond[0]})", cond[1]
    if isinstance(expr, ast.Pipeline):
        return trace_condition(expr.stages[0])
    if isinstance(expr, ast.SpansetOp):
        lhs, rhs = trace_condition(expr.lhs), trace_condition(expr.rhs)
        if expr.op == "||":
            if lhs is None or rhs is None:
                return None
            return f"({lhs[0]} OR {rhs[0]})", lhs[1] + rhs[1]
        if lhs is None or rhs is None:
            return lhs or rhs
        return f"({lhs[0]} AND {rhs[0]})", lhs[1] + rhs[1]
    return None
