"""LogQL abstract syntax tree: frozen dataclasses, so nodes compare by value.

The printer (``printer.py``) turns every node back into query text that parses to an
equal node; the evaluator (``evaluate.py``) never sees text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = [
    "RANGE_OPS",
    "VECTOR_OPS",
    "BinaryOp",
    "DropStage",
    "Grouping",
    "JsonParser",
    "KeepStage",
    "LabelAnd",
    "LabelCompare",
    "LabelExpr",
    "LabelFilterStage",
    "LabelMatch",
    "LabelOr",
    "LineFilter",
    "LineFormat",
    "LogRange",
    "LogSelector",
    "LogfmtParser",
    "Matcher",
    "MetricExpr",
    "NumberLiteral",
    "PatternParser",
    "Query",
    "RangeAggregation",
    "RegexpParser",
    "Stage",
    "Unwrap",
    "VectorAggregation",
    "VectorLiteral",
]

MatchOp = Literal["=", "!=", "=~", "!~"]
LineOp = Literal["|=", "!=", "|~", "!~"]
CompareOp = Literal["==", "!=", ">", ">=", "<", "<="]

# Range aggregations and whether they need ``| unwrap``.
RANGE_OPS: dict[str, bool] = {
    "count_over_time": False,
    "rate": False,
    "bytes_over_time": False,
    "bytes_rate": False,
    "absent_over_time": False,
    "sum_over_time": True,
    "avg_over_time": True,
    "max_over_time": True,
    "min_over_time": True,
    "first_over_time": True,
    "last_over_time": True,
    "stddev_over_time": True,
    "stdvar_over_time": True,
    "quantile_over_time": True,
    "rate_counter": True,
}
VECTOR_OPS = ("sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk", "bottomk", "sort", "sort_desc")


@dataclass(frozen=True)
class Matcher:
    name: str
    op: MatchOp
    value: str


@dataclass(frozen=True)
class LineFilter:
    op: LineOp
    value: str


@dataclass(frozen=True)
class JsonParser:
    # Optional ``label="json.path"`` extractions; empty means "every field, flattened".
    params: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LogfmtParser:
    pass


@dataclass(frozen=True)
class PatternParser:
    pattern: str


@dataclass(frozen=True)
class RegexpParser:
    regex: str


@dataclass(frozen=True)
class LabelMatch:
    """``name op "string"`` with a string (or regex) operator."""

    name: str
    op: MatchOp
    value: str


@dataclass(frozen=True)
class LabelCompare:
    """``name op value`` on numbers, durations (ns) or byte sizes."""

    name: str
    op: CompareOp
    value: float
    kind: Literal["number", "duration", "bytes"] = "number"
    # The literal as written, so printing keeps ``1s`` rather than ``1000000000``; not part of equality.
    text: str = field(default="", compare=False)


@dataclass(frozen=True)
class LabelAnd:
    left: LabelExpr
    right: LabelExpr


@dataclass(frozen=True)
class LabelOr:
    left: LabelExpr
    right: LabelExpr


LabelExpr = LabelMatch | LabelCompare | LabelAnd | LabelOr


@dataclass(frozen=True)
class LabelFilterStage:
    expr: LabelExpr


@dataclass(frozen=True)
class LineFormat:
    template: str


@dataclass(frozen=True)
class KeepStage:
    # Each item is a bare label name or a matcher that keeps the label only when it matches.
    items: tuple[str | LabelMatch, ...]


@dataclass(frozen=True)
class DropStage:
    items: tuple[str | LabelMatch, ...]


Stage = (
    LineFilter
    | JsonParser
    | LogfmtParser
    | PatternParser
    | RegexpParser
    | LabelFilterStage
    | LineFormat
    | KeepStage
    | DropStage
)


@dataclass(frozen=True)
class LogSelector:
    """A log query: a stream selector and its pipeline."""

    matchers: tuple[Matcher, ...]
    stages: tuple[Stage, ...] = ()


@dataclass(frozen=True)
class Unwrap:
    label: str
    conversion: Literal["", "duration", "duration_seconds", "bytes"] = ""
    post_filters: tuple[LabelExpr, ...] = ()


@dataclass(frozen=True)
class LogRange:
    selector: LogSelector
    range_ns: int
    unwrap: Unwrap | None = None
    offset_ns: int = 0


@dataclass(frozen=True)
class Grouping:
    labels: tuple[str, ...]
    without: bool = False


@dataclass(frozen=True)
class RangeAggregation:
    op: str
    range: LogRange
    grouping: Grouping | None = None
    param: float | None = None  # the quantile of quantile_over_time


@dataclass(frozen=True)
class VectorAggregation:
    op: str
    expr: MetricExpr
    grouping: Grouping | None = None
    param: int | None = None  # k of topk/bottomk


@dataclass(frozen=True)
class BinaryOp:
    op: str  # + - * / % ^ == != > >= < <= and or unless
    lhs: MetricExpr
    rhs: MetricExpr
    return_bool: bool = False


@dataclass(frozen=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True)
class VectorLiteral:
    value: float


MetricExpr = RangeAggregation | VectorAggregation | BinaryOp | NumberLiteral | VectorLiteral
Query = LogSelector | MetricExpr
