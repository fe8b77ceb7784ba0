"""One call that wires tracer, meter and logger providers to an OTLP endpoint.

A notebook kernel calls ``setup()`` once (re-running the cell with the same
arguments returns the same handle) and ``shutdown()`` at the end, so batched spans,
metric points and log records reach the collector before the kernel exits.
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from opentelemetry import _logs as logs_api
from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor, LogRecordExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from labkit.config import Settings, load_settings

__all__ = [
    "Protocol",
    "Telemetry",
    "TelemetryError",
    "current",
    "flush",
    "make_resource",
    "setup",
    "shutdown",
]

Protocol = Literal["grpc", "http"]
_log = logging.getLogger(__name__)


class TelemetryError(RuntimeError):
    """Telemetry could not be configured; the message says what to change."""


@dataclass
class Telemetry:
    """The configured providers of one service, with helpers to flush and stop them."""

    service_name: str
    protocol: Protocol
    endpoint: str
    resource: Resource
    tracer_provider: TracerProvider
    meter_provider: MeterProvider
    logger_provider: LoggerProvider
    log_handler: logging.Handler | None = None
    is_global: bool = False
    _key: tuple[Any, ...] = field(default=(), repr=False)
    _closed: bool = field(default=False, repr=False)

    def tracer(self, name: str = "labkit", version: str | None = None) -> trace_api.Tracer:
        return self.tracer_provider.get_tracer(name, version)

    def meter(self, name: str = "labkit", version: str | None = None) -> metrics_api.Meter:
        return self.meter_provider.get_meter(name, version)

    def logger(self, name: str | None = None) -> logging.Logger:
        """A stdlib logger whose records travel over OTLP (with the active span's ids)."""
        logger = logging.getLogger(name or self.service_name)
        if self.log_handler is not None and not self.is_global and self.log_handler not in logger.handlers:
            logger.addHandler(self.log_handler)
        return logger

    @property
    def closed(self) -> bool:
        return self._closed

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Export everything buffered now; True when every provider confirmed within the timeout."""
        if self._closed:
            return True
        millis = int(timeout_s * 1000)
        ok = bool(self.tracer_provider.force_flush(millis))
        ok = bool(self.meter_provider.force_flush(millis)) and ok
        ok = bool(self.logger_provider.force_flush(millis)) and ok
        return ok

    def shutdown(self, timeout_s: float = 10.0) -> None:
        """Flush and stop the providers; safe to call more than once."""
        if self._closed:
            return
        self.flush(timeout_s)
        self._closed = True
        if self.log_handler is not None:
            for logger in {logging.getLogger(), logging.getLogger(self.service_name)}:
                if self.log_handler in logger.handlers:
                    logger.removeHandler(self.log_handler)
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown(timeout_millis=timeout_s * 1000)
        self.logger_provider.shutdown()


_lock = threading.Lock()
_current: Telemetry | None = None
_atexit_registered = False


def _exporters(
    protocol: Protocol, endpoint: str, timeout_s: float
) -> tuple[SpanExporter, MetricExporter, LogRecordExporter]:
    if protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        insecure = endpoint.startswith("http://")
        return (
            OTLPSpanExporter(endpoint=endpoint, insecure=insecure, timeout=timeout_s),
            OTLPMetricExporter(endpoint=endpoint, insecure=insecure, timeout=timeout_s),
            OTLPLogExporter(endpoint=endpoint, insecure=insecure, timeout=timeout_s),
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HTTPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
        OTLPMetricExporter as HTTPMetricExporter,
    )
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HTTPSpanExporter

    # The HTTP exporters take the full signal URL when an endpoint is passed explicitly.
    return (
        HTTPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout_s),
        HTTPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=timeout_s),
        HTTPLogExporter(endpoint=f"{endpoint}/v1/logs", timeout=timeout_s),
    )


def make_resource(
    service_name: str,
    service_namespace: str = "labkit",
    service_version: str = "0.1.0",
    environment: str = "lab",
    extra: Mapping[str, Any] | None = None,
) -> Resource:
    """The resource every signal carries; ``service.name`` becomes ``job`` and a Loki label downstream."""
    if not service_name or not service_name.strip():
        raise TelemetryError("service_name must be a non-empty string, e.g. setup(service_name='demo-app')")
    attrs: dict[str, Any] = {
        "service.name": service_name,
        "service.namespace": service_namespace,
        "service.version": service_version,
        "deployment.environment": environment,
        # Newer semconv spells it deployment.environment.name; send both so either dashboard works.
        "deployment.environment.name": environment,
    }
    attrs.update(extra or {})
    return Resource.create(attrs)


def _install_globals(telemetry: Telemetry) -> None:
    """Point the OpenTelemetry API globals at these providers.

    The API refuses a second ``set_*_provider`` (it logs and keeps the first), but a
    learner re-running a setup cell with a new service name expects the new one to
    win; the once-guards are reset for that case only, after the old providers were
    shut down.
    """
    for module, once_name in (
        (trace_api, "_TRACER_PROVIDER_SET_ONCE"),
        (metrics_api._internal, "_METER_PROVIDER_SET_ONCE"),
        (logs_api._internal, "_LOGGER_PROVIDER_SET_ONCE"),
    ):
        once = getattr(module, once_name, None)
        if once is not None and getattr(once, "_done", False):
            once._done = False
    trace_api.set_tracer_provider(telemetry.tracer_provider)
    metrics_api.set_meter_provider(telemetry.meter_provider)
    logs_api.set_logger_provider(telemetry.logger_provider)


def setup(
    service_name: str,
    protocol: Protocol = "grpc",
    *,
    settings: Settings | None = None,
    endpoint: str | None = None,
    service_namespace: str = "labkit",
    service_version: str = "0.1.0",
    environment: str = "lab",
    resource_attributes: Mapping[str, Any] | None = None,
    metric_interval_s: float = 5.0,
    export_timeout_s: float = 10.0,
    log_level: int = logging.INFO,
    capture_logging: bool = True,
    set_global: bool = True,
    span_exporter: SpanExporter | None = None,
    metric_reader: MetricReader | None = None,
    log_exporter: LogRecordExporter | None = None,
) -> Telemetry:
    """Configure traces, metrics and logs for ``service_name`` and return the handle.

    ``protocol`` picks OTLP/gRPC (``settings.otlp_grpc_endpoint``) or OTLP/HTTP
    (``settings.otlp_http_endpoint``); ``endpoint`` overrides either. The exporter
    arguments replace the OTLP ones (tests pass in-memory exporters). With
    ``set_global`` the providers become the API globals, so auto-instrumentation
    libraries use them, and stdlib logging on the root logger is bridged to OTLP with
    the active span's trace and span ids.
    """
    global _current, _atexit_registered
    if protocol not in ("grpc", "http"):
        raise TelemetryError(f"protocol must be 'grpc' or 'http', got {protocol!r}")
    if metric_interval_s <= 0:
        raise TelemetryError(f"metric_interval_s must be > 0, got {metric_interval_s}")
    settings = settings or load_settings()
    target = (
        endpoint or (settings.otlp_grpc_endpoint if protocol == "grpc" else settings.otlp_http_endpoint)
    ).rstrip("/")
    key = (
        service_name,
        protocol,
        target,
        service_namespace,
        service_version,
        environment,
        tuple(sorted((resource_attributes or {}).items())),
    )
    custom = span_exporter is not None or metric_reader is not None or log_exporter is not None
    with _lock:
        if set_global and _current is not None and not _current.closed:
            if _current._key == key and not custom:
                return _current  # re-running the setup cell is a no-op
            _current.shutdown(export_timeout_s)

        resource = make_resource(
            service_name, service_namespace, service_version, environment, resource_attributes
        )
        if span_exporter is None or metric_reader is None or log_exporter is None:
            otlp_spans, otlp_metrics, otlp_logs = _exporters(protocol, target, export_timeout_s)
            span_exporter = span_exporter or otlp_spans
            log_exporter = log_exporter or otlp_logs
            if metric_reader is None:
                metric_reader = PeriodicExportingMetricReader(
                    otlp_metrics, export_interval_millis=metric_interval_s * 1000
                )

        tracer_provider = TracerProvider(resource=resource)
        tracer_provider.add_span_processor(BatchSpanProcessor(span_exporter, schedule_delay_millis=1000))
        meter_provider = MeterProvider(resource=resource, metric_readers=[metric_reader])
        logger_provider = LoggerProvider(resource=resource)
        logger_provider.add_log_record_processor(
            BatchLogRecordProcessor(log_exporter, schedule_delay_millis=1000)
        )

        handler: logging.Handler | None = None
        if capture_logging:
            from opentelemetry.instrumentation.logging.handler import LoggingHandler

            handler = LoggingHandler(level=log_level, logger_provider=logger_provider)

        telemetry = Telemetry(
            service_name=service_name,
            protocol=protocol,
            endpoint=target,
            resource=resource,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
            logger_provider=logger_provider,
            log_handler=handler,
            is_global=set_global,
            _key=key,
        )
        if set_global:
            _install_globals(telemetry)
            if handler is not None:
                root = logging.getLogger()
                root.addHandler(handler)
                if root.level > log_level or root.level == logging.NOTSET:
                    root.setLevel(log_level)
            _current = telemetry
            if not _atexit_registered:
                atexit.register(shutdown)
                _atexit_registered = True
        return telemetry


def current() -> Telemetry | None:
    """The handle of the last global ``setup()``, or None."""
    return _current


def flush(timeout_s: float = 10.0) -> bool:
    """Export what the global setup has buffered; True when nothing was left behind (or nothing is set up)."""
    telemetry = _current
    return True if telemetry is None else telemetry.flush(timeout_s)


def shutdown(timeout_s: float = 10.0) -> None:
    """Flush and stop the global setup; safe to call twice and when nothing was set up."""
    telemetry = _current
    if telemetry is not None:
        telemetry.shutdown(timeout_s)
