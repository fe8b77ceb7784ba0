"""``deriv()`` and ``predict_linear()``: least-squares fits over each window, as Prometheus computes them.

Prometheus's ``linearRegression`` sums x, y, xy and x² with Kahan-Neumaier compensation,
where x is seconds from an *intercept time*: the window's first sample for ``deriv``
(only the slope is used; the shift keeps the sums small) and the evaluation time for
``predict_linear``, whose answer is ``slope * t + intercept``. A window whose values are
all equal has slope 0 (NaN for an infinite constant). Windows need two samples. The sums
run in the same order, in Python floats, so results match Prometheus to the last bit.
"""

from __future__ import annotations

import math

import numpy as np

from labkit.lgtm.metrics.promql.values import Matrix, Series, Vector

__all__ = ["REGRESSION_FUNCTIONS", "call_regression", "linear_regression", "regression_rows"]

REGRESSION_FUNCTIONS = {"deriv", "predict_linear"}


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    if math.isinf(t):
        c = 0.0
    elif abs(total) >= abs(inc):
        c += (total - t) + inc
    else:
        c += (inc - t) + total
    return t, c


def linear_regression(ts: np.ndarray, vals: np.ndarray, intercept_ms: int) -> tuple[float, float]:
    """(slope per second, value at ``intercept_ms``) of the least-squares line through the samples."""
    init_y = float(vals[0])
    const_y = True
    n = sum_x = c_x = sum_y = c_y = sum_xy = c_xy = sum_x2 = c_x2 = 0.0
    for i, (t, y) in enumerate(zip(ts.tolist(), vals.tolist(), strict=True)):
        if const_y and i > 0 and y != init_y:
            const_y = False
        n += 1.0
        x = (t - intercept_ms) / 1e3
        sum_x, c_x = _kahan_inc(x, sum_x, c_x)
        sum_y, c_y = _kahan_inc(y, sum_y, c_y)
        sum_xy, c_xy = _kahan_inc(x * y, sum_xy, c_xy)
        sum_x2, c_x2 = _kahan_inc(x * x, sum_x2, c_x2)
    if const_y:
        if math.isinf(init_y):
            return math.nan, math.nan
        return 0.0, init_y
    sum_x, sum_y, sum_xy, sum_x2 = sum_x + c_x, sum_y + c_y, sum_xy + c_xy, sum_x2 + c_x2
    cov_xy = sum_xy - sum_x * sum_y / n
    var_x = sum_x2 - sum_x * sum_x / n
    with np.errstate(all="ignore"):
        slope = float(np.float64(cov_xy) / np.float64(var_x))  # Go: x/0 is +-Inf or NaN, not an error
    intercept = sum_y / n - slope * sum_x / n
    return slope, intercept


def _kahan_cols(inc: np.ndarray, total: np.ndarray, c: np.ndarray, live: np.ndarray) -> None:
    """``_kahan_inc`` on many rows at once, in place, only where ``live`` (same float operations)."""
    t = total + inc
    big = np.abs(total) >= np.abs(inc)
    step = np.where(big, (total - t) + inc, (inc - t) + total)
    c[:] = np.where(live, np.where(np.isinf(t), 0.0, c + step), c)
    total[:] = np.where(live, t, total)


def regression_rows(
    ts: np.ndarray, vals: np.ndarray, lens: np.ndarray, intercept_ms: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``linear_regression`` of many windows at once: rows of a (windows, max_len) padded layout.

    The loop runs over sample positions, each step vectorised over windows, so every window
    sees exactly the sequence of float operations of the scalar version.
    """
    rows, width = ts.shape
    # The four sums (x, y, xy, x²) side by side: one numpy pass per sample position.
    totals = np.zeros((4, rows))
    comps = np.zeros((4, rows))
    inc = np.empty((4, rows))
    n = np.zeros(rows)
    init_y = vals[:, 0]
    const_y = np.ones(rows, dtype=bool)
    with np.errstate(all="ignore"):
        for j in range(width):
            live = j < lens
            y = vals[:, j]
            if j > 0:
                const_y &= ~live | (y == init_y)
            n = np.where(live, n + 1.0, n)
            x = (ts[:, j] - intercept_ms) / 1e3
            inc[0], inc[1], inc[2], inc[3] = x, y, x * y, x * x
            _kahan_cols(inc, totals, comps, live)
        sx, sy, sxy, sx2 = totals + comps
        cov_xy = sxy - sx * sy / n
        var_x = sx2 - sx * sx / n
        slope = cov_xy / var_x
        intercept = sy / n - slope * sx / n
    inf_const = const_y & np.isinf(init_y)
    slope = np.where(const_y, np.where(inf_const, np.nan, 0.0), slope)
    intercept = np.where(const_y, np.where(inf_const, np.nan, init_y), intercept)
    return slope, intercept


def call_regression(name: str, m: Matrix, steps: np.ndarray, horizon_s: np.ndarray | None = None) -> Vector:
    """``deriv(m)`` or ``predict_linear(m, horizon_s)`` at each step; drops the metric name."""
    windows: list[tuple[int, int, int, int]] = []  # (series, step, i0, i1)
    bounds = []
    for s, rs in enumerate(m.series):
        i0 = np.searchsorted(rs.ts, m.lo, side="left")
        i1 = np.searchsorted(rs.ts, m.hi, side="right")
        bounds.append((i0, i1))
        for k in np.flatnonzero((i1 - i0) >= 2).tolist():
            windows.append((s, k, int(i0[k]), int(i1[k])))
    if not windows:
        return Vector([])
    lens = np.array([b - a for _, _, a, b in windows], dtype=np.int64)
    width = int(lens.max())
    ts = np.zeros((len(windows), width), dtype=np.int64)
    vals = np.zeros((len(windows), width))
    for row, (s, _, a, b) in enumerate(windows):
        ts[row, : b - a] = m.series[s].ts[a:b]
        vals[row, : b - a] = m.series[s].vals[a:b]
    step_idx = np.array([k for _, k, _, _ in windows], dtype=np.int64)
    intercept_at = ts[:, 0] if name == "deriv" else steps[step_idx]
    slope, intercept = regression_rows(ts, vals, lens, intercept_at)
    if name == "deriv":
        result = slope
    else:
        assert horizon_s is not None
        with np.errstate(all="ignore"):
            result = slope * horizon_s[step_idx] + intercept
    out_vals = [np.full(len(steps), np.nan) for _ in m.series]
    present = [np.zeros(len(steps), dtype=bool) for _ in m.series]
    for row, (s, k, _, _) in enumerate(windows):
        out_vals[s][k] = result[row]
        present[s][k] = True
    out = []
    for s, rs in enumerate(m.series):
        if present[s].any():
            labels = {k: v for k, v in rs.labels.items() if k != "__name__"}
            out.append(Series(labels, out_vals[s], present[s]))
    return Vector(out)
