"""Print TraceQL trees back to query text that parses to the same tree."""

from __future__ import annotations

from labkit.lgtm._strings import go_quote
from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.lexer import ATTR_TERMINATORS, format_duration

__all__ = ["format_field", "format_query", "format_static", "to_string"]

_FIELD_PREC = {"&&": 1, "||": 1, **{op: 2 for op in ast.COMPARISON_OPS}}
_SPANSET_PREC = {"&&": 1, "||": 1, ">": 2, ">>": 2, "<": 2, "<<": 2, "~": 2}


def format_static(s: ast.Static) -> str:
    v = s.value
    if s.type == "string":
        return go_quote(str(v), escape_unprintable=True)
    if s.type == "bool":
        return "true" if v else "false"
    if s.type == "nil":
        return "nil"
    if s.type in ("status", "kind"):
        return str(v)
    if s.type == "duration":
        assert isinstance(v, int)
        return ("-" if v < 0 else "") + format_duration(abs(v))
    if s.type == "float":
        assert isinstance(v, float)
        text = repr(v)
        if "e" not in text and "." not in text:
            text += ".0"
        return text
    return str(v)


def _name_is_bare(name: str) -> bool:
    return bool(name) and all(
        ch.isprintable() and not ch.isspace() and ch not in ATTR_TERMINATORS for ch in name
    )


def format_field(f: ast.Field) -> str:
    if isinstance(f, ast.Intrinsic):
        return f.name
    name = f.name if _name_is_bare(f.name) else go_quote(f.name, escape_unprintable=True)
    return f"{f.scope}.{name}"


def _field_expr(e: ast.FieldExpr) -> str:
    if isinstance(e, ast.Static):
        return format_static(e)
    if isinstance(e, ast.Attribute | ast.Intrinsic):
        return format_field(e)
    if isinstance(e, ast.Not):
        inner = _field_expr(e.expr)
        return f"!({inner})" if isinstance(e.expr, ast.BinaryOp) else f"!{inner}"
    prec = _FIELD_PREC[e.op]
    lhs, rhs = _field_expr(e.lhs), _field_expr(e.rhs)
    # Left-associative: a left child of equal precedence needs no parentheses, a right one does.
    if isinstance(e.lhs, ast.BinaryOp) and _FIELD_PREC[e.lhs.op] < prec:
        lhs = f"({lhs})"
    if isinstance(e.rhs, ast.BinaryOp) and _FIELD_PREC[e.rhs.op] <= prec:
        rhs = f"({rhs})"
    # A negative literal after a comparison stays readable; "!" is never doubled with "=".
    return f"{lhs} {e.op} {rhs}"


def _spanset(e: ast.SpansetExpr) -> str:
    if isinstance(e, ast.SpansetFilter):
        return "{ }" if e.expr is None else "{ " + _field_expr(e.expr) + " }"
    if isinstance(e, ast.Pipeline):
        return "(" + _pipeline(e) + ")"
    prec = _SPANSET_PREC[e.op]
    lhs, rhs = _spanset(e.lhs), _spanset(e.rhs)
    if isinstance(e.lhs, ast.SpansetOp) and _SPANSET_PREC[e.lhs.op] < prec:
        lhs = f"({lhs})"
    if isinstance(e.rhs, ast.SpansetOp) and _SPANSET_PREC[e.rhs.op] <= prec:
        rhs = f"({rhs})"
    return f"{lhs} {e.op} {rhs}"


def _stage(s: ast.Stage) -> str:
    if isinstance(s, ast.ScalarFilter):
        return f"{format_aggregate(s.lhs)} {s.op} {format_static(s.rhs)}"
    if isinstance(s, ast.GroupBy):
        return "by(" + ", ".join(format_field(f) for f in s.fields) + ")"
    if isinstance(s, ast.Select):
        return "select(" + ", ".join(format_field(f) for f in s.fields) + ")"
    if isinstance(s, ast.Coalesce):
        return "coalesce()"
    return _spanset(s)


def format_aggregate(a: ast.Aggregate) -> str:
    return f"{a.fn}()" if a.arg is None else f"{a.fn}({format_field(a.arg)})"


def _pipeline(p: ast.Pipeline) -> str:
    return " | ".join(_stage(s) for s in p.stages)


def format_metrics(m: ast.MetricsAggregate) -> str:
    args = [] if m.arg is None else [format_field(m.arg)]
    args += [repr(q) for q in m.quantiles]  # repr: the shortest text that parses to the same float
    text = f"{m.fn}({', '.join(args)})"
    if m.by:
        text += " by (" + ", ".join(format_field(f) for f in m.by) + ")"
    return text


def format_query(q: ast.Query) -> str:
    text = _pipeline(q.pipeline)
    if q.metrics is not None:
        text += " | " + format_metrics(q.metrics)
    return text


def to_string(node: object) -> str:
    """Print any node: a query, a pipeline stage, a field expression or a field."""
    if isinstance(node, ast.Query):
        return format_query(node)
    if isinstance(node, ast.Pipeline):
        return _pipeline(node)
    if isinstance(
        node, ast.SpansetFilter | ast.SpansetOp | ast.ScalarFilter | ast.GroupBy | ast.Select | ast.Coalesce
    ):
        return _stage(node)
    if isinstance(node, ast.Aggregate):
        return format_aggregate(node)
    if isinstance(node, ast.MetricsAggregate):
        return format_metrics(node)
    return _field_expr(node)  # type: ignore[arg-type]
