"""topk/bottomk ties and deriv/predict_linear against real Prometheus, on data built to make them matter.

Ties are where a sorted prefix and Prometheus's heap disagree: equal values before a
larger one, e.g. [1, 1, 2] with k=2 keeps the *second* 1. Each series is written in a
known order (Prometheus reads a selector's series in creation order).
"""

from __future__ import annotations

import math
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "promql"))

from promql_reference import compare, prometheus_binary, push, running_prometheus

from labkit.lgtm.testing import running_server

pytestmark = pytest.mark.prometheus

# value patterns per step, one list per series in creation order (a..f)
PATTERNS = [
    [1, 1, 2, 3, 5, 5, 0],
    [1, 2, 2, 3, 5, 1, 0],
    [2, 1, 2, 3, 1, 5, 0],
    [1, 1, 1, 3, 5, 5, 1],
    [1, 1, 2, 9, 0, 5, 0],
    [0, 2, 1, 3, 5, 5, 0],
]
STEP_MS = 60_000
QUERIES = [
    "topk(2, tie)",
    "topk(3, tie)",
    "topk(1, tie)",
    "bottomk(2, tie)",
    "bottomk(4, tie)",
    "topk by (grp) (1, tie)",
    "bottomk by (grp) (2, tie)",
    "topk(2, last_over_time(tie[2m]))",
    "deriv(ramp[5m])",
    "deriv(ramp[90s])",
    "predict_linear(ramp[5m], 300)",
    "predict_linear(ramp[3m], 0)",
    "predict_linear(ramp[10m] offset 2m, 3600)",
    "deriv(flat[5m])",
    "predict_linear(flat[5m], 60)",
]


def _data(t0: int) -> list[tuple[dict[str, str], list[tuple[int, float]]]]:
    data = []
    for n, pattern in enumerate(PATTERNS):
        labels = {"__name__": "tie", "s": "abcdef"[n], "grp": "x" if n % 2 else "y"}
        # each value held for 5 steps of 12 s so instant queries see it
        points = [(t0 + k * STEP_MS + j * 12_000, float(v)) for k, v in enumerate(pattern) for j in range(5)]
        data.append((labels, points))
    ramp = [(t0 + j * 15_000, 3.0 + 0.25 * j + (0.7 if j % 3 == 0 else -0.2)) for j in range(40)]
    data.append(({"__name__": "ramp", "job": "disk"}, ramp))
    data.append(({"__name__": "flat", "job": "disk"}, [(t0 + j * 15_000, 4.5) for j in range(40)]))
    return data


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, int]]:
    if prometheus_binary() is None:
        pytest.skip("the prometheus binary is not installed (Debian: apt-get install prometheus)")
    t0 = (int(time.time() * 1000) // 60_000) * 60_000 - 20 * 60_000
    data = _data(t0)
    with (
        running_prometheus(tmp_path_factory.mktemp("prom-ties")) as prom,
        running_server(tmp_path_factory.mktemp("emb-ties")) as srv,
    ):
        mimir = srv.urls["mimir"]
        push(prom + "/api/v1/write", data)
        push(mimir.removesuffix("/prometheus") + "/api/v1/push", data)
        yield prom, mimir, t0


def _both(pair: tuple[str, str, int], path: str, params: dict[str, Any]) -> tuple[Any, Any]:
    prom, emb, _ = pair
    p = httpx.get(f"{prom}/api/v1/{path}", params=params, timeout=30).json()
    e = httpx.get(f"{emb}/api/v1/{path}", params=params, timeout=30).json()
    assert p["status"] == "success", p
    assert e["status"] == "success", e
    return p["data"], e["data"]


@pytest.mark.parametrize("query", QUERIES)
def test_instant_answers_equal_prometheus(pair: tuple[str, str, int], query: str) -> None:
    t0 = pair[2]
    problems = []
    for k in range(len(PATTERNS[0])):
        t = (t0 + k * STEP_MS + 30_000) / 1000
        expected, actual = _both(pair, "query", {"query": query, "time": t})
        problems += [f"t0+{k}m: {d}" for d in compare(expected, actual)]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("query", QUERIES)
def test_range_answers_equal_prometheus(pair: tuple[str, str, int], query: str) -> None:
    t0 = pair[2] / 1000
    params = {"query": query, "start": t0, "end": t0 + 7 * 60, "step": 20}
    expected, actual = _both(pair, "query_range", params)
    assert not compare(expected, actual), compare(expected, actual)


def test_the_tie_cases_really_differ_from_a_sorted_prefix(pair: tuple[str, str, int]) -> None:
    # At step 0 the values are a=1 b=1 c=2 d=1 e=1 f=0: topk(2) keeps c and one of the 1s.
    # A sorted prefix (ties by label order) would keep a; Prometheus's heap keeps another.
    t = (pair[2] + 30_000) / 1000
    expected, actual = _both(pair, "query", {"query": "topk(2, tie)", "time": t})
    kept = sorted(r["metric"]["s"] for r in expected["result"])
    assert "c" in kept and kept != ["a", "c"]
    assert sorted(r["metric"]["s"] for r in actual["result"]) == kept


def test_predict_linear_uses_the_evaluation_time_as_intercept(pair: tuple[str, str, int]) -> None:
    t = (pair[2] + 8 * 60_000) / 1000
    _, now = _both(pair, "query", {"query": "predict_linear(ramp[5m], 0)", "time": t})
    _, later = _both(pair, "query", {"query": "predict_linear(ramp[5m], 600)", "time": t})
    _, slope = _both(pair, "query", {"query": "deriv(ramp[5m])", "time": t})
    v0, v600, d = (float(x["result"][0]["value"][1]) for x in (now, later, slope))
    assert math.isclose(v600 - v0, 600 * d, rel_tol=1e-9)
    assert 0.015 < d < 0.018  # 0.25 per 15 s, give or take the noise
