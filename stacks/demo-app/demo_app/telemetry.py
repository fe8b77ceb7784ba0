"""OpenTelemetry setup: traces, metrics and logs over OTLP/HTTP, never fatal to the app.

The exporters run in background threads (batch span/log processors, periodic metric
reader); when no collector answers they fail there, so a request never waits for or
breaks on telemetry. Their retry warnings are turned down to one line per failure kind
so the container log stays readable.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

__all__ = ["QuietExporterFilter", "Telemetry", "TraceContextFilter", "setup"]


class TraceContextFilter(logging.Filter):
    """Adds ``trace_id``/``span_id`` of the current span to every record for the text log."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = trace.get_current_span().get_span_context()
        record.trace_id = format(ctx.trace_id, "032x") if ctx.is_valid else "-"
        record.span_id = format(ctx.span_id, "016x") if ctx.is_valid else "-"
        return True


class QuietExporterFilter(logging.Filter):
    """Lets each distinct exporter complaint through once: a missing collector is one fact.

    A handler filter, because logger filters do not apply to records of child loggers.
    """

    def __init__(self) -> None:
        super().__init__()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not record.name.startswith(("opentelemetry", "urllib3")):
            return True
        key = record.name + record.getMessage().split(":")[0][:80]
        if key in self._seen:
            return False
        self._seen.add(key)
        return True


@dataclass
class Telemetry:
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    endpoint: str

    def shutdown(self) -> None:
        for provider in (self.tracer_provider, self.meter_provider, self.logger_provider):
            try:
                provider.shutdown()
            except Exception:
                logging.getLogger("demo_app").debug("telemetry shutdown failed", exc_info=True)


def setup(service_name: str, app_logger: logging.Logger) -> Telemetry:
    """Install global providers exporting to ``OTEL_EXPORTER_OTLP_ENDPOINT`` (HTTP, port 4318)."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318").rstrip("/")
    timeout = float(os.environ.get("OTEL_EXPORTER_OTLP_TIMEOUT", "3"))
    resource = Resource.create(
        {
            "service.name": os.environ.get("OTEL_SERVICE_NAME", service_name),
            "service.namespace": "labkit",
            "service.version": "1.0.0",
            "service.instance.id": socket.gethostname(),
            "deployment.environment": os.environ.get("DEPLOYMENT_ENVIRONMENT", "lab"),
        }
    )
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        BatchSpanProcessor(OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout))
    )
    trace.set_tracer_provider(tracer_provider)

    interval_ms = int(os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "10000"))
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=timeout),
        export_interval_millis=interval_ms,
    )
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)

    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(
        BatchLogRecordProcessor(OTLPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=timeout))
    )
    set_logger_provider(logger_provider)
    # Only the app's logger goes to OTLP: the exporters' own complaints must not loop back.
    app_logger.addHandler(LoggingHandler(level=logging.INFO, logger_provider=logger_provider))
    return Telemetry(tracer_provider, meter_provider, logger_provider, endpoint)
