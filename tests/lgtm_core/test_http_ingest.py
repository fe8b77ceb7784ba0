"""OTLP/HTTP receiver: answers shaped like the collector's, and all-or-nothing batches."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest
from google.rpc import status_pb2
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server

from .payloads import make_traces

PB = {"Content-Type": "application/x-protobuf"}
JS = {"Content-Type": "application/json"}


def spans(srv: EmbeddedServer) -> int:
    return int(srv.db.query("SELECT count(*) FROM spans")[0][0])


def test_protobuf_and_json_success_shapes(server: EmbeddedServer) -> None:
    url = server.urls["otlp_http"] + "/v1/traces"
    r = httpx.post(url, content=make_traces(10).SerializeToString(), headers=PB)
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/x-protobuf"
    assert ExportTraceServiceResponse.FromString(r.content) == ExportTraceServiceResponse()
    doc = {
        "resourceSpans": [
            {"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8, "name": "x", "kind": 1}]}]}
        ]
    }
    r = httpx.post(url, content=json.dumps(doc), headers=JS)
    assert (r.status_code, r.headers["content-type"].split(";")[0]) == (200, "application/json")
    assert r.json() == {"partialSuccess": {}}
    r = httpx.post(
        url,
        content=gzip.compress(make_traces(5).SerializeToString()),
        headers={**PB, "Content-Encoding": "gzip"},
    )
    assert r.status_code == 200
    assert spans(server) == 16
    row = server.db.query(
        "SELECT trace_id, span_id, parent_span_id, kind, service_name FROM spans WHERE name = 'x'"
    )
    assert row == [("ab" * 16, "cd" * 8, "", 1, "")]


def test_stored_columns(server: EmbeddedServer) -> None:
    req = make_traces(3, t0=1_795_000_000_000_000_000)
    r = httpx.post(server.urls["otlp_http"] + "/v1/traces", content=req.SerializeToString(), headers=PB)
    assert r.status_code == 200
    from labkit.lgtm.traces.store import fetch_span_rows, fetch_trace_rows

    tid = req.resource_spans[0].scope_spans[0].spans[0].trace_id.hex()
    rows = fetch_trace_rows(server.db, tid.upper())
    assert [r["seq"] for r in rows] == [1, 2, 3]
    first = rows[0]
    assert first["service_name"] == "shop" and first["status_code"] == 2 and first["status_message"] == "boom"
    assert first["resource_attributes"][0] == {"key": "service.name", "value": {"stringValue": "shop"}}
    assert {"key": "cache.hit", "value": {"boolValue": False}} in first["attributes"]
    assert {"key": "payment.amount", "value": {"doubleValue": 12.5}} in first["attributes"]
    assert first["events"][0]["name"] == "exception"
    assert first["events"][0]["attributes"] == [
        {"key": "exception.type", "value": {"stringValue": "TimeoutError"}}
    ]
    assert first["scope_name"] == "labkit.tests" and first["scope_version"] == "1.0"
    assert rows[1]["parent_span_id"] == first["span_id"]
    assert fetch_trace_rows(server.db, tid, start_ns=2_000_000_000_000_000_000) == []
    assert len(fetch_span_rows(server.db, 0, 2**62)) == 3


def test_malformed_json_is_400_code_3(server: EmbeddedServer) -> None:
    r = httpx.post(server.urls["otlp_http"] + "/v1/traces", content=b"{not json", headers=JS)
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == 3 and "invalid OTLP/JSON traces request" in body["message"]


def test_malformed_protobuf_is_400_status_message(server: EmbeddedServer) -> None:
    r = httpx.post(server.urls["otlp_http"] + "/v1/logs", content=b"\x0a\xff\xff", headers=PB)
    assert r.status_code == 400
    status = status_pb2.Status.FromString(r.content)
    assert status.code == 3 and "invalid protobuf ExportLogsServiceRequest" in status.message


def test_unsupported_media_type_is_415_plain_text(server: EmbeddedServer) -> None:
    r = httpx.post(
        server.urls["otlp_http"] + "/v1/metrics", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text == "415 unsupported media type, supported: [application/json, application/x-protobuf]"


def test_one_bad_span_stores_nothing(server: EmbeddedServer) -> None:
    req = make_traces(100)
    req.resource_spans[0].scope_spans[0].spans[99].span_id = b"\x01\x02\x03"
    r = httpx.post(server.urls["otlp_http"] + "/v1/traces", content=req.SerializeToString(), headers=PB)
    assert r.status_code == 400
    assert "spans[99].spanId: must be 8 bytes, got 3 bytes" in status_pb2.Status.FromString(r.content).message
    assert spans(server) == 0


def test_store_failure_rolls_back_the_whole_batch(server: EmbeddedServer) -> None:
    req = make_traces(50)
    # Valid on the wire (fixed64) but beyond BIGINT: the store refuses after decoding.
    req.resource_spans[0].scope_spans[0].spans[49].end_time_unix_nano = 2**64 - 1
    r = httpx.post(server.urls["otlp_http"] + "/v1/traces", content=req.SerializeToString(), headers=JS | PB)
    assert r.status_code == 400
    assert "cannot store traces batch" in status_pb2.Status.FromString(r.content).message
    assert spans(server) == 0
    # The store stays usable: the next good batch goes in whole.
    assert (
        httpx.post(
            server.urls["otlp_http"] + "/v1/traces", content=make_traces(2).SerializeToString(), headers=PB
        ).status_code
        == 200
    )
    assert server.db.query("SELECT count(*), count(DISTINCT batch_seq) FROM spans") == [(2, 1)]


def test_413_over_the_limit_stores_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with running_server(tmp_path, ingest_max_body_bytes=4096) as srv:
        url = srv.urls["otlp_http"] + "/v1/traces"
        big = make_traces(200).SerializeToString()
        assert len(big) > 4096
        r = httpx.post(url, content=big, headers=PB)
        assert r.status_code == 413
        assert "too large" in status_pb2.Status.FromString(r.content).message
        bomb = gzip.compress(json.dumps({"resourceSpans": [], "pad": "x" * 100_000}).encode())
        assert len(bomb) < 4096
        r = httpx.post(url, content=bomb, headers={**JS, "Content-Encoding": "gzip"})
        assert r.status_code == 413 and "gzip-decoded body" in r.json()["message"]
        assert spans(srv) == 0
        assert httpx.post(url, content=make_traces(5).SerializeToString(), headers=PB).status_code == 200


def test_ready_and_status_endpoints(server: EmbeddedServer) -> None:
    for name in ("otlp_http", "tempo", "loki", "mimir"):
        base = server.urls[name].removesuffix("/prometheus")
        assert httpx.get(base + "/ready").status_code == 200
    httpx.post(
        server.urls["otlp_http"] + "/v1/traces", content=make_traces(4).SerializeToString(), headers=PB
    )
    status = httpx.get(server.urls["otlp_http"] + "/labkit/status").json()
    assert status["status"] == "ok" and status["service"] == "labkit-lgtm"
    assert status["signals"]["traces"] == {"spans": 4}
    assert status["ports"] == server.ports
    assert all(url.startswith("http://127.0.0.1:") for url in status["urls"].values())


def test_a_store_bug_is_a_500_in_otlp_shape_and_stores_nothing(
    server: EmbeddedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.lgtm.traces import store

    real = store.store_traces

    def broken(db, con, request):  # type: ignore[no-untyped-def]
        real(db, con, request)  # the spans go in, then the batch fails: all must roll back
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(store, "store_traces", broken)
    doc = {"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "ab" * 16, "spanId": "cd" * 8}]}]}]}
    r = httpx.post(server.urls["otlp_http"] + "/v1/traces", content=json.dumps(doc), headers=JS)
    assert r.status_code == 500
    assert r.json() == {
        "code": 13,
        "message": "internal error storing the traces batch: RuntimeError('simulated bug')",
    }
    assert spans(server) == 0
