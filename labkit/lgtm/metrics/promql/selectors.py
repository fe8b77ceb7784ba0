"""Vector and matrix selectors: label matching, lookback, staleness, ``offset`` and ``@``."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from labkit.lgtm.metrics.index import MetricIndex, band_queries, is_stale
from labkit.lgtm.metrics.promql.values import Matrix, PromQLError, RangeSeries, Series, Vector

if TYPE_CHECKING:
    from labkit.lgtm.metrics.promql.evaluate import EvalContext

__all__ = ["match_series", "matchers_of", "select_matrix", "select_vector", "selector_times"]


@lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern, re.DOTALL)
    except re.error as exc:
        raise PromQLError(f"invalid regular expression {pattern!r}: {exc}") from exc


def matchers_of(vs: Any) -> list[tuple[str, str, str]]:
    """(name, op, value) triples with the metric name as an ``__name__`` equality matcher."""
    out = []
    if vs.name:
        out.append(("__name__", "=", vs.name))
    if vs.matchers.or_matchers:
        raise PromQLError("unsupported: 'or' inside a label matcher set")
    # MatchOp values carry their compiled regex, so compare by name rather than by hash/equality.
    ops = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~", "MatchOp.NotRe": "!~"}
    for m in vs.matchers.matchers:
        out.append((m.name, ops[str(m.op)], m.value))
    return out


def _matches(labels: dict[str, str], name: str, op: str, value: str) -> bool:
    v = labels.get(name, "")
    if op == "=":
        return v == value
    if op == "!=":
        return v != value
    hit = _regex(value).fullmatch(v) is not None
    return hit if op == "=~" else not hit


def match_series(index: MetricIndex, matchers: list[tuple[str, str, str]]) -> list[int]:
    """Series ids matching every matcher, in label order (Prometheus returns sorted series)."""
    name = next((v for n, op, v in matchers if n == "__name__" and op == "="), None)
    ids = index.ids_for_name(name)
    out = [sid for sid in ids if all(_matches(index.labels[sid], n, op, v) for n, op, v in matchers)]
    out.sort(key=lambda sid: sorted(index.labels[sid].items()))
    return out


def selector_times(ctx: EvalContext, vs: Any) -> np.ndarray:
    """Per step, the time the selector reads at: the step (or the ``@`` time) minus ``offset``."""
    base = ctx.steps if vs.at is None else np.full(len(ctx.steps), ctx.at_ms(vs.at), dtype=np.int64)
    offset = 0 if vs.offset is None else round(vs.offset.total_seconds() * 1000)
    return base - offset


def select_vector(ctx: EvalContext, vs: Any) -> Vector:
    t = selector_times(ctx, vs)
    ids = match_series(ctx.index, matchers_of(vs))
    if not ids:
        return Vector([])
    flat = ctx.index.flat(tuple(ids), drop_stale=False)
    if not len(flat.ts):
        return Vector([])
    # The newest sample at or before t, per series and step, in one search.
    idx = np.searchsorted(flat.key, band_queries(t, len(ids)), side="right") - 1
    valid = idx >= flat.starts[:, None]
    safe = np.where(valid, idx, 0)
    sample_ts = flat.ts[safe]
    vals = flat.vals[safe]
    present = valid & (sample_ts >= t[None, :] - ctx.lookback_ms) & ~is_stale(vals)
    out: list[Series] = []
    for row in np.flatnonzero(present.any(axis=1)):
        out.append(Series(dict(ctx.index.labels[ids[row]]), vals[row], present[row], sample_ts[row]))
    return Vector(out)


def select_matrix(ctx: EvalContext, ms: Any) -> Matrix:
    vs = ms.vector_selector
    hi = selector_times(ctx, vs)
    range_ms = round(ms.range.total_seconds() * 1000)
    lo = hi - range_ms
    ids = match_series(ctx.index, matchers_of(vs))
    flat = ctx.index.flat(tuple(ids), drop_stale=True)
    ends = flat.ends()
    series = [
        RangeSeries(dict(ctx.index.labels[sid]), flat.ts[a:b], flat.vals[a:b])
        for sid, a, b in zip(ids, flat.starts.tolist(), ends.tolist(), strict=True)
    ]
    return Matrix(series, lo, hi, range_ms, selector=vs, flat=flat)
