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
import threading
import time
from collections.abc import MutableMapping
from dataclasses import dataclass
from urllib.parse import urlsplit

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

__all__ = [
    "SEMCONV_OPT_IN",
    "QuietExporterFilter",
    "Telemetry",
    "TraceContextFilter",
    "setup",
    "stable_http_semconv",
]

SEMCONV_OPT_IN = "OTEL_SEMCONV_STABILITY_OPT_IN"


def stable_http_semconv(environ: MutableMapping[str, str] | None = None) -> str:
    """Opt in to the stable HTTP semantic conventions unless the operator already chose a mode.

    The WSGI instrumentation still defaults to the old conventions (``http.server.duration``
    in milliseconds); the stable ``http.server.request.duration`` is in seconds with the
    semconv bucket boundaries, which is what the dashboards query as
    ``http_server_request_duration_seconds_bucket``. The instrumentation reads the variable
    once, when the first middleware is created, so this must run before that.
    Returns the mode in effect.
    """
    env = os.environ if environ is None else environ
    if not env.get(SEMCONV_OPT_IN, "").strip():
        env[SEMCONV_OPT_IN] = "http"
    return env[SEMCONV_OPT_IN]


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
    timeout_s: float = 3.0

    def shutdown(self) -> None:
        """Flush and stop the three providers, in parallel and within one exporter timeout.

        Each final export retries until the exporter's timeout when no collector answers
        (the Docker lesson runs the app without one); one after the other that is three
        timeouts, longer than ``docker stop`` waits before it kills the process. In
        parallel, with a shared deadline, stopping takes at most about one; and when
        nothing even accepts a connection at the endpoint, the data has nowhere to go, so
        waiting for the retries would only delay the exit.
        """
        budget = self.timeout_s + 0.5 if _accepts_connections(self.endpoint) else 0.2
        threads = [
            threading.Thread(target=_shutdown_quietly, args=(provider,), daemon=True)
            for provider in (self.tracer_provider, self.meter_provider, self.logger_provider)
        ]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + budget
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))


def _accepts_connections(endpoint: str, timeout_s: float = 0.5) -> bool:
    url = urlsplit(endpoint)
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
        with socket.create_connection((url.hostname or "127.0.0.1", port), timeout=timeout_s):
            return True
    except (OSError, ValueError):
        return False


def _shutdown_quietly(provider: TracerProvider | MeterProvider | LoggerProvider) -> None:
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
    return Telemetry(tracer_provider, meter_provider, logger_provider, endpoint, timeout)
