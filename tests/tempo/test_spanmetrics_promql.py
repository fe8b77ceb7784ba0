"""Span metrics end to end: OTLP/HTTP batches over (simulated) time, read back with PromQL.

The generator stamps each batch with its ingest time; the test moves that clock
15 s per batch so ``rate()`` and ``histogram_quantile()`` have a real history to work on.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server
from labkit.lgtm.traces import spanmetrics

STEP_MS = 15_000
BATCHES = 11
FAST, SLOW = 20, 10  # spans per batch: 5 ms (bucket le=0.008) and 100 ms (bucket le=0.128)


def _batch(k: int) -> bytes:
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    kv = rs.resource.attributes.add()
    kv.key, kv.value.string_value = "service.name", "web"
    spans = rs.scope_spans.add().spans
    start = 1_700_000_000_000_000_000 + k * 10**9
    for i in range(FAST + SLOW):
        span = spans.add()
        span.trace_id = (k * 100 + i + 1).to_bytes(16, "big")
        span.span_id = (i + 1).to_bytes(8, "big")
        span.name = "GET /"
        span.kind = 2  # SERVER, no parent: no service-graph half
        span.start_time_unix_nano = start
        span.end_time_unix_nano = start + (5 if i < FAST else 100) * 1_000_000
    return req.SerializeToString()


@pytest.fixture
def fed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[EmbeddedServer, int]]:
    t0 = (int(time.time()) // 60 - 60) * 60_000  # an hour ago, minute-aligned
    with running_server(tmp_path) as srv:
        for k in range(BATCHES):
            monkeypatch.setattr(spanmetrics, "wall_clock_ms", lambda k=k: t0 + k * STEP_MS)
            r = httpx.post(
                srv.urls["otlp_http"] + "/v1/traces",
                content=_batch(k),
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert r.status_code == 200, r.text
        yield srv, t0


def _query(srv: EmbeddedServer, query: str, at_ms: int) -> list[dict[str, object]]:
    r = httpx.get(srv.urls["mimir"] + "/api/v1/query", params={"query": query, "time": str(at_ms / 1000)})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success" and body["data"]["resultType"] == "vector"
    return body["data"]["result"]  # type: ignore[no-any-return]


def test_counter_is_cumulative_one_sample_per_batch(fed: tuple[EmbeddedServer, int]) -> None:
    srv, t0 = fed
    rows = srv.db.query(
        "SELECT p.ts_ms, p.value FROM prom_samples p JOIN prom_series s ON s.id = p.series_id "
        "WHERE s.name = 'traces_spanmetrics_calls_total' ORDER BY p.ts_ms"
    )
    per_batch = FAST + SLOW
    expected = [(t0 - 1, 0.0)] + [(t0 + k * STEP_MS, float(per_batch * (k + 1))) for k in range(BATCHES)]
    assert rows == expected
    last = t0 + (BATCHES - 1) * STEP_MS
    [sample] = _query(srv, "traces_spanmetrics_calls_total", last)
    assert sample["metric"] == {
        "__name__": "traces_spanmetrics_calls_total",
        "service": "web",
        "span_kind": "SPAN_KIND_SERVER",
        "span_name": "GET /",
        "status_code": "STATUS_CODE_UNSET",
    }
    assert float(sample["value"][1]) == per_batch * BATCHES  # type: ignore[index]


def test_rate_of_calls(fed: tuple[EmbeddedServer, int]) -> None:
    srv, t0 = fed
    # Half a step past the last batch: four samples in the window, extrapolated at both ends.
    at = t0 + (BATCHES - 1) * STEP_MS + STEP_MS // 2
    [sample] = _query(srv, "sum(rate(traces_spanmetrics_calls_total[1m]))", at)
    assert float(sample["value"][1]) == pytest.approx((FAST + SLOW) / (STEP_MS / 1000))  # type: ignore[index]


def test_latency_quantile_from_buckets(fed: tuple[EmbeddedServer, int]) -> None:
    srv, t0 = fed
    at = t0 + (BATCHES - 1) * STEP_MS + STEP_MS // 2
    query = "histogram_quantile(0.95, sum by (le) (rate(traces_spanmetrics_latency_bucket[5m])))"
    [sample] = _query(srv, query, at)
    # rank 0.95 * 30 = 28.5 falls in (0.064, 0.128] holding spans 21..30: linear inside the bucket.
    rank = 0.95 * (FAST + SLOW)
    expected = 0.064 + (0.128 - 0.064) * (rank - FAST) / SLOW
    assert float(sample["value"][1]) == pytest.approx(expected)  # type: ignore[index]
    [p50] = _query(srv, query.replace("0.95", "0.5"), at)
    assert 0.004 < float(p50["value"][1]) <= 0.008  # type: ignore[index]
