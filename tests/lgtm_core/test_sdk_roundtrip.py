"""Round trips through the real OpenTelemetry SDK exporters (gRPC and HTTP) into the store."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from labkit.lgtm.server import EmbeddedServer


def _rows(srv: EmbeddedServer, sql: str) -> list[tuple]:
    return srv.db.query(sql)


def _grpc_endpoint(srv: EmbeddedServer) -> str:
    return srv.urls["otlp_grpc"]


def _emit_traces(exporter: object, service: str) -> str:
    provider = TracerProvider(
        resource=Resource.create({"service.name": service, "deployment.environment": "test"})
    )
    provider.add_span_processor(BatchSpanProcessor(exporter))  # type: ignore[arg-type]
    tracer = provider.get_tracer("labkit.tests", "0.1")
    with tracer.start_as_current_span("checkout", kind=SpanKind.SERVER) as root:
        root.set_attribute("order.items", 3)
        root.set_attribute("payment.method", "card")
        with tracer.start_as_current_span("charge", kind=SpanKind.CLIENT) as child:
            child.add_event("retry", {"attempt": 2})
            child.set_status(Status(StatusCode.ERROR, "declined"))
        trace_id = format(root.get_span_context().trace_id, "032x")
    assert provider.force_flush(10_000)
    provider.shutdown()
    return trace_id


@pytest.mark.parametrize("transport", ["http", "grpc", "http-gzip", "grpc-gzip"])
def test_sdk_traces(server: EmbeddedServer, transport: str) -> None:
    from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression as GrpcCompression
    from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression

    gzip = transport.endswith("-gzip")
    if transport.startswith("http"):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpExporter

        exporter: object = HttpExporter(
            endpoint=server.urls["otlp_http"] + "/v1/traces",
            compression=HttpCompression.Gzip if gzip else HttpCompression.NoCompression,
        )
    else:
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcExporter

        exporter = GrpcExporter(
            endpoint=_grpc_endpoint(server),
            insecure=True,
            compression=GrpcCompression.Gzip if gzip else GrpcCompression.NoCompression,
        )
    trace_id = _emit_traces(exporter, f"svc-{transport}")
    rows = _rows(
        server,
        "SELECT name, kind, status_code, status_message, service_name, parent_span_id = '' "
        f"FROM spans WHERE trace_id = '{trace_id}' ORDER BY start_ns",
    )
    assert rows == [
        ("checkout", 2, 0, "", f"svc-{transport}", True),
        ("charge", 3, 2, "declined", f"svc-{transport}", False),
    ]
    attrs = _rows(
        server,
        f"SELECT attributes, events, scope_name FROM spans WHERE trace_id = '{trace_id}' ORDER BY start_ns",
    )
    assert '{"key":"order.items","value":{"intValue":"3"}}' in attrs[0][0]
    assert '"name":"retry"' in attrs[1][1] and attrs[0][2] == "labkit.tests"


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_logs(server: EmbeddedServer, transport: str) -> None:
    pytest.importorskip("labkit.lgtm.logs.store")
    from opentelemetry._logs import SeverityNumber
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import BatchLogRecordProcessor

    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter

        exporter: object = HttpLogExporter(endpoint=server.urls["otlp_http"] + "/v1/logs")
    else:
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter

        exporter = GrpcLogExporter(endpoint=_grpc_endpoint(server), insecure=True)
    provider = LoggerProvider(resource=Resource.create({"service.name": f"logs-{transport}"}))
    provider.add_log_record_processor(BatchLogRecordProcessor(exporter))  # type: ignore[arg-type]
    logger = provider.get_logger("labkit.tests", "0.1")
    for i in range(25):
        logger.emit(
            severity_number=SeverityNumber.WARN,
            severity_text="WARN",
            body=f"payment declined order={i}",
            attributes={"order.id": i},
        )
    assert provider.force_flush(10_000)
    provider.shutdown()
    rows = _rows(server, "SELECT line, severity_text FROM log_entries ORDER BY ts_ns, seq")
    assert len(rows) == 25
    assert sorted(rows) == sorted((f"payment declined order={i}", "WARN") for i in range(25))


@pytest.mark.parametrize("transport", ["http", "grpc"])
def test_sdk_metrics(server: EmbeddedServer, transport: str) -> None:
    pytest.importorskip("labkit.lgtm.metrics.store")
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

    if transport == "http":
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
            OTLPMetricExporter as HttpMetricExporter,
        )

        exporter: object = HttpMetricExporter(endpoint=server.urls["otlp_http"] + "/v1/metrics")
    else:
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (
            OTLPMetricExporter as GrpcMetricExporter,
        )

        exporter = GrpcMetricExporter(endpoint=_grpc_endpoint(server), insecure=True)
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)  # type: ignore[arg-type]
    provider = MeterProvider(
        resource=Resource.create({"service.name": f"metrics-{transport}"}), metric_readers=[reader]
    )
    meter = provider.get_meter("labkit.tests")
    counter = meter.create_counter("orders.placed", unit="1")
    hist = meter.create_histogram("checkout.duration", unit="s")
    for i in range(10):
        counter.add(1, {"payment.method": "card" if i % 2 else "cash"})
        hist.record(0.1 * i)
    assert provider.force_flush(10_000)
    provider.shutdown()
    names = {r[0] for r in _rows(server, "SELECT DISTINCT metric_name FROM otlp_metric_points")}
    assert {"orders.placed", "checkout.duration"} <= names
    # Cumulative temporality, exported at force_flush and again at shutdown: the
    # latest point of each series carries the totals.
    latest = _rows(
        server,
        "SELECT attributes::VARCHAR, max(value) FROM otlp_metric_points "
        "WHERE metric_name = 'orders.placed' GROUP BY 1 ORDER BY 1",
    )
    assert [v for _, v in latest] == [5, 5]
    assert "card" in latest[0][0] and "cash" in latest[1][0]


def test_grpc_rejects_bad_batch_with_invalid_argument(server: EmbeddedServer) -> None:
    import grpc

    from .payloads import make_traces

    req = make_traces(20)
    req.resource_spans[0].scope_spans[0].spans[3].trace_id = b"\x00" * 5
    target = _grpc_endpoint(server).removeprefix("http://")
    with grpc.insecure_channel(target) as channel:
        export = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.RpcError) as info:
            export(req, timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "spans[3].traceId: must be 16 bytes, got 5 bytes" in (info.value.details() or "")
        raw = channel.unary_unary(
            "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
            request_serializer=lambda b: b,
            response_deserializer=lambda b: b,
        )
        with pytest.raises(grpc.RpcError) as info:
            raw(b"\x0a\xff\xff\xff", timeout=10)
        assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "invalid protobuf" in (info.value.details() or "")
        assert export(make_traces(4), timeout=10) == b""
    assert _rows(server, "SELECT count(*) FROM spans") == [(4,)]
