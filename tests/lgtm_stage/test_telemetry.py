from __future__ import annotations

import logging
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs.export import InMemoryLogRecordExporter
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from labkit.config import load_settings
from labkit.telemetry import TelemetryError, genai, make_resource, setup


def _local(service: str = "unit-svc", **kwargs):
    spans, reader, logs = InMemorySpanExporter(), InMemoryMetricReader(), InMemoryLogRecordExporter()
    tel = setup(
        service,
        settings=load_settings(environ={}),
        set_global=False,
        span_exporter=spans,
        metric_reader=reader,
        log_exporter=logs,
        **kwargs,
    )
    return tel, spans, reader, logs


def _histograms(reader: InMemoryMetricReader) -> dict[str, list[HistogramDataPoint]]:
    out: dict[str, list[HistogramDataPoint]] = {}
    data = reader.get_metrics_data()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out[metric.name] = list(metric.data.data_points)
    return out


def test_resource_carries_service_identity() -> None:
    resource = make_resource("demo-app", "shop", "1.2.3", "dev")
    attrs = dict(resource.attributes)
    assert attrs["service.name"] == "demo-app"
    assert attrs["service.namespace"] == "shop"
    assert attrs["service.version"] == "1.2.3"
    assert attrs["deployment.environment"] == "dev"


def test_empty_service_name_is_rejected() -> None:
    with pytest.raises(TelemetryError, match="service_name"):
        make_resource("  ")


def test_bad_protocol_is_rejected() -> None:
    with pytest.raises(TelemetryError, match="protocol"):
        setup("x", protocol="udp", set_global=False)  # type: ignore[arg-type]


def test_logs_carry_trace_context_and_flush_is_idempotent() -> None:
    tel, spans, _reader, logs = _local()
    logger = tel.logger("unit-svc.test")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    with tel.tracer().start_as_current_span("work") as span:
        logger.warning("inside the span")
        ctx = span.get_span_context()
    assert tel.flush() is True
    tel.shutdown()
    tel.shutdown()  # second call is a no-op
    assert tel.flush() is True
    (finished,) = spans.get_finished_spans()
    assert finished.name == "work"
    assert finished.resource.attributes["service.name"] == "unit-svc"
    records = [r for r in logs.get_finished_logs() if r.log_record.body == "inside the span"]
    assert len(records) == 1
    record = records[0].log_record
    assert record.trace_id == ctx.trace_id and record.span_id == ctx.span_id
    assert record.severity_text == "WARN"


def test_genai_histograms_use_advised_buckets() -> None:
    tel, _spans, reader, _logs = _local()
    metrics = genai.GenAIMetrics.create(tel.meter("genai-test"))
    attrs = genai.inference_attributes(
        "chat", "anthropic", "claude-x", response_id="msg_1", server_address="h"
    )
    metrics.record(attrs, 0.3, input_tokens=100, output_tokens=7)
    points = _histograms(reader)
    duration = points["gen_ai.client.operation.duration"]
    assert tuple(duration[0].explicit_bounds) == genai.DURATION_BUCKETS
    assert duration[0].sum == pytest.approx(0.3)
    usage = points["gen_ai.client.token.usage"]
    assert tuple(usage[0].explicit_bounds) == genai.TOKEN_BUCKETS
    by_type = {p.attributes["gen_ai.token.type"]: p.sum for p in usage}
    assert by_type == {"input": 100, "output": 7}
    # High-cardinality ids never reach metric attributes.
    assert all("gen_ai.response.id" not in p.attributes for p in duration + usage)
    tel.shutdown()


def test_bucket_boundaries_match_the_convention() -> None:
    assert genai.TOKEN_BUCKETS[0] == 1 and genai.TOKEN_BUCKETS[-1] == 67108864
    assert genai.DURATION_BUCKETS[:3] == (0.01, 0.02, 0.04) and genai.DURATION_BUCKETS[-1] == 81.92
    assert len(genai.TOKEN_BUCKETS) == len(genai.DURATION_BUCKETS) == 14


def test_span_names_and_attributes() -> None:
    chat = genai.inference_attributes("chat", "anthropic", "claude-x", max_tokens=None, temperature=0.2)
    assert "gen_ai.request.max_tokens" not in chat
    assert genai.span_name(chat) == "chat claude-x"
    assert genai.span_name(genai.agent_attributes("critic")) == "invoke_agent critic"
    assert genai.span_name(genai.tool_attributes("search", call_id="c1")) == "execute_tool search"
    usage = genai.usage_attributes(10, 20, cache_read_input_tokens=5)
    assert usage == {
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
        "gen_ai.usage.cache_read.input_tokens": 5,
    }
    with pytest.raises(ValueError, match="input_tokens"):
        genai.usage_attributes(-1)
    with pytest.raises(ValueError, match="operation"):
        genai.span_name({})


def test_operation_span_kind_and_error() -> None:
    tel, spans, _reader, _logs = _local()
    tracer = tel.tracer()
    with genai.operation_span(genai.inference_attributes("chat", "anthropic", "m"), tracer=tracer):
        pass
    with (
        pytest.raises(KeyError),
        genai.operation_span(genai.tool_attributes("lookup"), tracer=tracer),
    ):
        raise KeyError("missing")
    tel.flush()
    chat, tool = spans.get_finished_spans()
    assert chat.kind == SpanKind.CLIENT and chat.name == "chat m"
    assert tool.kind == SpanKind.INTERNAL and tool.status.status_code == StatusCode.ERROR
    assert tool.attributes["error.type"] == "KeyError"
    tel.shutdown()


class _Collector(BaseHTTPRequestHandler):
    bodies: dict[str, list[bytes]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        self.bodies.setdefault(self.path, []).append(self.rfile.read(length))
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def test_http_protocol_sends_otlp_to_the_configured_endpoint() -> None:
    bodies: dict[str, list[bytes]] = {}
    handler = type("H", (_Collector,), {"bodies": bodies})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings = load_settings(environ={}, otlp_http_endpoint=f"http://127.0.0.1:{server.server_port}")
        tel = setup("http-svc", "http", settings=settings, set_global=False, export_timeout_s=5)
        logger = tel.logger("http-svc.test")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        with tel.tracer().start_as_current_span("sent"):
            logger.info("hello over http")
        tel.meter().create_counter("demo.requests").add(1)
        tel.shutdown()
    finally:
        server.shutdown()
        server.server_close()
    assert set(bodies) >= {"/v1/traces", "/v1/metrics", "/v1/logs"}
    request = ExportTraceServiceRequest.FromString(bodies["/v1/traces"][0])
    span = request.resource_spans[0].scope_spans[0].spans[0]
    assert span.name == "sent"
    logs = ExportLogsServiceRequest.FromString(bodies["/v1/logs"][0])
    record = logs.resource_logs[0].scope_logs[0].log_records[0]
    assert record.body.string_value == "hello over http"
    assert record.trace_id == span.trace_id


_GLOBAL_SCRIPT = """
import logging
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from labkit.config import load_settings
from labkit import telemetry

settings = load_settings(environ={}, otlp_grpc_endpoint="http://127.0.0.1:9")
a = telemetry.setup("svc-a", settings=settings)
assert telemetry.setup("svc-a", settings=settings) is a, "re-running setup must return the same handle"
assert trace.get_tracer_provider() is a.tracer_provider
assert a.log_handler in logging.getLogger().handlers
spans = InMemorySpanExporter()
b = telemetry.setup("svc-b", settings=settings, span_exporter=spans)
assert a.closed and a.log_handler not in logging.getLogger().handlers
assert trace.get_tracer_provider() is b.tracer_provider, "a new service name must replace the globals"
with trace.get_tracer("x").start_as_current_span("on-b"):
    pass
telemetry.flush()
assert [s.resource.attributes["service.name"] for s in spans.get_finished_spans()] == ["svc-b"]
telemetry.shutdown()
telemetry.shutdown()
print("ok")
"""


def test_global_setup_is_idempotent_and_replaceable() -> None:
    # A subprocess: the OpenTelemetry globals must not leak into other tests of this session.
    done = subprocess.run(
        [sys.executable, "-W", "error::DeprecationWarning", "-c", _GLOBAL_SCRIPT],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
