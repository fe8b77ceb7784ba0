"""OTLP/HTTP receiver: ``POST /v1/traces|metrics|logs`` answered like the OpenTelemetry collector.

Success is ``{"partialSuccess":{}}`` for JSON requests and an empty
``Export*ServiceResponse`` for protobuf ones; a refused request gets a
``google.rpc.Status`` (``{"code":3,"message":...}``) in the request's own
encoding, except 415, which is plain text because there is no encoding to answer in
(Tempo does the same). The answer comes only after the batch is committed.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from google.rpc import code_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from labkit.lgtm.context import ServerContext
from labkit.lgtm.otlp.decode import DecodeError, Signal, media_kind
from labkit.lgtm.otlp.ingest import StoreUnavailable, ingest

__all__ = ["PATHS", "add_otlp_route", "add_routes", "otlp_handler"]

log = logging.getLogger("labkit.lgtm.otlp.http")

PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_EMPTY_RESPONSES = {
    "traces": ExportTraceServiceResponse().SerializeToString(),
    "metrics": ExportMetricsServiceResponse().SerializeToString(),
    "logs": ExportLogsServiceResponse().SerializeToString(),
}
_PROTOBUF = "application/x-protobuf"
_GRPC_CODES = {400: code_pb2.INVALID_ARGUMENT, 413: code_pb2.RESOURCE_EXHAUSTED, 501: code_pb2.UNIMPLEMENTED}


def _status_response(status: int, message: str, kind: str) -> web.Response:
    code = _GRPC_CODES.get(status, code_pb2.INTERNAL)
    if kind == "protobuf":
        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return web.Response(status=status, body=body, content_type=_PROTOBUF)
    return web.Response(
        status=status,
        text=json.dumps({"code": code, "message": message}, ensure_ascii=False),
        content_type="application/json",
    )


def otlp_handler(
    ctx: ServerContext, signal: Signal
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """An aiohttp handler that ingests one OTLP ``signal`` export request."""
    limit = ctx.settings.ingest_max_body_bytes

    async def handle(request: web.Request) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type")
        try:
            kind = media_kind(content_type)
        except DecodeError as exc:
            return web.Response(status=exc.status, text=exc.message, content_type="text/plain")
        too_large = f"request body too large: more than the limit of {limit} bytes"
        if request.content_length is not None and request.content_length > limit:
            return _status_response(413, too_large, kind)
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return _status_response(413, too_large, kind)
        try:
            await ingest(ctx, signal, body, content_type, request.headers.get("Content-Encoding"))
        except DecodeError as exc:
            return _status_response(exc.status, exc.message, kind)
        except StoreUnavailable as exc:
            return _status_response(501, str(exc), kind)
        except Exception as exc:
            # A bug, not bad data: keep the traceback in the server log and still answer
            # in the OTLP shape so exporters print something readable.
            log.exception("storing a %s batch failed", signal)
            return _status_response(500, f"internal error storing the {signal} batch: {exc!r}", kind)
        if kind == "protobuf":
            return web.Response(body=_EMPTY_RESPONSES[signal], content_type=_PROTOBUF)
        return web.Response(text='{"partialSuccess":{}}', content_type="application/json")

    return handle


def add_otlp_route(app: web.Application, ctx: ServerContext, path: str, signal: Signal) -> None:
    """Mount an OTLP/HTTP receiver for ``signal`` at ``path`` (Tempo and Loki reuse this)."""
    app.router.add_post(path, otlp_handler(ctx, signal))


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    """The OTLP/HTTP port: ``/v1/traces``, ``/v1/metrics``, ``/v1/logs``."""
    for path, signal in PATHS.items():
        add_otlp_route(app, ctx, path, signal)
