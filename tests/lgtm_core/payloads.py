"""Deterministic OTLP request builders shared by the core tests and the benchmark."""

from __future__ import annotations

import random
import time

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.testing import add_attribute

T0 = 1_795_000_000_000_000_000


def make_traces(
    n: int, seed: int = 0, t0: int | None = None, service: str = "shop"
) -> ExportTraceServiceRequest:
    rnd = random.Random(seed)
    t0 = time.time_ns() if t0 is None else t0
    req = ExportTraceServiceRequest()
    rs = req.resource_spans.add()
    add_attribute(rs.resource.attributes, "service.name", service)
    add_attribute(rs.resource.attributes, "host.name", "host-1")
    ss = rs.scope_spans.add()
    ss.scope.name = "labkit.tests"
    ss.scope.version = "1.0"
    trace_id = rnd.randbytes(16)
    parent = b""
    for i in range(n):
        if i % 5 == 0:
            trace_id, parent = rnd.randbytes(16), b""
        span = ss.spans.add()
        span.trace_id = trace_id
        span.span_id = rnd.randbytes(8)
        span.parent_span_id = parent
        parent = parent or span.span_id
        span.name = f"GET /items/{i % 7}"
        span.kind = 2 if not span.parent_span_id else 3
        span.start_time_unix_nano = t0 + i * 1_000
        span.end_time_unix_nano = t0 + i * 1_000 + rnd.randint(1, 50) * 1_000_000
        add_attribute(span.attributes, "http.route", "/items/{id}")
        add_attribute(span.attributes, "http.response.status_code", 200 if i % 9 else 500)
        add_attribute(span.attributes, "cache.hit", bool(i % 2))
        add_attribute(span.attributes, "payment.amount", 12.5)
        span.status.code = 2 if i % 9 == 0 else 1
        if i % 9 == 0:
            span.status.message = "boom"
            ev = span.events.add()
            ev.name = "exception"
            ev.time_unix_nano = span.start_time_unix_nano + 1
            add_attribute(ev.attributes, "exception.type", "TimeoutError")
    return req


def make_logs(
    n: int, seed: int = 0, t0: int | None = None, service: str = "shop"
) -> ExportLogsServiceRequest:
    rnd = random.Random(seed)
    t0 = time.time_ns() if t0 is None else t0
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    add_attribute(rl.resource.attributes, "service.name", service)
    add_attribute(rl.resource.attributes, "deployment.environment", "test")
    sl = rl.scope_logs.add()
    sl.scope.name = "labkit.tests"
    for i in range(n):
        rec = sl.log_records.add()
        rec.time_unix_nano = t0 + i * 1_000
        rec.observed_time_unix_nano = t0 + i * 1_000
        rec.severity_number = 9 if i % 4 else 17
        rec.severity_text = "INFO" if i % 4 else "ERROR"
        rec.body.string_value = f"request {i} status={200 if i % 4 else 500} duration={rnd.randint(1, 900)}ms"
        if i % 3 == 0:
            rec.trace_id = rnd.randbytes(16)
            rec.span_id = rnd.randbytes(8)
        add_attribute(rec.attributes, "user.id", f"u{i % 13}")
    return req


def make_metrics(seed: int = 0, t0: int | None = None, service: str = "shop") -> ExportMetricsServiceRequest:
    rnd = random.Random(seed)
    t0 = time.time_ns() if t0 is None else t0
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    add_attribute(rm.resource.attributes, "service.name", service)
    sm = rm.scope_metrics.add()
    sm.scope.name = "labkit.tests"
    m = sm.metrics.add()
    m.name = "http.server.requests"
    m.unit = "1"
    m.sum.aggregation_temporality = 2
    m.sum.is_monotonic = True
    for route in ("/a", "/b"):
        dp = m.sum.data_points.add()
        dp.start_time_unix_nano = t0 - 10_000_000_000
        dp.time_unix_nano = t0
        dp.as_int = rnd.randint(1, 100)
        add_attribute(dp.attributes, "http.route", route)
    g = sm.metrics.add()
    g.name = "queue.depth"
    dp = g.gauge.data_points.add()
    dp.time_unix_nano = t0
    dp.as_double = rnd.random()
    return req
