"""Tempo API shapes after round trips through the real OpenTelemetry SDK exporters."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with running_server(Path(tmp_path_factory.mktemp("tempo_api"))) as srv:
        yield srv


def _emit(exporter: Any, service: str) -> str:
    provider = TracerProvider(resource=Resource.create({"service.name": service, "host.name": "box"}))
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer("labkit.tests", "0.1")
    with tracer.start_as_current_span("POST /checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("http.request.method", "POST")
        root.set_attribute("order.items", 3)
        root.set_attribute("http.response.status_code", 502)
        root.set_attribute("ratio", 0.5)
        root.set_status(Status(StatusCode.ERROR, "payment failed"))
        with tracer.start_as_current_span("charge", kind=SpanKind.CLIENT) as child:
            child.set_attribute("retry", True)
            child.add_event("timeout", {"attempt": 2})
        trace_id = format(root.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_id


def _exporter(srv: EmbeddedServer, transport: str) -> Any:
    if transport == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        return GrpcExporter(endpoint=srv.urls["otlp_grpc"], insecure=True)
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

    # "tempo": Tempo's own port accepts OTLP/HTTP too.
    base = srv.urls["otlp_http"] if transport == "http" else srv.urls["tempo"]
    return HttpExporter(endpoint=base + "/v1/traces")


@pytest.mark.parametrize("transport", ["http", "grpc", "tempo"])
def test_sdk_round_trip_shapes(server: EmbeddedServer, transport: str) -> None:
    service = f"shop-{transport}"
    trace_id = _emit(_exporter(server, transport), service)
    tempo = server.urls["tempo"]

    v1 = httpx.get(f"{tempo}/api/traces/{trace_id}")
    assert v1.status_code == 200 and v1.headers["content-type"] == "application/json"
    (batch,) = v1.json()["batches"]
    res_keys = [a["key"] for a in batch["resource"]["attributes"]]
    assert res_keys[-1] == "service.name" and res_keys[:-1] == sorted(res_keys[:-1])
    (scope,) = batch["scopeSpans"]
    assert scope["scope"] == {"name": "labkit.tests", "version": "0.1"}
    root, child = scope["spans"]  # sorted by start time
    assert base64.b64decode(root["traceId"]).hex() == trace_id
    assert "parentSpanId" not in root and child["parentSpanId"] == root["spanId"]
    assert (root["kind"], child["kind"]) == ("SPAN_KIND_SERVER", "SPAN_KIND_CLIENT")
    assert root["status"] == {"code": "STATUS_CODE_ERROR", "message": "payment failed"}
    assert child["status"] == {}
    attrs = {a["key"]: a["value"] for a in root["attributes"]}
    assert attrs["order.items"] == {"intValue": "3"} and attrs["ratio"] == {"doubleValue": 0.5}
    # dedicated columns come after the generic attributes, in Tempo's column order
    assert [a["key"] for a in root["attributes"]][-2:] == ["http.request.method", "http.response.status_code"]
    assert child["events"][0]["name"] == "timeout"
    assert child["events"][0]["attributes"] == [{"key": "attempt", "value": {"intValue": "2"}}]

    proto = httpx.get(f"{tempo}/api/traces/{trace_id}", headers={"Accept": "application/protobuf"})
    assert proto.headers["content-type"] == "application/protobuf"
    decoded = TracesData.FromString(proto.content)
    assert decoded.resource_spans[0].scope_spans[0].spans[0].trace_id.hex() == trace_id

    v2 = httpx.get(f"{tempo}/api/v2/traces/{trace_id}").json()
    assert v2["trace"]["resourceSpans"] == v1.json()["batches"] and "metrics" in v2

    q = f'{{ resource.service.name = "{service}" && status = error }}'
    found = httpx.get(f"{tempo}/api/search", params={"q": q}).json()
    (tr,) = found["traces"]
    assert tr["traceID"] == trace_id.lstrip("0") and tr["rootServiceName"] == service
    assert tr["rootTraceName"] == "POST /checkout" and tr["spanSet"] == tr["spanSets"][0]
    (span,) = tr["spanSet"]["spans"]
    assert span["spanID"] == base64.b64decode(root["spanId"]).hex() and tr["spanSet"]["matched"] == 1
    assert {a["key"] for a in span["attributes"]} == {"service.name", "status"}
    assert tr["serviceStats"] == {service: {"spanCount": 2, "errorCount": 1}}


def test_span_metrics_reach_the_metric_store(server: EmbeddedServer) -> None:
    _emit(_exporter(server, "http"), "shop-metrics")
    rows = server.db.query(
        "SELECT s.labels_key FROM prom_series s WHERE s.name = 'traces_spanmetrics_calls_total' "
        "AND s.labels_key LIKE '%shop-metrics%'"
    )
    labels = sorted(dict(json.loads(r[0]))["span_name"] for r in rows)
    assert labels == ["POST /checkout", "charge"]


@pytest.mark.parametrize(
    ("path", "params", "status", "text"),
    [
        ("/api/search", {"q": "{ .a = }"}, 400, "invalid TraceQL query: parse error at line 1, col 8: "),
        ("/api/search", {"q": '{ name =~ "(" }'}, 400, "invalid TraceQL query: error parsing regexp"),
        ("/api/search", {"q": "{ } | rate()"}, 400, "invalid TraceQL query: metrics queries go to"),
        ("/api/search", {"limit": "abc"}, 400, 'invalid limit: strconv.Atoi: parsing "abc"'),
        ("/api/search", {"start": "yesterday"}, 400, 'invalid start: "yesterday"'),
        ("/api/search", {"start": "20", "end": "10"}, 400, "invalid start: start must not be after end"),
        ("/api/search", {"minDuration": "fast"}, 400, 'invalid minDuration: time: invalid duration "fast"'),
        (
            "/api/traces/xyz",
            {},
            400,
            "trace IDs can only contain hex characters: invalid character 'x' at position 1",
        ),
        ("/api/traces/" + "a" * 33, {}, 400, "trace IDs can't be larger than 128 bits"),
        ("/api/search/tags", {"scope": "nope"}, 400, "unknown scope: nope"),
        ("/api/v2/search/tag/span./values", {}, 400, "invalid tag name: span."),
        ("/api/metrics/query_range", {"q": "{ }"}, 400, "invalid TraceQL query: a metrics query needs"),
        ("/api/metrics/query_range", {"q": "{ } | rate()", "step": "0s"}, 400, "invalid step"),
    ],
)
def test_bad_requests_answer_400_text(
    server: EmbeddedServer, path: str, params: dict[str, str], status: int, text: str
) -> None:
    r = httpx.get(server.urls["tempo"] + path, params=params)
    assert r.status_code == status
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text.startswith(text), r.text


def test_unknown_trace_ids(server: EmbeddedServer) -> None:
    r = httpx.get(server.urls["tempo"] + "/api/traces/" + "1" * 32)
    assert r.status_code == 404 and r.content == b"" and "content-type" not in r.headers
    r = httpx.get(server.urls["tempo"] + "/api/v2/traces/abc")
    assert r.status_code == 200 and r.json() == {"trace": {}, "metrics": {}}


def test_tempo_port_ingest_answers(server: EmbeddedServer) -> None:
    url = server.urls["tempo"] + "/v1/traces"
    body = {"resourceSpans": []}
    r = httpx.post(url, content=gzip.compress(json.dumps(body).encode()),
                   headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})  # fmt: skip
    assert (r.status_code, r.headers["content-type"], r.json()) == (
        200,
        "application/json",
        {"partialSuccess": {}},
    )
    r = httpx.post(url, content=b"\xff\xff", headers={"Content-Type": "application/x-protobuf"})
    assert r.status_code == 400 and r.headers["content-type"] == "application/x-protobuf"
    r = httpx.post(url, content=b"{}", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415 and r.headers["content-type"] == "text/plain"
    assert r.text == "415 unsupported media type, supported: [application/json, application/x-protobuf]"


def test_echo_ready_buildinfo(server: EmbeddedServer) -> None:
    tempo = server.urls["tempo"]
    assert httpx.get(tempo + "/api/echo").text == "echo\n"
    assert httpx.get(tempo + "/ready").text == "ready\n"
    info = httpx.get(tempo + "/api/status/buildinfo").json()
    assert set(info) == {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}


_PIECES = [
    "{", "}", "(", ")", "|", "&&", ">>", "=", "=~", '"a"', ".x", "span.y", "resource.z", "count()", "> 1",
    "by(kind)", "select(.x)", "rate()", "status", "error", "1s", " ",
]  # fmt: skip
_query_text = st.one_of(st.text(max_size=30), st.lists(st.sampled_from(_PIECES), max_size=12).map("".join))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    q=_query_text,
    limit=st.sampled_from(["", "0", "1", "-1", "x", "3"]),
    spss=st.sampled_from(["", "0", "2", "y"]),
)
def test_random_searches_never_fail_the_server(server: EmbeddedServer, q: str, limit: str, spss: str) -> None:
    tempo = server.urls["tempo"]
    for path in ("/api/search", "/api/metrics/query_range", "/api/v2/search/tag/span.x/values"):
        r = httpx.get(tempo + path, params={"q": q, "limit": limit, "spss": spss})
        assert r.status_code in (200, 400), (path, q, r.status_code, r.text)
        if r.status_code == 400:
            assert r.headers["content-type"] == "text/plain; charset=utf-8" and r.text


def test_exported_names() -> None:
    from labkit.lgtm.traces import api, traceql

    assert api.__all__ == ["add_routes"]
    assert set(traceql.__all__) == {
        "ParseError", "QueryError", "Span", "SpanSet", "Trace", "ast", "build_traces", "evaluate_pipeline",
        "format_query", "parse", "parse_field", "query_range", "to_string", "validate",
    }  # fmt: skip
    for name in traceql.__all__:
        assert hasattr(traceql, name)
