"""Functions over range vectors (``rate``, ``*_over_time``, ...), vectorised across steps.

Each window is an index range ``[i0, i1)`` into a series' sorted samples, found with
``searchsorted``; sums, counts and reset corrections come from prefix sums so one
numpy pass covers every step. Windows are closed at both ends, as in Prometheus 2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from labkit.lgtm.metrics.index import FlatSeries, band_queries
from labkit.lgtm.metrics.promql.values import Matrix, PromQLError, Series, Vector

__all__ = ["RANGE_FUNCTIONS", "call_range_function"]


@dataclass
class _Flat:
    """Every series of a matrix in one sorted array, so one numpy pass covers all series and steps.

    Sample times are shifted into a disjoint band per series (``key``), which turns the
    per-series window search into a single ``searchsorted``; windows never cross bands.
    """

    ts: np.ndarray  # raw sample times (ms)
    vals: np.ndarray
    starts: np.ndarray  # first index of each series
    i0: np.ndarray  # (series, steps) window start index, inclusive
    i1: np.ndarray  # (series, steps) window end index, exclusive

    @property
    def series_start(self) -> np.ndarray:
        flag = np.zeros(len(self.vals), dtype=bool)
        flag[self.starts[self.starts < len(self.vals)]] = True
        return flag


def _flatten(m: Matrix) -> _Flat:
    flat = m.flat if m.flat is not None else FlatSeries.of([(rs.ts, rs.vals) for rs in m.series])
    n = len(m.series)
    i0 = np.searchsorted(flat.key, band_queries(m.lo, n), side="left")
    i1 = np.searchsorted(flat.key, band_queries(m.hi, n), side="right")
    # Keep only the samples some window reads (a cached flat holds whole histories), so the
    # prefix sums and tables below cost what the query touches, not what is stored.
    first = i0.min(axis=1, initial=np.iinfo(np.int64).max) if n else np.zeros(0, dtype=np.int64)
    last = i1.max(axis=1, initial=0) if n else np.zeros(0, dtype=np.int64)
    first = np.minimum(first, last)
    lens = last - first
    starts = (np.cumsum(lens) - lens).astype(np.int64)
    gather = np.arange(int(lens.sum()), dtype=np.int64) + np.repeat(first - starts, lens)
    shift = (starts - first)[:, None]
    return _Flat(flat.ts[gather], flat.vals[gather], starts, i0 + shift, i1 + shift)


def _prefix(x: np.ndarray) -> np.ndarray:
    out = np.empty(len(x) + 1, dtype=np.float64)
    out[0] = 0.0
    np.cumsum(x, out=out[1:])
    return out


def _pair_flags(f: _Flat, values: np.ndarray) -> np.ndarray:
    """``values[i]`` for each sample that has a predecessor in the same series, else 0."""
    out = np.zeros(len(f.vals))
    out[1:] = values
    out[f.series_start] = 0.0
    return out


def _extrapolated(f: _Flat, m: Matrix, is_counter: bool, is_rate: bool) -> tuple[np.ndarray, np.ndarray]:
    n = f.i1 - f.i0
    ok = n >= 2
    first = np.where(ok, f.i0, 0)
    last = np.where(ok, f.i1 - 1, 0)
    v, t = f.vals, f.ts
    result = v[last] - v[first]
    if is_counter and len(v) > 1:
        # A drop means the counter restarted from zero: add back the value before the drop.
        cs = _prefix(_pair_flags(f, np.where(v[1:] < v[:-1], v[:-1], 0.0)))
        result = result + (cs[last + 1] - cs[first + 1])
    with np.errstate(all="ignore"):
        to_start = (t[first] - m.lo[None, :]) / 1000.0
        to_end = (m.hi[None, :] - t[last]) / 1000.0
        sampled = (t[last] - t[first]) / 1000.0
        avg_between = sampled / np.where(ok, n - 1, 1)
        if is_counter:
            to_zero = sampled * (v[first] / result)
            use = (result > 0) & (v[first] >= 0) & (to_zero < to_start)
            to_start = np.where(use, to_zero, to_start)
        threshold = avg_between * 1.1
        interval = sampled.copy()
        interval += np.where(to_start < threshold, to_start, avg_between / 2)
        interval += np.where(to_end < threshold, to_end, avg_between / 2)
        result = result * (interval / sampled)
        if is_rate:
            result = result / (m.range_ms / 1000.0)
    return result, ok


def _instant(f: _Flat, is_rate: bool) -> tuple[np.ndarray, np.ndarray]:
    ok = (f.i1 - f.i0) >= 2
    last = np.where(ok, f.i1 - 1, 1)
    prev = last - 1
    v, t = f.vals, f.ts
    with np.errstate(all="ignore"):
        if is_rate:
            diff = np.where(v[last] < v[prev], v[last], v[last] - v[prev])
            interval = (t[last] - t[prev]) / 1000.0
            ok = ok & (interval != 0)
            result = diff / interval
        else:
            result = v[last] - v[prev]
    return result, ok


def _window_sum(f: _Flat, x: np.ndarray) -> np.ndarray:
    if np.isfinite(x).all():
        cs = _prefix(x)
        return cs[f.i1] - cs[f.i0]
    # NaN or Inf would poison a prefix sum for every later window: sum each window directly.
    out = np.zeros(f.i0.shape)
    for idx in np.ndindex(f.i0.shape):
        a, b = f.i0[idx], f.i1[idx]
        if b > a:
            out[idx] = x[a:b].sum()
    return out


def _sparse_table(v: np.ndarray, fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> list[np.ndarray]:
    table = [v]
    k = 1
    while (1 << k) <= len(v):
        prev = table[-1]
        half = 1 << (k - 1)
        table.append(fn(prev[: len(prev) - half], prev[half:]))
        k += 1
    return table


def _range_extreme(f: _Flat, is_max: bool) -> tuple[np.ndarray, np.ndarray]:
    n = f.i1 - f.i0
    ok = n > 0
    # Prometheus lets any number replace a NaN; fmax/fmin do the same.
    fn = np.fmax if is_max else np.fmin
    table = _sparse_table(f.vals, fn)
    k = np.floor(np.log2(np.where(ok, n, 1))).astype(np.int64)
    start = np.where(ok, f.i0, 0)
    stop = np.where(ok, f.i1, 1)
    out = np.empty(f.i0.shape)
    for level in np.unique(k):
        sel = k == level
        row = table[int(level)]
        out[sel] = fn(row[start[sel]], row[np.maximum(stop[sel] - (1 << int(level)), 0)])
    return out, ok


def _stdvar(f: _Flat) -> tuple[np.ndarray, np.ndarray]:
    n = f.i1 - f.i0
    ok = n > 0
    # Shift each series by its mean before the prefix sums to keep the variance precise.
    ends = np.append(f.starts[1:], len(f.vals))
    lens = ends - f.starts
    totals = _prefix(f.vals)
    with np.errstate(all="ignore"):
        shift = np.repeat((totals[ends] - totals[f.starts]) / lens, lens)
    x = np.where(np.isfinite(shift), f.vals - shift, f.vals)
    with np.errstate(all="ignore"):
        cnt = np.where(ok, n, 1)
        mean = _window_sum(f, x) / cnt
        var = _window_sum(f, x * x) / cnt - mean * mean
    # Prefix sums leave rounding residue where the true variance is exactly zero.
    lo, _ = _range_extreme(f, is_max=False)
    hi, _ = _range_extreme(f, is_max=True)
    var = np.where(lo == hi, 0.0, var)
    return np.maximum(var, 0.0), ok


def _quantile(phi: float, values: np.ndarray) -> float:
    if np.isnan(phi):
        return float("nan")
    if phi < 0:
        return float("-inf")
    if phi > 1:
        return float("inf")
    values = np.sort(values)
    n = len(values)
    rank = phi * (n - 1)
    lower = max(0, int(np.floor(rank)))
    upper = min(n - 1, lower + 1)
    weight = rank - np.floor(rank)
    return float(values[lower] * (1 - weight) + values[upper] * weight)


def _apply(name: str, f: _Flat, m: Matrix, params: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    if name in ("rate", "increase", "delta"):
        return _extrapolated(f, m, is_counter=name != "delta", is_rate=name == "rate")
    if name in ("irate", "idelta"):
        return _instant(f, is_rate=name == "irate")
    n = f.i1 - f.i0
    ok = n > 0
    if name == "count_over_time":
        return n.astype(np.float64), ok
    if name in ("sum_over_time", "avg_over_time"):
        s = _window_sum(f, f.vals)
        if name == "sum_over_time":
            return s, ok
        with np.errstate(all="ignore"):
            return s / np.where(ok, n, 1), ok
    if name in ("min_over_time", "max_over_time"):
        return _range_extreme(f, name == "max_over_time")
    if name == "last_over_time":
        return f.vals[np.where(ok, f.i1 - 1, 0)], ok
    if name in ("stddev_over_time", "stdvar_over_time"):
        var, ok = _stdvar(f)
        return (np.sqrt(var) if name == "stddev_over_time" else var), ok
    if name in ("changes", "resets"):
        v = f.vals
        if name == "changes":
            flags = (v[1:] != v[:-1]) & ~(np.isnan(v[1:]) & np.isnan(v[:-1]))
        else:
            flags = v[1:] < v[:-1]
        cs = _prefix(_pair_flags(f, flags.astype(np.float64)))
        # Pairs inside the window: indices i0+1 .. i1-1.
        return np.where(ok, cs[np.maximum(f.i1, 1)] - cs[np.minimum(f.i0 + 1, len(v))], 0.0), ok
    if name == "quantile_over_time":
        out = np.full(f.i0.shape, np.nan)
        phi = params[0]
        for s, k in zip(*np.nonzero(ok), strict=True):
            out[s, k] = _quantile(float(phi[k]), f.vals[f.i0[s, k] : f.i1[s, k]])
        return out, ok
    raise PromQLError(f"unsupported function {name}()")


RANGE_FUNCTIONS = {
    "rate",
    "increase",
    "delta",
    "irate",
    "idelta",
    "sum_over_time",
    "count_over_time",
    "avg_over_time",
    "min_over_time",
    "max_over_time",
    "last_over_time",
    "stddev_over_time",
    "stdvar_over_time",
    "changes",
    "resets",
    "quantile_over_time",
}


def call_range_function(name: str, m: Matrix, params: list[np.ndarray]) -> Vector:
    if not m.series:
        return Vector([])
    f = _flatten(m)
    if not len(f.vals):  # no window holds a sample
        return Vector([])
    values, oks = _apply(name, f, m, params)
    out = []
    for rs, vals, ok in zip(m.series, values, oks, strict=True):
        if not ok.any():
            continue
        labels = dict(rs.labels)
        # last_over_time keeps the metric name; every other range function drops it.
        if name != "last_over_time":
            labels.pop("__name__", None)
        out.append(Series(labels, np.asarray(vals, dtype=np.float64), ok))
    return Vector(out)
