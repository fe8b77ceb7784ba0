"""The vectorised least-squares fit does exactly the float operations of the scalar reference."""

from __future__ import annotations

import math

import numpy as np

from labkit.lgtm.metrics.promql.regression import linear_regression, regression_rows


def _same(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def test_rows_match_the_scalar_fit_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    windows = []
    for r in range(300):
        n = int(rng.integers(2, 40))
        ts = np.sort(rng.choice(200_000, n, replace=False)).astype(np.int64) * 15 + 1_700_000_000_000
        vals = rng.normal(0, 1e4, n) if r % 4 else np.full(n, 7.5)  # every 4th window constant
        if r % 11 == 0:
            vals[0] = math.inf
        windows.append((ts, vals))
    lens = np.array([len(t) for t, _ in windows])
    ts2 = np.zeros((len(windows), lens.max()), dtype=np.int64)
    vals2 = np.zeros((len(windows), lens.max()))
    for i, (t, v) in enumerate(windows):
        ts2[i, : len(t)], vals2[i, : len(v)] = t, v
    at = ts2[:, -1] + 30_000
    slope, intercept = regression_rows(ts2, vals2, lens, at)
    for i, (t, v) in enumerate(windows):
        s, b = linear_regression(t, v, int(at[i]))
        assert _same(s, float(slope[i])) and _same(b, float(intercept[i])), i
    constant = [i for i in range(len(windows)) if i % 4 == 0 and i % 11]
    assert all(slope[i] == 0.0 and intercept[i] == 7.5 for i in constant)


def test_a_straight_line_is_recovered() -> None:
    ts = np.arange(0, 300_000, 15_000, dtype=np.int64)
    vals = 2.0 + 0.5 * ts / 1000
    slope, value_at_end = linear_regression(ts, vals, int(ts[-1]))
    assert math.isclose(slope, 0.5) and math.isclose(value_at_end, float(vals[-1]))
