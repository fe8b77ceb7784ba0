"""The embedded PromQL engine against real Prometheus on the same data (queries.txt)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from promql_reference import compare

pytestmark = pytest.mark.prometheus

QUERIES = [
    line.strip()
    for line in (Path(__file__).parent / "queries.txt").read_text().splitlines()
    if line.strip() and not line.lstrip().startswith("#")
]


def _get(base: str, path: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = httpx.get(f"{base}/api/v1/{path}", params=params, timeout=60)
    return r.status_code, r.json()


def _check(pair: Any, path: str, params: dict[str, Any], ordered: bool) -> list[str]:
    _, prom = _get(pair.prometheus, path, params)
    _, emb = _get(pair.embedded, path, params)
    if prom["status"] == "error":
        if emb["status"] != "error" or emb.get("errorType") != prom.get("errorType"):
            failure = f"{prom.get('errorType')}: {prom.get('error')}"
            return [f"{params}: prometheus failed ({failure}), embedded gave {emb}"]
        return []
    if emb["status"] != "success":
        return [f"{params}: embedded failed: {emb}"]
    return [f"{params}: {d}" for d in compare(prom["data"], emb["data"], ordered=ordered)]


def test_corpus_is_large_enough() -> None:
    assert len(QUERIES) >= 80


@pytest.mark.parametrize("query", QUERIES)
def test_instant_queries_match_prometheus(promql_pair: Any, query: str) -> None:
    ordered = query.startswith(("sort(", "sort_desc("))
    problems: list[str] = []
    for k in range(1, 13):
        t = promql_pair.t0_ms + k * 7 * 60_000 + 30_000
        problems += _check(promql_pair, "query", {"query": query, "time": t / 1000}, ordered)
    assert not problems, "\n".join(problems[:5])


@pytest.mark.parametrize("query", QUERIES)
def test_range_queries_match_prometheus(promql_pair: Any, query: str) -> None:
    t0 = promql_pair.t0_ms / 1000
    ranges = [(t0 + 600, t0 + 4800, 60), (t0 + 1207, t0 + 3000, 30), (t0, t0 + 5400, 137)]
    problems: list[str] = []
    for start, end, step in ranges:
        problems += _check(
            promql_pair, "query_range", {"query": query, "start": start, "end": end, "step": step}, False
        )
    assert not problems, "\n".join(problems[:5])


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("series", {"match[]": "up"}),
        ("series", {"match[]": ['http_requests_total{code="500"}', "target_info"]}),
        ("labels", {}),
        ("labels", {"match[]": "temperature_celsius"}),
        ("label/instance/values", {}),
        ("label/code/values", {"match[]": "http_requests_total"}),
    ],
)
def test_metadata_endpoints_match_prometheus(promql_pair: Any, path: str, params: dict[str, Any]) -> None:
    _, prom = _get(promql_pair.prometheus, path, params)
    _, emb = _get(promql_pair.embedded, path, params)
    assert prom["status"] == emb["status"] == "success"
    key = repr
    assert sorted(map(key, emb["data"])) == sorted(map(key, prom["data"]))
