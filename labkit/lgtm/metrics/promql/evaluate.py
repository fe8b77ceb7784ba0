"""Evaluate a parsed PromQL expression at every step of a query at once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import promql_parser as pp

from labkit.lgtm.metrics.index import MetricIndex
from labkit.lgtm.metrics.promql import functions as fn
from labkit.lgtm.metrics.promql.aggregations import aggregate
from labkit.lgtm.metrics.promql.binops import binary
from labkit.lgtm.metrics.promql.range_functions import RANGE_FUNCTIONS, call_range_function
from labkit.lgtm.metrics.promql.regression import REGRESSION_FUNCTIONS, call_regression
from labkit.lgtm.metrics.promql.selectors import matchers_of, select_matrix, select_vector
from labkit.lgtm.metrics.promql.values import (
    Matrix,
    PromQLError,
    RangeSeries,
    Scalar,
    Series,
    StringValue,
    Vector,
    labels_sig,
)

__all__ = ["LOOKBACK_MS", "EvalContext", "check_unique", "evaluate", "parse"]

LOOKBACK_MS = 300_000
Value = Scalar | Vector | Matrix | StringValue


@dataclass
class EvalContext:
    index: MetricIndex
    steps: np.ndarray  # int64 ms
    start_ms: int
    end_ms: int
    lookback_ms: int = LOOKBACK_MS

    @property
    def n(self) -> int:
        return len(self.steps)

    def at_ms(self, at: Any) -> int:
        if at.type == pp.AtModifierType.Start:
            return self.start_ms
        if at.type == pp.AtModifierType.End:
            return self.end_ms
        return round(at.at.timestamp() * 1000)

    def with_steps(self, steps: np.ndarray) -> EvalContext:
        return EvalContext(self.index, steps, self.start_ms, self.end_ms, self.lookback_ms)


def parse(query: str) -> Any:
    if not query.strip():
        raise PromQLError("empty query: the 'query' parameter is required")
    try:
        return pp.parse(query)
    except (ValueError, TypeError) as exc:
        raise PromQLError(f"parse error: {exc}") from exc


def _op(token: Any) -> str:
    return str(token).strip().lower()


def _scalar_arg(ctx: EvalContext, node: Any, what: str) -> np.ndarray:
    v = evaluate(ctx, node)
    if not isinstance(v, Scalar):
        raise PromQLError(f"expected a scalar for {what}")
    return v.vals


def _string_arg(node: Any, what: str) -> str:
    inner = node
    while isinstance(inner, pp.ParenExpr):
        inner = inner.expr
    if not isinstance(inner, pp.StringLiteral):
        raise PromQLError(f"expected a string literal for {what}")
    return str(inner.val)


def _vector_arg(ctx: EvalContext, node: Any, what: str) -> Vector:
    v = evaluate(ctx, node)
    if not isinstance(v, Vector):
        raise PromQLError(f"expected an instant vector for {what}")
    return v


def _subquery(ctx: EvalContext, node: Any) -> Matrix:
    range_ms = round(node.range.total_seconds() * 1000)
    step_ms = round(node.step.total_seconds() * 1000) if node.step is not None else 60_000
    if step_ms <= 0:
        raise PromQLError("subquery step must be positive")
    offset = round(node.offset.total_seconds() * 1000) if node.offset is not None else 0
    base = ctx.steps if node.at is None else np.full(ctx.n, ctx.at_ms(node.at), dtype=np.int64)
    hi = base - offset
    lo = hi - range_ms
    first = int(lo.min())
    # Inner steps are aligned to multiples of the step in absolute time, as Prometheus does.
    start = first - (first % step_ms)
    if start < first:
        start += step_ms
    inner_steps = np.arange(start, int(hi.max()) + 1, step_ms, dtype=np.int64)
    if len(inner_steps) > 1_000_000:
        raise PromQLError("subquery would evaluate more than 1,000,000 steps; use a larger step")
    if len(inner_steps) == 0:
        return Matrix([], lo, hi, range_ms)
    inner = evaluate(ctx.with_steps(inner_steps), node.expr)
    if isinstance(inner, Scalar):
        inner = fn.vector_of(inner)
    if not isinstance(inner, Vector):
        raise PromQLError("subquery is only allowed on an instant vector or scalar expression")
    series = [
        RangeSeries(s.labels, inner_steps[s.present], s.vals[s.present])
        for s in inner.series
        if s.present.any()
    ]
    return Matrix(series, lo, hi, range_ms)


def _matrix_arg(ctx: EvalContext, node: Any) -> Matrix:
    inner = node
    while isinstance(inner, pp.ParenExpr):
        inner = inner.expr
    if isinstance(inner, pp.MatrixSelector):
        return select_matrix(ctx, inner)
    if isinstance(inner, pp.SubqueryExpr):
        return _subquery(ctx, inner)
    raise PromQLError("expected a range vector (a range selector or a subquery)")


def _call(ctx: EvalContext, node: Any) -> Value:
    name = node.func.name
    args = list(node.args)
    if name in REGRESSION_FUNCTIONS:
        horizon = _scalar_arg(ctx, args[1], "predict_linear()'s t") if name == "predict_linear" else None
        return call_regression(name, _matrix_arg(ctx, args[0]), ctx.steps, horizon)
    if name in RANGE_FUNCTIONS:
        params: list[np.ndarray] = []
        if name == "quantile_over_time":
            params.append(_scalar_arg(ctx, args[0], "quantile_over_time's quantile"))
            args = args[1:]
        return call_range_function(name, _matrix_arg(ctx, args[0]), params)
    if name in fn.MATH_FUNCTIONS:
        return fn.map_values(_vector_arg(ctx, args[0], f"{name}()"), fn.MATH_FUNCTIONS[name])
    if name == "round":
        to = _scalar_arg(ctx, args[1], "round()'s to_nearest") if len(args) > 1 else np.ones(ctx.n)
        return fn.round_values(_vector_arg(ctx, args[0], "round()"), to)
    if name in ("clamp", "clamp_min", "clamp_max"):
        v = _vector_arg(ctx, args[0], f"{name}()")
        if name == "clamp":
            return fn.clamp(
                v, _scalar_arg(ctx, args[1], "clamp()'s min"), _scalar_arg(ctx, args[2], "clamp()'s max")
            )
        bound = _scalar_arg(ctx, args[1], f"{name}()'s bound")
        return fn.clamp(v, bound, None) if name == "clamp_min" else fn.clamp(v, None, bound)
    if name == "time":
        return Scalar(ctx.steps.astype(np.float64) / 1000.0)
    if name == "timestamp":
        return fn.timestamp_of(_vector_arg(ctx, args[0], "timestamp()"), ctx.steps)
    if name == "vector":
        return fn.vector_of(Scalar(_scalar_arg(ctx, args[0], "vector()")))
    if name == "scalar":
        return fn.scalar_of(_vector_arg(ctx, args[0], "scalar()"), ctx.n)
    if name == "absent":
        v = _vector_arg(ctx, args[0], "absent()")
        present = np.zeros(ctx.n, dtype=bool)
        for s in v.series:
            present |= s.present
        inner = args[0]
        while isinstance(inner, pp.ParenExpr):
            inner = inner.expr
        labels = fn.absent_labels(matchers_of(inner)) if isinstance(inner, pp.VectorSelector) else {}
        return Vector([Series(labels, np.ones(ctx.n), ~present)] if (~present).any() else [])
    if name == "absent_over_time":
        m = _matrix_arg(ctx, args[0])
        present = np.zeros(ctx.n, dtype=bool)
        for rs in m.series:
            i0 = np.searchsorted(rs.ts, m.lo, side="left")
            i1 = np.searchsorted(rs.ts, m.hi, side="right")
            present |= i1 > i0
        labels = fn.absent_labels(matchers_of(m.selector)) if m.selector is not None else {}
        return Vector([Series(labels, np.ones(ctx.n), ~present)] if (~present).any() else [])
    if name == "label_replace":
        v = _vector_arg(ctx, args[0], "label_replace()")
        dst, repl, src, regex = (_string_arg(a, "label_replace()") for a in args[1:5])
        return fn.label_replace(v, dst, repl, src, regex)
    if name == "label_join":
        v = _vector_arg(ctx, args[0], "label_join()")
        strs = [_string_arg(a, "label_join()") for a in args[1:]]
        return fn.label_join(v, strs[0], strs[1], strs[2:])
    if name in ("sort", "sort_desc"):
        # Ordering is applied when an instant query's result is rendered.
        return _vector_arg(ctx, args[0], f"{name}()")
    if name == "histogram_quantile":
        phi = _scalar_arg(ctx, args[0], "histogram_quantile()'s quantile")
        return fn.histogram_quantile(phi, _vector_arg(ctx, args[1], "histogram_quantile()"))
    raise PromQLError(f"unsupported function {name}() in the embedded PromQL engine")


def evaluate(ctx: EvalContext, node: Any) -> Value:
    if isinstance(node, pp.NumberLiteral):
        return Scalar(np.full(ctx.n, float(node.val)))
    if isinstance(node, pp.StringLiteral):
        return StringValue(str(node.val))
    if isinstance(node, pp.ParenExpr):
        return evaluate(ctx, node.expr)
    if isinstance(node, pp.VectorSelector):
        return select_vector(ctx, node)
    if isinstance(node, pp.MatrixSelector):
        return select_matrix(ctx, node)
    if isinstance(node, pp.SubqueryExpr):
        return _subquery(ctx, node)
    if isinstance(node, pp.UnaryExpr):
        v = evaluate(ctx, node.expr)
        if isinstance(v, Scalar):
            return Scalar(-v.vals)
        if isinstance(v, Vector):
            return fn.map_values(v, np.negative)
        raise PromQLError("unary minus needs a scalar or an instant vector")
    if isinstance(node, pp.Call):
        return _call(ctx, node)
    if isinstance(node, pp.AggregateExpr):
        op = _op(node.op)
        v = _vector_arg(ctx, node.expr, f"{op}()")
        param: Any = None
        if op in ("topk", "bottomk", "quantile"):
            param = _scalar_arg(ctx, node.param, f"{op}()'s parameter")
        elif op == "count_values":
            param = _string_arg(node.param, "count_values()'s label")
        return aggregate(op, v, node.modifier, param, ctx.n)
    if isinstance(node, pp.BinaryExpr):
        op = _op(node.op)
        lhs = evaluate(ctx, node.lhs)
        rhs = evaluate(ctx, node.rhs)
        if isinstance(lhs, (Matrix, StringValue)) or isinstance(rhs, (Matrix, StringValue)):
            raise PromQLError(f"binary operator {op!r} needs scalars or instant vectors")
        return binary(op, lhs, rhs, node.modifier, ctx.n)
    raise PromQLError(f"unsupported PromQL construct {type(node).__name__}")


def check_unique(v: Vector) -> None:
    seen: dict[Any, np.ndarray] = {}
    for s in v.series:
        sig = labels_sig(s.labels)
        prev = seen.get(sig)
        if prev is not None and (prev & s.present).any():
            raise PromQLError("vector cannot contain metrics with the same labelset", "execution")
        seen[sig] = s.present if prev is None else prev | s.present
