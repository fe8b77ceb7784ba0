"""OTLP/gRPC receiver: the trace, metrics and logs collector services on grpc.aio.

The services take the raw request bytes (no deserializer) so that a malformed
message reaches the shared decoder and is answered INVALID_ARGUMENT with the
decoder's message, exactly as over HTTP, instead of grpc's generic INTERNAL.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from labkit.lgtm.context import ServerContext
from labkit.lgtm.otlp.decode import DecodeError, Signal
from labkit.lgtm.otlp.ingest import StoreUnavailable, ingest

__all__ = ["SERVICES", "add_services", "create_server"]

log = logging.getLogger("labkit.lgtm.otlp.grpc")

# signal -> (fully qualified service name, response type)
SERVICES: dict[Signal, tuple[str, Any]] = {
    "traces": ("opentelemetry.proto.collector.trace.v1.TraceService", ExportTraceServiceResponse),
    "metrics": ("opentelemetry.proto.collector.metrics.v1.MetricsService", ExportMetricsServiceResponse),
    "logs": ("opentelemetry.proto.collector.logs.v1.LogsService", ExportLogsServiceResponse),
}
_STATUS = {413: grpc.StatusCode.RESOURCE_EXHAUSTED, 415: grpc.StatusCode.INVALID_ARGUMENT}


def _export_method(ctx: ServerContext, signal: Signal, response_type: Any) -> Any:
    async def export(body: bytes, context: grpc.aio.ServicerContext) -> Any:
        try:
            # grpc has already undone its own message compression; the body is protobuf.
            await ingest(ctx, signal, body, "application/x-protobuf")
        except DecodeError as exc:
            await context.abort(_STATUS.get(exc.status, grpc.StatusCode.INVALID_ARGUMENT), exc.message)
        except StoreUnavailable as exc:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, str(exc))
        except Exception as exc:
            log.exception("storing a %s batch failed", signal)
            await context.abort(
                grpc.StatusCode.INTERNAL, f"internal error storing the {signal} batch: {exc!r}"
            )
        return response_type()

    return export


def add_services(server: grpc.aio.Server, ctx: ServerContext) -> None:
    handlers = []
    for signal, (service, response_type) in SERVICES.items():
        method = grpc.unary_unary_rpc_method_handler(
            _export_method(ctx, signal, response_type),
            request_deserializer=None,
            response_serializer=response_type.SerializeToString,
        )
        handlers.append(grpc.method_handlers_generic_handler(service, {"Export": method}))
    server.add_generic_rpc_handlers(tuple(handlers))


def create_server(ctx: ServerContext) -> grpc.aio.Server:
    """A grpc.aio server (on the running loop) with the three OTLP services, not yet bound."""
    limit = ctx.settings.ingest_max_body_bytes
    server = grpc.aio.server(
        options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 4 * 1024 * 1024),
            # One process per data dir: never share the port with another server.
            ("grpc.so_reuseport", 0),
        ]
    )
    add_services(server, ctx)
    return server
