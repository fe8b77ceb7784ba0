"""The Prometheus HTTP API of the embedded server: shapes, GET/POST, error mapping, remote write."""

from __future__ import annotations

import httpx
import pytest

from labkit.lgtm.metrics.index import STALE_NAN
from labkit.lgtm.metrics.remote_write import encode_write_request
from labkit.lgtm.server import EmbeddedServer

T0 = 1_700_000_000_000  # ms


def _push(
    srv: EmbeddedServer, series: list[tuple[dict[str, str], list[tuple[int, float]]]]
) -> httpx.Response:
    root = srv.urls["mimir"].removesuffix("/prometheus")
    return httpx.post(
        root + "/api/v1/push",
        content=encode_write_request(series),
        headers={"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"},
    )


@pytest.fixture
def loaded(server: EmbeddedServer) -> EmbeddedServer:
    series = [
        (
            {"__name__": "req_total", "job": "api", "code": code},
            [(T0 + i * 15_000, i * mult) for i in range(41)],
        )
        for code, mult in (("200", 4.0), ("500", 1.0))
    ]
    series.append(
        ({"__name__": "up", "job": "api"}, [(T0, 1.0), (T0 + 15_000, 1.0), (T0 + 30_000, STALE_NAN)])
    )
    r = _push(server, series)
    assert r.status_code == 204, r.text
    return server


def _api(srv: EmbeddedServer, prefix: str = "/prometheus") -> str:
    return srv.urls["mimir"].removesuffix("/prometheus") + prefix + "/api/v1"


@pytest.mark.parametrize("prefix", ["/prometheus", ""])
def test_instant_query_shape_get_and_post(loaded: EmbeddedServer, prefix: str) -> None:
    params = {"query": 'sum by (code) (rate(req_total{code="500"}[5m]))', "time": str((T0 + 600_000) / 1000)}
    for r in (
        httpx.get(_api(loaded, prefix) + "/query", params=params),
        httpx.post(_api(loaded, prefix) + "/query", data=params),
    ):
        assert r.status_code == 200
        body = r.json()
        assert body == {
            "status": "success",
            "data": {
                "resultType": "vector",
                "result": [
                    {"metric": {"code": "500"}, "value": [(T0 + 600_000) / 1000, "0.06666666666666667"]}
                ],
            },
        }


def test_range_query_shape(loaded: EmbeddedServer) -> None:
    params = {"query": "req_total", "start": T0 / 1000 + 60, "end": T0 / 1000 + 120.5, "step": "30s"}
    body = httpx.get(_api(loaded) + "/query_range", params=params).json()
    assert body["status"] == "success"
    assert body["data"]["resultType"] == "matrix"
    first = body["data"]["result"][0]
    assert first["metric"] == {"__name__": "req_total", "code": "200", "job": "api"}
    assert first["values"] == [[T0 // 1000 + 60, "16"], [T0 // 1000 + 90, "24"], [T0 // 1000 + 120, "32"]]


def test_scalar_and_string_results(loaded: EmbeddedServer) -> None:
    assert httpx.get(_api(loaded) + "/query", params={"query": "1 + 2", "time": "100"}).json()["data"] == {
        "resultType": "scalar",
        "result": [100, "3"],
    }
    assert httpx.get(_api(loaded) + "/query", params={"query": '"hi"', "time": "100.5"}).json()["data"] == {
        "resultType": "string",
        "result": [100.5, "hi"],
    }


def test_stale_marker_ends_the_series(loaded: EmbeddedServer) -> None:
    at = lambda ms: httpx.get(_api(loaded) + "/query", params={"query": "up", "time": ms / 1000}).json()  # noqa: E731
    assert len(at(T0 + 20_000)["data"]["result"]) == 1
    # Within the 5 m lookback of the last real sample, but after the stale marker: gone.
    assert at(T0 + 40_000)["data"]["result"] == []


def test_metadata_endpoints(loaded: EmbeddedServer) -> None:
    api = _api(loaded)
    assert httpx.get(api + "/labels").json()["data"] == ["__name__", "code", "job"]
    assert httpx.get(api + "/label/__name__/values").json()["data"] == ["req_total", "up"]
    assert httpx.get(api + "/label/code/values", params={"match[]": "req_total"}).json()["data"] == [
        "200",
        "500",
    ]
    series = httpx.post(api + "/series", data={"match[]": 'req_total{code="500"}'}).json()["data"]
    assert series == [{"__name__": "req_total", "code": "500", "job": "api"}]
    late = httpx.get(api + "/series", params={"match[]": "up", "start": T0 / 1000 + 3600}).json()["data"]
    assert late == []


@pytest.mark.parametrize(
    ("params", "status", "error_type", "fragment"),
    [
        ({"query": "sum("}, 400, "bad_data", "parse error"),
        ({}, 400, "bad_data", "query"),
        ({"query": "holt_winters(req_total[5m], 0.5, 0.5)"}, 400, "bad_data", "holt_winters"),
        ({"query": "up", "time": "yesterday"}, 400, "bad_data", "time"),
        (
            {"query": 'label_replace(req_total, "code", "", "code", ".*")', "time": str(T0 / 1000 + 60)},
            422,
            "execution",
            "same labelset",
        ),
        (
            {"query": "req_total + on(job) req_total", "time": str(T0 / 1000 + 60)},
            422,
            "execution",
            "duplicate",
        ),
        ({"query": "req_total", "timeout": "0s"}, 503, "timeout", "timed out"),
    ],
)
def test_instant_query_errors(
    loaded: EmbeddedServer, params: dict, status: int, error_type: str, fragment: str
) -> None:
    r = httpx.get(_api(loaded) + "/query", params=params)
    assert r.status_code == status
    body = r.json()
    assert body["status"] == "error"
    assert body["errorType"] == error_type
    assert fragment in body["error"]


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"query": "up", "start": "10", "end": "5", "step": "1"}, "end"),
        ({"query": "up", "start": "0", "end": "100000", "step": "1"}, "11,000"),
        ({"query": "up", "start": "0", "end": "10", "step": "0"}, "step"),
        ({"query": "up[5m]", "start": "0", "end": "10", "step": "1"}, "range vector"),
        ({"query": "up", "start": "0", "end": "10"}, "step"),
    ],
)
def test_range_query_errors(loaded: EmbeddedServer, params: dict, fragment: str) -> None:
    r = httpx.get(_api(loaded) + "/query_range", params=params)
    assert r.status_code == 400
    assert r.json()["errorType"] == "bad_data"
    assert fragment in r.json()["error"]


def test_remote_write_rejects_bad_bodies(server: EmbeddedServer) -> None:
    root = server.urls["mimir"].removesuffix("/prometheus")
    r = httpx.post(root + "/api/v1/push", content=b"not snappy", headers={"Content-Encoding": "snappy"})
    assert r.status_code == 400
    assert "snappy" in r.text
    nameless = encode_write_request([({"job": "x"}, [(T0, 1.0)])])
    r = httpx.post(root + "/api/v1/push", content=nameless, headers={"Content-Encoding": "snappy"})
    assert r.status_code == 400
    assert "__name__" in r.text
    assert httpx.get(_api(server) + "/labels").json()["data"] == []
