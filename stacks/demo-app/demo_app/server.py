"""The demo web service: a WSGI app on the standard library's server, traced automatically.

Endpoints (all JSON):
  GET /          a greeting
  GET /healthz   liveness for the container HEALTHCHECK (not traced: probes are noise)
  GET /work?n=   does some CPU work in manual child spans
  GET /flaky     fails with HTTP 500 at DEMO_FAIL_RATE, drawn from a seeded generator
  GET /slow      sleeps DEMO_SLOW_SECONDS (default 0.3 s) inside a manual span
Every request counts in ``demo.requests`` and times in ``demo.request.duration`` (seconds,
with the HTTP semantic conventions' bucket boundaries); the WSGI instrumentation adds the
stable ``http.server.request.duration``. Log lines carry the trace and span ids both on
stdout and in the OTLP log records.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from opentelemetry import metrics, trace
from opentelemetry.instrumentation.wsgi import OpenTelemetryMiddleware
from opentelemetry.trace import Status, StatusCode

from demo_app.telemetry import QuietExporterFilter, TraceContextFilter, setup, stable_http_semconv

__all__ = ["DURATION_BUCKETS_S", "DemoApp", "main"]

log = logging.getLogger("demo_app")
StartResponse = Callable[..., Any]
# The advisory boundaries of the HTTP semantic conventions for request durations, in seconds.
# Without them the SDK falls back to its default boundaries (0, 5, 10, 25 ... 10000), which
# suit milliseconds: every request of this app would land in the first bucket or two and a
# p95 from histogram_quantile() would be an interpolation inside [0, 5] s, i.e. meaningless.
DURATION_BUCKETS_S: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
)  # fmt: skip


class DemoApp:
    """The WSGI application; state (the seeded generator) lives here, not in globals."""

    def __init__(
        self,
        seed: int,
        fail_rate: float,
        slow_seconds: float,
        *,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0:
            raise ValueError(f"DEMO_FAIL_RATE must be between 0 and 1, got {fail_rate}")
        self._rng = random.Random(seed)
        self._rng_lock = threading.Lock()  # the server is threaded; draws must stay reproducible
        self.fail_rate = fail_rate
        self.slow_seconds = slow_seconds
        self.tracer = trace.get_tracer("demo_app")
        meter = metrics.get_meter("demo_app", meter_provider=meter_provider)
        self.requests = meter.create_counter(
            "demo.requests", unit="{request}", description="HTTP requests served"
        )
        self.duration = meter.create_histogram(
            "demo.request.duration",
            unit="s",
            description="time to serve a request",
            explicit_bucket_boundaries_advisory=DURATION_BUCKETS_S,
        )

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "/")
        route = path if path in _ROUTES else "other"
        try:
            status, body = _ROUTES.get(path, DemoApp._not_found)(self, environ)
        except Exception as exc:
            log.exception("unhandled error on %s", path)
            status, body = 500, {"error": type(exc).__name__}
        if route != "/healthz":
            attrs = {"http.route": route, "http.response.status_code": status}
            self.requests.add(1, attrs)
            self.duration.record(time.perf_counter() - started, attrs)
        payload = json.dumps(body).encode()
        reason = {200: "OK", 404: "Not Found", 500: "Internal Server Error"}.get(status, "")
        start_response(
            f"{status} {reason}",
            [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
        )
        return [payload]

    def _index(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        log.info("hello served")
        return 200, {"service": "demo-app", "endpoints": sorted(_ROUTES)}

    def _health(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"status": "ok"}

    def _work(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        try:
            n = int(query.get("n", ["20000"])[0])
        except ValueError:
            return 400, {"error": "n must be an integer"}
        n = max(1, min(n, 2_000_000))
        with self.tracer.start_as_current_span("compute") as span:
            span.set_attribute("demo.n", n)
            total = sum(i * i for i in range(n))
            with self.tracer.start_as_current_span("format"):
                digest = format(total % 1_000_003, "x")
        log.info("work done n=%d", n)
        return 200, {"n": n, "digest": digest}

    def _flaky(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._rng_lock:
            draw = self._rng.random()
        with self.tracer.start_as_current_span("flaky-dependency") as span:
            if draw < self.fail_rate:
                span.set_status(Status(StatusCode.ERROR, "dependency failed"))
                span.set_attribute("demo.draw", draw)
                log.error("flaky dependency failed (draw=%.3f < fail_rate=%.2f)", draw, self.fail_rate)
                return 500, {"error": "dependency failed"}
        log.info("flaky dependency answered")
        return 200, {"ok": True}

    def _slow(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self.tracer.start_as_current_span("slow-query") as span:
            span.set_attribute("demo.sleep_seconds", self.slow_seconds)
            time.sleep(self.slow_seconds)
        log.warning("slow request took %.2f s", self.slow_seconds)
        return 200, {"slept": self.slow_seconds}

    def _not_found(self, environ: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 404, {"error": f"no route {environ.get('PATH_INFO')}"}


_ROUTES: dict[str, Callable[[DemoApp, dict[str, Any]], tuple[int, dict[str, Any]]]] = {
    "/": DemoApp._index,
    "/healthz": DemoApp._health,
    "/work": DemoApp._work,
    "/flaky": DemoApp._flaky,
    "/slow": DemoApp._slow,
}


class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True  # a slow request must not block shutdown


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw else default
    except ValueError:
        raise SystemExit(f"{name} must be a number, got {raw!r}") from None


def main() -> None:
    handler = logging.StreamHandler()
    handler.addFilter(TraceContextFilter())
    handler.addFilter(QuietExporterFilter())
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s trace_id=%(trace_id)s span_id=%(span_id)s %(message)s"
        )
    )
    logging.basicConfig(level=os.environ.get("DEMO_LOG_LEVEL", "INFO").upper(), handlers=[handler])
    telemetry = setup("demo-app", log)
    app = DemoApp(
        seed=int(_env_float("DEMO_SEED", 7)),
        fail_rate=_env_float("DEMO_FAIL_RATE", 0.3),
        slow_seconds=_env_float("DEMO_SLOW_SECONDS", 0.3),
    )
    semconv = stable_http_semconv()  # before the middleware: it reads the opt-in once
    wsgi = OpenTelemetryMiddleware(
        app, tracer_provider=telemetry.tracer_provider, meter_provider=telemetry.meter_provider
    )
    host = os.environ.get("DEMO_HOST", "0.0.0.0")  # inside a container; labkit publishes on 127.0.0.1
    port = int(_env_float("PORT", 8000))
    server = make_server(
        host, port, _skip_health(wsgi, app), server_class=_ThreadingServer, handler_class=_QuietHandler
    )

    def stop(signum: int, frame: object) -> None:
        # shutdown() blocks until serve_forever returns, so it must run on another thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    log.info(
        "demo-app listening on %s:%d, exporting OTLP to %s (semconv opt-in: %s)",
        host,
        port,
        telemetry.endpoint,
        semconv,
    )
    try:
        server.serve_forever()
    finally:
        server.server_close()
        log.info("demo-app stopped")
        telemetry.shutdown()


def _skip_health(traced: Callable[..., Iterable[bytes]], plain: DemoApp) -> Callable[..., Iterable[bytes]]:
    """Route health probes around the tracing middleware: one span every 5 s is noise."""

    def dispatch(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            return plain(environ, start_response)
        return traced(environ, start_response)

    return dispatch
