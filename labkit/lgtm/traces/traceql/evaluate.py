"""Evaluate a TraceQL pipeline over one trace, giving Tempo's spansets.

Semantics copied from Tempo where the tutorials can see them:
- a comparison between values of different types is false, not an error
  (``span.http.response.status_code = "500"`` matches nothing); ints, floats and
  durations compare as numbers;
- a missing attribute makes every comparison false except ``= nil``;
- regular expressions match the whole value (Tempo anchors them);
- each span of a result remembers the fields the query looked at, because Tempo
  returns those values as the span's ``attributes`` in search results.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.model import KIND_NAMES, STATUS_NAMES, Span, Trace, Value
from labkit.lgtm.traces.traceql.printer import format_aggregate, format_field

__all__ = [
    "QueryError",
    "SpanSet",
    "compare",
    "evaluate_pipeline",
    "field_value",
    "filter_fields",
    "matches",
    "validate",
]

_NUMERIC = frozenset({"int", "float", "duration"})
_NIL = ("nil", None)


class QueryError(ValueError):
    """A query that parses but cannot run (an invalid regular expression, say)."""


@dataclass
class SpanSet:
    spans: list[Span]
    # span idx -> {field: reported because of select()?}; the fields Tempo returns per span.
    refs: dict[int, dict[ast.Field, bool]] = field(default_factory=dict)
    attributes: list[tuple[str, Value | None]] = field(default_factory=list)


@lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise QueryError(f"error parsing regexp: {exc}: `{pattern}`") from exc


def validate(query: ast.Query) -> None:
    """Reject what parses but cannot run: invalid regular expressions."""
    for node in _walk(query):
        if isinstance(node, ast.BinaryOp) and node.op in ("=~", "!~"):
            for side in (node.lhs, node.rhs):
                if isinstance(side, ast.Static) and side.type == "string":
                    _regex(str(side.value))


def _walk(node: Any) -> Iterable[Any]:
    yield node
    if isinstance(node, ast.Query):
        yield from _walk(node.pipeline)
    elif isinstance(node, ast.Pipeline):
        for s in node.stages:
            yield from _walk(s)
    elif isinstance(node, ast.SpansetOp | ast.BinaryOp):
        yield from _walk(node.lhs)
        yield from _walk(node.rhs)
    elif (isinstance(node, ast.SpansetFilter) and node.expr is not None) or isinstance(node, ast.Not):
        yield from _walk(node.expr)


def filter_fields(expr: ast.FieldExpr | None) -> tuple[ast.Field, ...]:
    """The attributes and intrinsics a filter expression reads, in first-use order."""
    out: dict[ast.Field, None] = {}
    for node in _walk(expr) if expr is not None else ():
        if isinstance(node, ast.Attribute | ast.Intrinsic):
            out[node] = None
    return tuple(out)


def field_value(span: Span, f: ast.Field) -> Value | None:
    if isinstance(f, ast.Attribute):
        if f.scope == "span":
            return span.attrs.get(f.name)
        if f.scope == "resource":
            return span.resource.get(f.name)
        v = span.attrs.get(f.name)
        return v if v is not None else span.resource.get(f.name)
    n = f.name
    if n == "name":
        return ("string", span.name)
    if n == "status":
        return ("status", STATUS_NAMES[span.status_code] if 0 <= span.status_code < 3 else "unset")
    if n == "statusMessage":
        return ("string", span.status_message)
    if n == "duration":
        return ("duration", span.duration_ns)
    if n == "kind":
        return ("kind", KIND_NAMES[span.kind] if 0 <= span.kind < 6 else "unspecified")
    tr = span.trace
    if n == "trace:rootService":
        return ("string", tr.root_service)
    if n == "trace:rootName":
        return ("string", tr.root_name)
    if n == "trace:duration":
        return ("duration", tr.duration_ns)
    if n == "trace:id":
        return ("string", tr.trace_id)
    if n == "span:id":
        return ("string", span.span_id)
    if n == "span:parentID":
        return ("string", span.parent_span_id)
    return None


def compare(op: str, a: Value | None, b: Value | None) -> bool:
    """``a op b`` with Tempo's typing: mismatched types and missing values are false."""
    if b == _NIL:
        return (a is None) if op == "=" else (a is not None) if op == "!=" else False
    if a == _NIL:
        return compare(op, b, a)
    if a is None or b is None:
        return False
    if a[0] == "array":
        if op in ("!=", "!~"):
            return all(compare(op, x, b) for x in a[1]) and bool(a[1])
        return any(compare(op, x, b) for x in a[1])
    ta, tb = a[0], b[0]
    if ta in _NUMERIC and tb in _NUMERIC:
        x, y = a[1], b[1]
    elif ta == tb and ta == "string":
        x, y = a[1], b[1]
        if op == "=~":
            return _regex(y).fullmatch(x) is not None
        if op == "!~":
            return _regex(y).fullmatch(x) is None
    elif ta == tb and ta in ("bool", "status", "kind"):
        if op not in ("=", "!="):
            return False
        x, y = a[1], b[1]
    else:
        return False
    if op == "=":
        return bool(x == y)
    if op == "!=":
        return bool(x != y)
    if op in ("=~", "!~"):
        return False
    if op == ">":
        return bool(x > y)
    if op == ">=":
        return bool(x >= y)
    if op == "<":
        return bool(x < y)
    return bool(x <= y)


def _eval(expr: ast.FieldExpr, span: Span) -> Value | None:
    if isinstance(expr, ast.Static):
        return (expr.type, expr.value)
    if isinstance(expr, ast.Attribute | ast.Intrinsic):
        return field_value(span, expr)
    if isinstance(expr, ast.Not):
        v = _eval(expr.expr, span)
        return ("bool", not v[1]) if v is not None and v[0] == "bool" else None
    if expr.op == "&&":
        return ("bool", _truthy(_eval(expr.lhs, span)) and _truthy(_eval(expr.rhs, span)))
    if expr.op == "||":
        return ("bool", _truthy(_eval(expr.lhs, span)) or _truthy(_eval(expr.rhs, span)))
    return ("bool", compare(expr.op, _eval(expr.lhs, span), _eval(expr.rhs, span)))


def _truthy(v: Value | None) -> bool:
    return v is not None and v[0] == "bool" and bool(v[1])


def matches(expr: ast.FieldExpr | None, span: Span) -> bool:
    """Does ``span`` satisfy the inside of a spanset filter (None: the empty filter)?"""
    return True if expr is None else _truthy(_eval(expr, span))


# ----------------------------------------------------------------------------- spansets
def _union(sets: Sequence[SpanSet]) -> SpanSet:
    if len(sets) == 1:
        return sets[0]
    chosen: dict[int, Span] = {}
    refs: dict[int, dict[ast.Field, bool]] = {}
    attributes: list[tuple[str, Value | None]] = []
    for ss in sets:
        for s in ss.spans:
            chosen.setdefault(s.idx, s)
        for idx, fields in ss.refs.items():
            refs.setdefault(idx, {}).update(fields)
        attributes.extend(ss.attributes)
    return SpanSet([chosen[i] for i in sorted(chosen)], refs, attributes)


def _ancestors(s: Span) -> Iterable[Span]:
    p, seen = s.parent, 0
    while p is not None and seen <= len(s.trace.spans):  # guards against parent cycles in bad data
        yield p
        p, seen = p.parent, seen + 1


def _descendants(s: Span) -> Iterable[Span]:
    stack, seen = list(s.children), set()
    while stack:
        c = stack.pop()
        if c.idx in seen:
            continue
        seen.add(c.idx)
        yield c
        stack.extend(c.children)


def _structural(op: str, lhs: SpanSet, rhs: SpanSet) -> SpanSet:
    left = {s.idx for s in lhs.spans}
    keep: list[Span] = []
    for s in rhs.spans:
        if op == ">":
            ok = s.parent is not None and s.parent.idx in left
        elif op == "<":
            ok = any(c.idx in left for c in s.children)
        elif op == ">>":
            ok = any(a.idx in left for a in _ancestors(s))
        elif op == "<<":
            ok = any(d.idx in left for d in _descendants(s))
        else:  # "~" sibling: same parent, another span
            ok = s.parent is not None and any(c.idx in left and c is not s for c in s.parent.children)
        if ok:
            keep.append(s)
    return SpanSet(keep, {s.idx: rhs.refs.get(s.idx, {}) for s in keep}, list(rhs.attributes))


def _eval_spanset(expr: ast.SpansetExpr, trace: Trace, candidates: list[Span]) -> list[SpanSet]:
    if isinstance(expr, ast.SpansetFilter):
        spans = [s for s in candidates if matches(expr.expr, s)]
        if not spans:
            return []
        fields = dict.fromkeys(filter_fields(expr.expr), False)
        return [SpanSet(spans, {s.idx: dict(fields) for s in spans})]
    if isinstance(expr, ast.Pipeline):
        return _eval_pipeline(expr, trace, candidates)
    lhs = _eval_spanset(expr.lhs, trace, candidates)
    if expr.op == "&&":
        if not lhs:
            return []
        rhs = _eval_spanset(expr.rhs, trace, candidates)
        return [_union(lhs + rhs)] if rhs else []
    rhs = _eval_spanset(expr.rhs, trace, candidates)
    if expr.op == "||":
        both = lhs + rhs
        return [_union(both)] if both else []
    if not lhs or not rhs:
        return []
    out = _structural(expr.op, _union(lhs), _union(rhs))
    return [out] if out.spans else []


def _aggregate(agg: ast.Aggregate, spans: list[Span]) -> Value | None:
    if agg.fn == "count":
        return ("int", len(spans))
    assert agg.arg is not None
    vals = [v for v in (field_value(s, agg.arg) for s in spans) if v is not None and v[0] in _NUMERIC]
    if not vals:
        return None
    nums = [v[1] for v in vals]
    kind = (
        "duration"
        if all(v[0] == "duration" for v in vals)
        else ("int" if all(v[0] == "int" for v in vals) else "float")
    )
    if agg.fn == "avg":
        return ("float", sum(nums) / len(nums))
    if agg.fn == "sum":
        total = sum(nums)
        return (kind, total if kind != "float" else float(total))
    pick = min(nums) if agg.fn == "min" else max(nums)
    return (kind, pick)


def _apply_stage(stage: ast.Stage, sets: list[SpanSet], trace: Trace) -> list[SpanSet]:
    if isinstance(stage, ast.ScalarFilter):
        out = []
        for ss in sets:
            v = _aggregate(stage.lhs, ss.spans)
            if compare(stage.op, v, (stage.rhs.type, stage.rhs.value)):
                out.append(SpanSet(ss.spans, ss.refs, [*ss.attributes, (format_aggregate(stage.lhs), v)]))
        return out
    if isinstance(stage, ast.GroupBy):
        out = []
        for ss in sets:
            groups: dict[tuple[Any, ...], list[Span]] = {}
            for s in ss.spans:
                key = tuple(field_value(s, f) for f in stage.fields)
                groups.setdefault(key, []).append(s)
            for key, spans in groups.items():
                refs = {}
                for s in spans:
                    r = dict(ss.refs.get(s.idx, {}))
                    for f in stage.fields:
                        r.setdefault(f, False)
                    refs[s.idx] = r
                attrs = [(f"by({format_field(f)})", v) for f, v in zip(stage.fields, key, strict=True)]
                out.append(SpanSet(spans, refs, [*ss.attributes, *attrs]))
        return out
    if isinstance(stage, ast.Select):
        for ss in sets:
            for s in ss.spans:
                r = ss.refs.setdefault(s.idx, {})
                for f in stage.fields:
                    r[f] = True
        return sets
    if isinstance(stage, ast.Coalesce):
        return [_union(sets)] if sets else []
    # A spanset expression as a later stage filters inside each incoming spanset.
    out = []
    for ss in sets:
        for res in _eval_spanset(stage, trace, ss.spans):
            for s in res.spans:  # keep what earlier stages reported for these spans
                merged = dict(ss.refs.get(s.idx, {}))
                merged.update(res.refs.get(s.idx, {}))
                res.refs[s.idx] = merged
            res.attributes = [*ss.attributes, *res.attributes]
            out.append(res)
    return out


def _eval_pipeline(p: ast.Pipeline, trace: Trace, candidates: list[Span]) -> list[SpanSet]:
    first, *rest = p.stages
    sets = _eval_spanset(first, trace, candidates)  # type: ignore[arg-type]
    for stage in rest:
        if not sets:
            break
        sets = _apply_stage(stage, sets, trace)
    return [ss for ss in sets if ss.spans]


def evaluate_pipeline(pipeline: ast.Pipeline, trace: Trace) -> list[SpanSet]:
    """The spansets ``pipeline`` yields for ``trace``; an empty list means no match."""
    return _eval_pipeline(pipeline, trace, trace.spans)
