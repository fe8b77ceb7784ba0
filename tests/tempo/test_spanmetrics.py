"""The metrics-generator: span metrics and service-graph edges, pure and stored."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.db import Database
from labkit.lgtm.traces import spanmetrics
from labkit.lgtm.traces.spanmetrics import (
    LATENCY_BUCKETS,
    SERVICE_GRAPH_BUCKETS,
    EdgeHalf,
    compute_span_metrics,
    generate,
    pair_edges,
)
from labkit.lgtm.traces.store import TRACE_HOOKS, store_traces

T = 1_800_000_000_000_000_000
TRACE = "0af7651916cd43dd8448eb211c80319c"


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": value}}
    return {"key": key, "value": {"stringValue": value}}


def _span(span_id: str, name: str, kind: int, start_ms: int, dur_ms: int, parent: str = "", **kw: Any) -> Any:
    from opentelemetry.proto.trace.v1.trace_pb2 import Span

    s = Span(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(span_id),
        parent_span_id=bytes.fromhex(parent) if parent else b"",
        name=name,
        kind=kind,
        start_time_unix_nano=T + start_ms * 1_000_000,
        end_time_unix_nano=T + (start_ms + dur_ms) * 1_000_000,
    )
    if kw.get("error"):
        s.status.code = 2
    for k, v in kw.get("attrs", {}).items():
        kv = s.attributes.add()
        kv.key = k
        kv.value.string_value = v
    return s


def _request(*services: tuple[str, list[Any]]) -> ExportTraceServiceRequest:
    req = ExportTraceServiceRequest()
    for service, spans in services:
        rs = req.resource_spans.add()
        kv = rs.resource.attributes.add()
        kv.key, kv.value.string_value = "service.name", service
        rs.scope_spans.add().spans.extend(spans)
    return req


def _frontend_checkout(error: bool = False) -> ExportTraceServiceRequest:
    return _request(
        ("frontend", [_span("1111111111111111", "GET /", 2, 0, 100),
                      _span("2222222222222222", "POST", 3, 10, 50, "1111111111111111", error=error)]),
        ("checkout", [_span("3333333333333333", "POST /checkout", 2, 12, 40, "2222222222222222")]),
    )  # fmt: skip


def test_buckets_are_tempos_defaults() -> None:
    assert LATENCY_BUCKETS[0] == 0.002 and LATENCY_BUCKETS[-1] == 16.384 and len(LATENCY_BUCKETS) == 14
    assert SERVICE_GRAPH_BUCKETS == (0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8)


def test_span_metrics_series_and_histogram() -> None:
    deltas, halves, immediate = compute_span_metrics(_frontend_checkout())
    values = {tuple(sorted(k)): v for k, v in deltas.values.items()}
    calls = {
        "__name__": "traces_spanmetrics_calls_total",
        "service": "checkout",
        "span_kind": "SPAN_KIND_SERVER",
        "span_name": "POST /checkout",
        "status_code": "STATUS_CODE_UNSET",
    }
    assert values[tuple(sorted(calls.items()))] == 1
    base = {
        "service": "frontend",
        "span_name": "POST",
        "span_kind": "SPAN_KIND_CLIENT",
        "status_code": "STATUS_CODE_UNSET",
    }

    values = deltas.values

    def get(name: str, **extra: str) -> float:
        return values[tuple(sorted({**base, "__name__": name, **extra}.items()))]

    # 50 ms: above the 0.032 bound, inside 0.064 and every bigger bucket
    assert get("traces_spanmetrics_latency_bucket", le="0.064") == 1
    assert get("traces_spanmetrics_latency_bucket", le="16.384") == 1
    assert get("traces_spanmetrics_latency_bucket", le="+Inf") == 1
    assert get("traces_spanmetrics_latency_bucket", le="0.032") == 0  # every bucket series is written
    assert get("traces_spanmetrics_latency_sum") == 0.05
    assert get("traces_spanmetrics_latency_count") == 1
    assert immediate == []
    assert [h.side for h in halves] == ["client", "server"]


def test_pairing_in_one_batch_and_failed_edges() -> None:
    _, halves, _ = compute_span_metrics(_frontend_checkout(error=True))
    edges, left = pair_edges(halves)
    assert left == []
    assert len(edges) == 1
    e = edges[0]
    assert (e.client, e.server, e.failed) == ("frontend", "checkout", True)
    assert (e.client_ns, e.server_ns) == (50_000_000, 40_000_000)


def test_pairing_needs_both_halves() -> None:
    client = EdgeHalf(TRACE, "22", "client", "frontend", 5, False)
    server = EdgeHalf(TRACE, "22", "server", "checkout", 4, False)
    other = EdgeHalf(TRACE, "99", "server", "email", 4, False)
    edges, left = pair_edges([client, other])
    assert edges == [] and set(left) == {client, other}
    edges, left = pair_edges([server, client])
    assert [(e.client, e.server) for e in edges] == [("frontend", "checkout")] and left == []


def _series(db: Database) -> dict[str, float]:
    """labels_key -> latest value."""
    rows = db.query(
        "SELECT s.labels_key, arg_max(p.value, p.ts_ms) FROM prom_series s "
        "JOIN prom_samples p ON p.series_id = s.id GROUP BY s.labels_key"
    )
    return {k: v for k, v in rows}


def _labels_of(key: str) -> dict[str, str]:
    data = json.loads(key)
    return dict(data) if isinstance(data, list) else data


def _find(db: Database, **labels: str) -> float | None:
    for key, value in _series(db).items():
        if _labels_of(key) == labels:
            return value
    return None


def test_generate_writes_cumulative_counters_across_batches(tmp_path: Any) -> None:
    db = Database(None)
    client_only = _request(("frontend", [_span("2222222222222222", "POST", 3, 10, 50, "1111111111111111")]))
    server_only = _request(
        ("checkout", [_span("3333333333333333", "POST /checkout", 2, 12, 40, "2222222222222222")])
    )
    with db.transaction() as con:
        generate(db, con, client_only, now_ms=1_000)
    edge = {"__name__": "traces_service_graph_request_total", "client": "frontend", "server": "checkout"}
    assert _find(db, **edge) is None  # waiting for the server half
    with db.transaction() as con:
        generate(db, con, server_only, now_ms=2_000)
    assert _find(db, **edge) == 1
    assert spanmetrics.pending_halves(db) == []
    with db.transaction() as con:
        generate(db, con, _frontend_checkout(), now_ms=3_000)
    assert _find(db, **edge) == 2
    calls = {"__name__": "traces_spanmetrics_calls_total", "service": "frontend", "span_name": "POST",
             "span_kind": "SPAN_KIND_CLIENT", "status_code": "STATUS_CODE_UNSET"}  # fmt: skip
    assert _find(db, **calls) == 2
    # a new series starts with a zero sample just before its first value
    zero = db.query(
        "SELECT p.ts_ms, p.value FROM prom_samples p JOIN prom_series s ON s.id = p.series_id "
        "WHERE s.name = 'traces_service_graph_request_total' ORDER BY p.ts_ms"
    )
    assert zero == [(1_999, 0.0), (2_000, 1.0), (3_000, 2.0)]


def test_unpaired_client_with_peer_becomes_virtual_node() -> None:
    db = Database(None)
    req = _request(("inventory", [_span("4444444444444444", "SELECT", 3, 0, 20, "1111111111111111",
                                        attrs={"db.system": "postgresql"})]))  # fmt: skip
    with db.transaction() as con:
        generate(db, con, req, now_ms=0)
    with db.transaction() as con:
        generate(db, con, _request(), now_ms=spanmetrics.EDGE_TTL_MS + 1)
    edge = {"__name__": "traces_service_graph_request_total", "client": "inventory", "server": "postgresql",
            "connection_type": "virtual_node"}  # fmt: skip
    assert _find(db, **edge) == 1
    assert spanmetrics.pending_halves(db) == []


def test_database_call_completes_at_once() -> None:
    db = Database(None)
    req = _request(("inventory", [_span("4444444444444444", "SELECT", 3, 0, 20, "1111111111111111",
                                        attrs={"db.name": "products"})]))  # fmt: skip
    with db.transaction() as con:
        generate(db, con, req, now_ms=5)
    edge = {"__name__": "traces_service_graph_request_total", "client": "inventory", "server": "products",
            "connection_type": "database"}  # fmt: skip
    assert _find(db, **edge) == 1


def test_hook_runs_inside_store_traces() -> None:
    assert spanmetrics.span_metrics_hook in TRACE_HOOKS
    db = Database(None)
    with db.transaction() as con:
        assert store_traces(db, con, _frontend_checkout()) == 3
    edge = {"__name__": "traces_service_graph_request_total", "client": "frontend", "server": "checkout"}
    assert _find(db, **edge) == 1


def test_pending_halves_are_capped(monkeypatch: Any) -> None:
    monkeypatch.setattr(spanmetrics, "MAX_PENDING_EDGES", 3)
    db = Database(None)
    for i in range(5):
        req = _request(("web", [_span(f"{i + 1:016x}", "GET", 3, i, 5, "1111111111111111")]))
        with db.transaction() as con:
            generate(db, con, req, now_ms=100 + i)
    kept = spanmetrics.pending_halves(db)
    assert [h.client_span_id for h in kept] == [f"{i + 1:016x}" for i in (2, 3, 4)]  # the oldest went first


def _calls_samples(db: Database) -> list[tuple[int, float]]:
    return db.query(
        "SELECT p.ts_ms, p.value FROM prom_samples p JOIN prom_series s ON s.id = p.series_id "
        "WHERE s.labels_key LIKE '%traces_spanmetrics_calls_total%' AND s.labels_key LIKE '%\"POST\"%' "
        "ORDER BY p.ts_ms"
    )


def test_totals_survive_a_restart_and_batch_time_never_goes_back(tmp_path: Any) -> None:
    path = tmp_path / "lgtm.duckdb"
    db = Database(path)
    with db.transaction() as con:
        generate(db, con, _frontend_checkout(), now_ms=10_000)
    db.close()
    db = Database(path)
    with db.transaction() as con:
        generate(db, con, _frontend_checkout(), now_ms=5_000)  # the clock went back
    with db.transaction() as con:
        generate(db, con, _frontend_checkout(), now_ms=10_001)  # two batches in one millisecond
    assert _calls_samples(db) == [(9_999, 0.0), (10_000, 1.0), (10_001, 2.0), (10_002, 3.0)]
    db.close()


def test_duration_on_a_bucket_bound_counts_in_that_bucket() -> None:
    req = _request(("web", [_span("1111111111111111", "GET", 2, 0, 2)]))  # exactly 2 ms
    values = compute_span_metrics(req)[0].values
    base = {"service": "web", "span_kind": "SPAN_KIND_SERVER", "span_name": "GET",
            "status_code": "STATUS_CODE_UNSET", "__name__": "traces_spanmetrics_latency_bucket"}  # fmt: skip
    assert values[tuple(sorted({**base, "le": "0.002"}.items()))] == 1


def test_a_failed_batch_leaves_totals_and_pending_halves_alone(monkeypatch: Any) -> None:
    db = Database(None)
    client_only = _request(("frontend", [_span("2222222222222222", "POST", 3, 10, 50, "1111111111111111")]))
    with db.transaction() as con:
        generate(db, con, client_only, now_ms=1_000)

    def broken(*args: Any) -> int:
        raise RuntimeError("disk full")

    monkeypatch.setattr(spanmetrics, "write_samples", broken)
    with pytest.raises(RuntimeError, match="disk full"), db.transaction() as con:
        generate(db, con, _frontend_checkout(), now_ms=2_000)
    monkeypatch.undo()
    assert [h.client_span_id for h in spanmetrics.pending_halves(db)] == ["2222222222222222"]
    with db.transaction() as con:
        generate(db, con, client_only, now_ms=3_000)
    assert _calls_samples(db) == [(999, 0.0), (1_000, 1.0), (3_000, 2.0)]


def test_idle_series_get_a_sample_each_collection_until_stale() -> None:
    db = Database(None)
    web = _request(("web", [_span("1111111111111111", "GET", 2, 0, 5)]))
    api = _request(("api", [_span("2222222222222222", "GET", 2, 0, 5)]))

    def web_calls() -> list[tuple[int, float]]:
        return db.query(
            "SELECT p.ts_ms, p.value FROM prom_samples p JOIN prom_series s ON s.id = p.series_id "
            "WHERE s.labels_key LIKE '%calls_total%' AND s.labels_key LIKE '%\"web\"%' ORDER BY p.ts_ms"
        )

    interval, stale = spanmetrics.COLLECTION_INTERVAL_MS, spanmetrics.STALE_DURATION_MS
    for now, req in ((1_000, web), (1_000 + interval - 1, api), (1_000 + interval, api)):
        with db.transaction() as con:
            generate(db, con, req, now_ms=now)
    # not yet due one millisecond early; then the unchanged total is written again
    assert web_calls() == [(999, 0.0), (1_000, 1.0), (1_000 + interval, 1.0)]
    with db.transaction() as con:
        generate(db, con, api, now_ms=1_000 + stale + 1)  # no update for longer than stale_duration
    assert web_calls()[-1] == (1_000 + interval, 1.0)
