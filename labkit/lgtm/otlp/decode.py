"""Pure OTLP decoders: request bytes -> opentelemetry-proto messages, and values -> JSON.

The HTTP and gRPC receivers share these functions so both transports accept and
reject exactly the same payloads. Nothing here does I/O.

OTLP/JSON differs from the canonical protobuf JSON mapping in one way that matters:
trace and span ids are hex strings, not base64 (OTLP spec, "JSON Protobuf
Encoding"). Enums may be numbers or names and 64-bit integers numbers or strings;
``json_format`` already accepts both. Unknown fields are ignored, as the spec
requires of receivers.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import zlib
from collections.abc import Iterable
from typing import Any, Literal

from google.protobuf import json_format
from google.protobuf.message import DecodeError as ProtobufDecodeError
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

__all__ = [
    "JSON_TYPES",
    "PROTOBUF_TYPES",
    "REQUEST_TYPES",
    "DecodeError",
    "Signal",
    "any_value_to_json",
    "any_value_to_python",
    "attributes_to_json",
    "attributes_to_json_text",
    "attributes_to_python",
    "decode_request",
    "decompress",
    "hex_id",
    "json_value_to_python",
    "media_kind",
    "validate_request",
]

Signal = Literal["traces", "metrics", "logs"]
OTLPRequest = ExportTraceServiceRequest | ExportMetricsServiceRequest | ExportLogsServiceRequest

REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}
PROTOBUF_TYPES = frozenset({"application/x-protobuf", "application/protobuf"})
JSON_TYPES = frozenset({"application/json"})
# Word for word what Tempo's (and the collector's) OTLP receiver answers.
UNSUPPORTED_MEDIA_MESSAGE = (
    "415 unsupported media type, supported: [application/json, application/x-protobuf]"
)

_compact = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_quote = json.encoder.encode_basestring  # type: ignore[attr-defined]

# Dict keys whose string values are hex ids in OTLP/JSON (camelCase and the proto names).
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})


class DecodeError(ValueError):
    """A request the receiver refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def media_kind(content_type: str | None) -> Literal["protobuf", "json"]:
    """Classify a Content-Type header; DecodeError(415) for anything else."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if base in PROTOBUF_TYPES:
        return "protobuf"
    if base in JSON_TYPES:
        return "json"
    raise DecodeError(UNSUPPORTED_MEDIA_MESSAGE, status=415)


def _too_large(size: str, max_bytes: int) -> DecodeError:
    return DecodeError(f"request body too large: {size} exceeds the limit of {max_bytes} bytes", status=413)


def decompress(body: bytes, content_encoding: str | None, max_bytes: int | None = None) -> bytes:
    """Undo Content-Encoding (identity, gzip, deflate) without ever inflating past ``max_bytes``.

    A few KB of gzip can expand to gigabytes, so the limit applies to the inflated
    size while inflating, not after.
    """
    if max_bytes is not None and len(body) > max_bytes:
        raise _too_large(f"{len(body)} bytes", max_bytes)
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif encoding == "deflate":
        wbits = zlib.MAX_WBITS
    else:
        raise DecodeError(
            f"unsupported Content-Encoding {content_encoding!r}, supported: [gzip, deflate, identity]",
            status=415,
        )
    inflater = zlib.decompressobj(wbits)
    limit = max_bytes if max_bytes is not None else 0  # 0 = unlimited for zlib
    try:
        out = inflater.decompress(body, limit + 1 if limit else 0)
        if limit and (len(out) > limit or inflater.unconsumed_tail):
            raise _too_large(f"the {encoding}-decoded body", limit)
        out += inflater.flush()
    except zlib.error as exc:
        raise DecodeError(f"invalid {encoding} body: {exc}") from None
    if not inflater.eof:
        raise DecodeError(f"invalid {encoding} body: truncated stream")
    if limit and len(out) > limit:
        raise _too_large(f"the {encoding}-decoded body", limit)
    return out


def _hex_ids_to_base64(node: Any, path: str) -> Any:
    """Rewrite OTLP/JSON hex ids into the base64 that ``json_format`` expects, in place."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else key
            if key in _ID_KEYS and isinstance(value, str):
                try:
                    raw = bytes.fromhex(value)
                except ValueError:
                    raise DecodeError(f"{where}: invalid hex id {value[:40]!r}") from None
                node[key] = base64.b64encode(raw).decode("ascii")
            elif isinstance(value, dict | list):
                _hex_ids_to_base64(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, dict | list):
                _hex_ids_to_base64(item, f"{path}[{i}]")
    return node


def _decode_json(signal: str, body: bytes) -> Message:
    try:
        text = body.decode("utf-8")
        data = json.loads(text)
    except UnicodeDecodeError as exc:
        raise DecodeError(f"invalid OTLP/JSON {signal} request: body is not UTF-8 ({exc.reason})") from None
    except json.JSONDecodeError as exc:
        raise DecodeError(
            f"invalid OTLP/JSON {signal} request: {exc.msg} at line {exc.lineno} column {exc.colno}"
        ) from None
    except RecursionError:
        raise DecodeError(f"invalid OTLP/JSON {signal} request: nested too deeply") from None
    if not isinstance(data, dict):
        raise DecodeError(
            f"invalid OTLP/JSON {signal} request: expected a JSON object, got {type(data).__name__}"
        )
    message = REQUEST_TYPES[signal]()
    try:
        _hex_ids_to_base64(data, "")
        json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except RecursionError:
        raise DecodeError(f"invalid OTLP/JSON {signal} request: nested too deeply") from None
    except json_format.ParseError as exc:
        raise DecodeError(f"invalid OTLP/JSON {signal} request: {exc}") from None
    except (ValueError, TypeError, AttributeError) as exc:
        # json_format lets a few wrong-type cases escape as builtin errors.
        raise DecodeError(f"invalid OTLP/JSON {signal} request: {exc}") from None
    return message


def _decode_protobuf(signal: str, body: bytes) -> Message:
    cls = REQUEST_TYPES[signal]
    try:
        return cls.FromString(body)
    except (ProtobufDecodeError, RecursionError, ValueError) as exc:
        raise DecodeError(f"invalid protobuf {cls.__name__}: {exc or 'cannot parse message'}") from None


def _check_id(value: bytes, sizes: tuple[int, ...], where: str) -> None:
    if len(value) not in sizes:
        want = " or ".join("empty" if s == 0 else f"{s} bytes" for s in sizes)
        raise DecodeError(f"{where}: must be {want}, got {len(value)} bytes")


def validate_request(signal: str, request: Message) -> None:
    """Reject what the wire format allows but no backend can store (wrong id lengths).

    Validation happens before storing, so one bad span refuses the whole batch: the
    batch is all-or-nothing and the error names the first offending field.
    """
    if signal == "traces":
        for r, rs in enumerate(request.resource_spans):  # type: ignore[attr-defined]
            for s, ss in enumerate(rs.scope_spans):
                for i, span in enumerate(ss.spans):
                    # The common, valid span costs three len() calls; the message is built on failure.
                    if (
                        len(span.trace_id) == 16
                        and len(span.span_id) == 8
                        and len(span.parent_span_id) in (0, 8)
                        and not span.links
                    ):
                        continue
                    where = f"resourceSpans[{r}].scopeSpans[{s}].spans[{i}]"
                    _check_id(span.trace_id, (16,), where + ".traceId")
                    _check_id(span.span_id, (8,), where + ".spanId")
                    _check_id(span.parent_span_id, (0, 8), where + ".parentSpanId")
                    for k, link in enumerate(span.links):
                        _check_id(link.trace_id, (16,), f"{where}.links[{k}].traceId")
                        _check_id(link.span_id, (8,), f"{where}.links[{k}].spanId")
    elif signal == "logs":
        for r, rl in enumerate(request.resource_logs):  # type: ignore[attr-defined]
            for s, sl in enumerate(rl.scope_logs):
                for i, record in enumerate(sl.log_records):
                    where = f"resourceLogs[{r}].scopeLogs[{s}].logRecords[{i}]"
                    _check_id(record.trace_id, (0, 16), where + ".traceId")
                    _check_id(record.span_id, (0, 8), where + ".spanId")


def decode_request(
    signal: Signal,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
    max_bytes: int | None = None,
) -> Any:
    """Decode one OTLP export request (protobuf or OTLP/JSON, optionally gzip) and validate it.

    Raises DecodeError with status 400 (malformed), 413 (over ``max_bytes``,
    compressed or inflated) or 415 (unsupported Content-Type or Content-Encoding).
    """
    if signal not in REQUEST_TYPES:
        raise ValueError(f"unknown OTLP signal {signal!r}; expected one of {sorted(REQUEST_TYPES)}")
    kind = media_kind(content_type)
    raw = decompress(body, content_encoding, max_bytes)
    message = _decode_json(signal, raw) if kind == "json" else _decode_protobuf(signal, raw)
    validate_request(signal, message)
    return message


def hex_id(b: bytes) -> str:
    """Lowercase hex of a trace/span id; '' for an empty id."""
    return b.hex()


def any_value_to_json(v: AnyValue) -> dict[str, Any]:
    """An AnyValue in protobuf-JSON form as Tempo prints it (ints as strings, bytes as base64)."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return {"stringValue": v.string_value}
    if kind == "int_value":
        return {"intValue": str(v.int_value)}
    if kind == "bool_value":
        return {"boolValue": v.bool_value}
    if kind == "double_value":
        return {"doubleValue": _double(v.double_value)}
    if kind == "array_value":
        return {"arrayValue": {"values": [any_value_to_json(x) for x in v.array_value.values]}}
    if kind == "kvlist_value":
        return {"kvlistValue": {"values": attributes_to_json(v.kvlist_value.values)}}
    if kind == "bytes_value":
        return {"bytesValue": base64.b64encode(v.bytes_value).decode("ascii")}
    return {}


def _double(x: float) -> float | str:
    # Proto3 JSON spells non-finite doubles as strings; bare NaN is not JSON at all.
    if math.isfinite(x):
        return x
    return "NaN" if math.isnan(x) else ("Infinity" if x > 0 else "-Infinity")


def attributes_to_json_text(kvs: Iterable[KeyValue]) -> str:
    """``json.dumps(attributes_to_json(kvs))`` (compact, UTF-8 kept), built directly.

    The span store calls this for every span, resource and scope on ingest; skipping
    the intermediate dicts for the common scalar values roughly halves its cost.
    """
    parts = []
    for kv in kvs:
        v = kv.value
        kind = v.WhichOneof("value")
        if kind == "string_value":
            value = '{"stringValue":' + _quote(v.string_value) + "}"
        elif kind == "int_value":
            value = '{"intValue":"' + str(v.int_value) + '"}'
        elif kind == "bool_value":
            value = '{"boolValue":true}' if v.bool_value else '{"boolValue":false}'
        else:
            value = _compact(any_value_to_json(v))
        parts.append('{"key":' + _quote(kv.key) + ',"value":' + value + "}")
    return "[" + ",".join(parts) + "]"


def attributes_to_json(kvs: Iterable[KeyValue]) -> list[dict[str, Any]]:
    """KeyValue list -> ``[{"key": k, "value": {...}}]``, original order and value types kept."""
    out = []
    for kv in kvs:
        v = kv.value
        # Fast path: most attributes are strings, and this runs for every span on ingest.
        if v.WhichOneof("value") == "string_value":
            out.append({"key": kv.key, "value": {"stringValue": v.string_value}})
        else:
            out.append({"key": kv.key, "value": any_value_to_json(v)})
    return out


def any_value_to_python(v: AnyValue) -> object:
    """An AnyValue as a plain Python value (int, float, bool, str, bytes, list, dict, or None)."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value_to_python(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return attributes_to_python(v.kvlist_value.values)
    return getattr(v, kind)


def attributes_to_python(kvs: Iterable[KeyValue]) -> dict[str, object]:
    return {kv.key: any_value_to_python(kv.value) for kv in kvs}


def json_value_to_python(value: dict[str, Any]) -> object:
    """Inverse of :func:`any_value_to_json` for values read back from the store."""
    if not value:
        return None
    (kind, inner), *_ = value.items()
    if kind == "intValue":
        return int(inner)
    if kind == "arrayValue":
        return [json_value_to_python(x) for x in inner.get("values", [])]
    if kind == "kvlistValue":
        return {kv["key"]: json_value_to_python(kv.get("value", {})) for kv in inner.get("values", [])}
    if kind == "bytesValue":
        try:
            return base64.b64decode(inner)
        except binascii.Error:
            return inner
    return inner
