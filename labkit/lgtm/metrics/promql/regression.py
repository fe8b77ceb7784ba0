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

__all__ = ["REGRESSION_FUNCTIONS", "call_regression", "linear_regression"]

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


def call_regression(name: str, m: Matrix, steps: np.ndarray, horizon_s: np.ndarray | None = None) -> Vector:
    """``deriv(m)`` or ``predict_linear(m, horizon_s)`` at each step; drops the metric name."""
    out = []
    for rs in m.series:
        i0 = np.searchsorted(rs.ts, m.lo, side="left")
        i1 = np.searchsorted(rs.ts, m.hi, side="right")
        vals = np.full(len(steps), np.nan)
        present = (i1 - i0) >= 2
        for k in np.flatnonzero(present).tolist():
            ts, ys = rs.ts[i0[k] : i1[k]], rs.vals[i0[k] : i1[k]]
            if name == "deriv":
                vals[k] = linear_regression(ts, ys, int(ts[0]))[0]
            else:
                assert horizon_s is not None
                slope, intercept = linear_regression(ts, ys, int(steps[k]))
                vals[k] = slope * float(horizon_s[k]) + intercept
        if present.any():
            labels = {k: v for k, v in rs.labels.items() if k != "__name__"}
            out.append(Series(labels, vals, present))
    return Vector(out)
