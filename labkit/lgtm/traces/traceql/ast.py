"""TraceQL syntax tree: frozen dataclasses, compared by value.

The parser always returns a :class:`Query` whose ``pipeline`` is a :class:`Pipeline`
(one stage or more). Inside spanset operators a parenthesised pipeline of a single
stage is unwrapped to that stage, so ``({ a })`` and ``{ a }`` are the same tree;
that keeps "print, then parse" an identity on every tree the parser can build.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "COMPARISON_OPS",
    "INTRINSICS",
    "INTRINSIC_ALIASES",
    "KINDS",
    "LOGICAL_OPS",
    "METRICS_FUNCTIONS",
    "SPANSET_OPS",
    "STATUSES",
    "Aggregate",
    "Attribute",
    "BinaryOp",
    "Coalesce",
    "Field",
    "FieldExpr",
    "GroupBy",
    "Intrinsic",
    "MetricsAggregate",
    "Not",
    "Pipeline",
    "Query",
    "ScalarFilter",
    "Select",
    "SpansetExpr",
    "SpansetFilter",
    "SpansetOp",
    "Stage",
    "Static",
    "StaticType",
]

StaticType = Literal["string", "int", "float", "bool", "duration", "status", "kind", "nil"]

COMPARISON_OPS = ("=", "!=", ">", ">=", "<", "<=", "=~", "!~")
LOGICAL_OPS = ("&&", "||")
# Spanset operators: && and || combine spansets, the rest are structural
# (> child, < parent, >> descendant, << ancestor, ~ sibling).
SPANSET_OPS = ("&&", "||", ">", ">>", "<", "<<", "~")
STATUSES = ("error", "ok", "unset")
KINDS = ("unspecified", "internal", "server", "client", "producer", "consumer")
METRICS_FUNCTIONS = (
    "rate",
    "count_over_time",
    "sum_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "quantile_over_time",
)

# Canonical intrinsic names -> the type of their values.
INTRINSICS: dict[str, StaticType] = {
    "name": "string",
    "status": "status",
    "statusMessage": "string",
    "duration": "duration",
    "kind": "kind",
    "trace:rootService": "string",
    "trace:rootName": "string",
    "trace:duration": "duration",
    "trace:id": "string",
    "span:id": "string",
    "span:parentID": "string",
}
# Older and scoped spellings Tempo accepts for the same intrinsics.
INTRINSIC_ALIASES: dict[str, str] = {
    "span:name": "name",
    "span:status": "status",
    "span:statusMessage": "statusMessage",
    "span:duration": "duration",
    "span:kind": "kind",
    "rootName": "trace:rootName",
    "rootServiceName": "trace:rootService",
    "traceDuration": "trace:duration",
}


@dataclass(frozen=True)
class Static:
    """A literal. ``duration`` values are integer nanoseconds; status/kind are their keyword."""

    type: StaticType
    value: str | int | float | bool | None


@dataclass(frozen=True)
class Attribute:
    """``span.x``, ``resource.x`` or unscoped ``.x`` (scope ``""``)."""

    scope: Literal["span", "resource", ""]
    name: str


@dataclass(frozen=True)
class Intrinsic:
    name: str  # a key of INTRINSICS


Field = Attribute | Intrinsic


@dataclass(frozen=True)
class BinaryOp:
    """A comparison (``=`` ... ``!~``) or a logical ``&&``/``||`` inside a spanset filter."""

    op: str
    lhs: FieldExpr
    rhs: FieldExpr


@dataclass(frozen=True)
class Not:
    expr: FieldExpr


FieldExpr = Static | Attribute | Intrinsic | BinaryOp | Not


@dataclass(frozen=True)
class SpansetFilter:
    """``{ expr }``; ``expr`` is None for the empty filter ``{ }`` that matches every span."""

    expr: FieldExpr | None


@dataclass(frozen=True)
class SpansetOp:
    op: str  # one of SPANSET_OPS
    lhs: SpansetExpr
    rhs: SpansetExpr


@dataclass(frozen=True)
class Aggregate:
    """``count()`` (arg None), ``avg|min|max|sum(field)``."""

    fn: str
    arg: Field | None = None


@dataclass(frozen=True)
class ScalarFilter:
    """``count() > 3`` — keeps the spansets whose aggregate compares true."""

    op: str
    lhs: Aggregate
    rhs: Static


@dataclass(frozen=True)
class GroupBy:
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Select:
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Coalesce:
    pass


@dataclass(frozen=True)
class Pipeline:
    """``stage | stage | ...``; the first stage is a spanset expression."""

    stages: tuple[Stage, ...]


SpansetExpr = SpansetFilter | SpansetOp | Pipeline
Stage = SpansetFilter | SpansetOp | Pipeline | ScalarFilter | GroupBy | Select | Coalesce


@dataclass(frozen=True)
class MetricsAggregate:
    """``rate()``, ``count_over_time()``, ``sum_over_time(field)``... with optional ``by (...)``.

    ``quantiles`` are the ``p`` arguments of ``quantile_over_time(field, p, ...)`` (0..1)."""

    fn: str
    arg: Field | None = None
    by: tuple[Field, ...] = ()
    quantiles: tuple[float, ...] = ()


@dataclass(frozen=True)
class Query:
    pipeline: Pipeline
    metrics: MetricsAggregate | None = None
