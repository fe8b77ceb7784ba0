"""Decode Loki push requests: JSON (``/loki/api/v1/push``) and snappy-compressed protobuf.

Alloy and Promtail send ``logproto.PushRequest`` as snappy-block-compressed protobuf.
The message is tiny, so it is decoded by hand from the wire format instead of shipping
generated code:

    PushRequest   { repeated StreamAdapter streams = 1; }
    StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2; uint64 hash = 3; }
    EntryAdapter  { Timestamp timestamp = 1; string line = 2; repeated LabelPair structuredMetadata = 3; }
    LabelPair     { string name = 1; string value = 2; }
    Timestamp     { int64 seconds = 1; int32 nanos = 2; }
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

__all__ = [
    "LokiEntry",
    "LokiPush",
    "LokiStream",
    "PushError",
    "decode_push",
    "decode_push_json",
    "decode_push_protobuf",
    "encode_push_protobuf",
    "jsoniter_error",
]

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


class PushError(ValueError):
    """A push body Loki would refuse with 400; the message is the text/plain answer."""


@dataclass(frozen=True)
class LokiEntry:
    ts_ns: int
    line: str
    metadata: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class LokiStream:
    labels: dict[str, str]
    entries: list[LokiEntry] = field(default_factory=list)


@dataclass(frozen=True)
class LokiPush:
    streams: list[LokiStream]


def jsoniter_error(prefix: str, what: str, text: str, pos: int) -> str:
    """An error worded like json-iterator's, which Loki returns for malformed JSON bodies.

    ``pos`` is the 0-based offset of the offending byte; jsoniter reports the offset
    after it and shows 10 (and 50) bytes of context either side.
    """
    head = min(pos + 1, len(text))
    near = text[max(0, head - 10) : min(len(text), head + 10)]
    bigger = text[max(0, head - 50) : min(len(text), head + 50)]
    return f"{prefix}: {what}, error found in #{head} byte of ...|{near}|..., bigger context ...|{bigger}|..."


def _first_json_problem(text: str, exc: json.JSONDecodeError, object_prefix: str, key_what: str) -> str:
    pos = exc.pos
    # The common case (a body that is not JSON at all but starts with '{') gets jsoniter's exact words.
    stripped = text.lstrip()
    if stripped.startswith("{"):
        after = stripped[1:].lstrip()
        if after and after[0] not in '"}':
            bad = len(text) - len(after)
            return jsoniter_error(object_prefix, key_what.format(char=after[0]), text, bad)
    char = text[pos] if pos < len(text) else "EOF"
    return jsoniter_error(object_prefix, f"{exc.msg}, but found {char}", text, pos)


_MAX_TS = 2**63 - 1


def _timestamp(value: object, where: str) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit() and int(value) <= _MAX_TS:
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_TS:
        return value
    raise PushError(f"{where}: timestamp must be a string of unix nanoseconds, got {json.dumps(value)}")


def decode_push_json(body: bytes) -> LokiPush:
    """``{"streams": [{"stream": {...}, "values": [["<ns>", "line", {metadata}?], ...]}]}``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PushError(f"push body is not UTF-8: {exc.reason}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PushError(
            _first_json_problem(text, exc, "loghttp.PushRequest.readFieldHash", 'expect ", but found {char}')
            + "\n"
        ) from None
    except RecursionError:
        raise PushError("push body is nested too deeply") from None
    if not isinstance(data, dict):
        raise PushError('push body must be a JSON object with a "streams" list')
    raw_streams = data.get("streams") or []
    if not isinstance(raw_streams, list):
        raise PushError('"streams" must be a list')
    streams: list[LokiStream] = []
    for i, raw in enumerate(raw_streams):
        where = f"streams[{i}]"
        if not isinstance(raw, dict):
            raise PushError(f"{where} must be an object")
        labels = raw.get("stream") or raw.get("labels") or {}
        if isinstance(labels, str):
            labels = parse_labels_string(labels, where)
        if not isinstance(labels, dict) or not all(isinstance(v, str) for v in labels.values()):
            raise PushError(f"{where}.stream must be an object of string label values")
        _check_label_names(labels, where)
        values = raw.get("values") or []
        if not isinstance(values, list):
            raise PushError(f"{where}.values must be a list")
        entries = []
        for j, value in enumerate(values):
            vwhere = f"{where}.values[{j}]"
            if not isinstance(value, list) or len(value) not in (2, 3) or not isinstance(value[1], str):
                raise PushError(f'{vwhere} must be ["<unix ns>", "<line>"] or with a metadata object')
            metadata: tuple[tuple[str, str], ...] = ()
            if len(value) == 3:
                if not isinstance(value[2], dict) or not all(isinstance(v, str) for v in value[2].values()):
                    raise PushError(f"{vwhere}[2] (structured metadata) must be an object of strings")
                metadata = tuple(value[2].items())
            entries.append(LokiEntry(_timestamp(value[0], vwhere), value[1], metadata))
        streams.append(LokiStream(dict(labels), entries))
    return LokiPush(streams)


def _check_label_names(labels: dict[str, str], where: str) -> None:
    for name in labels:
        if not _LABEL_NAME.match(name):
            raise PushError(
                f'error at least one label pair is invalid: {where} has an invalid label name "{name}"'
            )


_LABEL_PAIR = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|$)')


def parse_labels_string(text: str, where: str = "labels") -> dict[str, str]:
    """``{a="b", c="d"}`` (the protobuf push's label form) -> dict."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise PushError(f'{where}: labels must look like {{name="value", ...}}, got {text!r}')
    body = body[1:-1].strip()
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        m = _LABEL_PAIR.match(body, pos)
        if not m:
            raise PushError(f"{where}: cannot parse labels {text!r} at offset {pos + 1}")
        labels[m.group(1)] = json.loads(f'"{m.group(2)}"')
        pos = m.end()
    return labels


# -- protobuf wire format --------------------------------------------------------------
def _varint(buf: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise PushError("invalid protobuf PushRequest: truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise PushError("invalid protobuf PushRequest: varint too long")


def _fields(buf: bytes) -> list[tuple[int, int, int | bytes]]:
    """Split one message into (field number, wire type, value) triples."""
    out: list[tuple[int, int, int | bytes]] = []
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise PushError("invalid protobuf PushRequest: field number 0")
        if wire == 0:
            value, pos = _varint(buf, pos)
            out.append((number, wire, value))
        elif wire == 2:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise PushError("invalid protobuf PushRequest: truncated length-delimited field")
            out.append((number, wire, buf[pos : pos + size]))
            pos += size
        elif wire == 1:
            pos += 8
            out.append((number, wire, 0))
        elif wire == 5:
            pos += 4
            out.append((number, wire, 0))
        else:
            raise PushError(f"invalid protobuf PushRequest: unsupported wire type {wire}")
        if pos > len(buf):
            raise PushError("invalid protobuf PushRequest: truncated fixed-size field")
    return out


def _text(value: int | bytes, what: str) -> str:
    if not isinstance(value, bytes):
        raise PushError(f"invalid protobuf PushRequest: {what} must be length-delimited")
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise PushError(f"invalid protobuf PushRequest: {what} is not UTF-8") from None


def _signed64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def decode_push_protobuf(body: bytes, compressed: bool = True) -> LokiPush:
    """Snappy (block format) compressed ``logproto.PushRequest`` -> LokiPush."""
    if compressed:
        import cramjam

        try:
            body = bytes(cramjam.snappy.decompress_raw(body))
        except Exception as exc:  # cramjam raises its own DecompressionError type
            raise PushError(f"invalid snappy-compressed push body: {exc}") from None
    streams: list[LokiStream] = []
    for number, _, raw_stream in _fields(body):
        if number != 1:
            continue
        if not isinstance(raw_stream, bytes):
            raise PushError("invalid protobuf PushRequest: streams must be length-delimited")
        labels_text = ""
        entries: list[LokiEntry] = []
        for snum, _, sval in _fields(raw_stream):
            if snum == 1:
                labels_text = _text(sval, "stream labels")
            elif snum == 2:
                entries.append(_entry(sval))
        labels = parse_labels_string(labels_text, f"streams[{len(streams)}]") if labels_text.strip() else {}
        streams.append(LokiStream(labels, entries))
    return LokiPush(streams)


def _entry(raw: int | bytes) -> LokiEntry:
    if not isinstance(raw, bytes):
        raise PushError("invalid protobuf PushRequest: entries must be length-delimited")
    ts_ns, line, metadata = 0, "", []
    for number, _, value in _fields(raw):
        if number == 1 and isinstance(value, bytes):
            seconds = nanos = 0
            for tnum, _, tval in _fields(value):
                if tnum == 1 and isinstance(tval, int):
                    seconds = _signed64(tval)
                elif tnum == 2 and isinstance(tval, int):
                    nanos = _signed64(tval)
            ts_ns = seconds * 1_000_000_000 + nanos
        elif number == 2:
            line = _text(value, "entry line")
        elif number == 3 and isinstance(value, bytes):
            name = val = ""
            for pnum, _, pval in _fields(value):
                if pnum == 1:
                    name = _text(pval, "structured metadata name")
                elif pnum == 2:
                    val = _text(pval, "structured metadata value")
            metadata.append((name, val))
    return LokiEntry(ts_ns, line, tuple(metadata))


def _enc_varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def _enc_field(number: int, payload: bytes | int) -> bytes:
    if isinstance(payload, int):
        return _enc_varint(number << 3) + _enc_varint(payload)
    return _enc_varint(number << 3 | 2) + _enc_varint(len(payload)) + payload


def encode_push_protobuf(push: LokiPush, compress: bool = True) -> bytes:
    """The inverse of :func:`decode_push_protobuf` (used by tests and the benchmark)."""
    from .labels import labels_string

    out = bytearray()
    for stream in push.streams:
        s = _enc_field(1, labels_string(stream.labels).encode())
        for e in stream.entries:
            seconds, nanos = divmod(e.ts_ns, 1_000_000_000)
            ts = _enc_field(1, seconds) + _enc_field(2, nanos)
            entry = _enc_field(1, ts) + _enc_field(2, e.line.encode())
            for name, value in e.metadata:
                entry += _enc_field(3, _enc_field(1, name.encode()) + _enc_field(2, value.encode()))
            s += _enc_field(2, entry)
        out += _enc_field(1, s)
    if compress:
        import cramjam

        return bytes(cramjam.snappy.compress_raw(bytes(out)))
    return bytes(out)


def decode_push(body: bytes, content_type: str | None, content_encoding: str | None = None) -> LokiPush:
    """Pick the decoder by Content-Type as Loki does (protobuf unless it says JSON)."""
    base = (content_type or "").split(";", 1)[0].strip().lower()
    if content_encoding and content_encoding.strip().lower() in ("gzip", "x-gzip"):
        import gzip

        try:
            body = gzip.decompress(body)
        except (OSError, EOFError) as exc:
            raise PushError(f"invalid gzip push body: {exc}") from None
    if base == "application/json":
        return decode_push_json(body)
    if base in ("application/x-protobuf", "application/protobuf", ""):
        return decode_push_protobuf(body)
    raise PushError(
        f"unsupported Content-Type {content_type!r}: expected application/json or "
        "application/x-protobuf (snappy-compressed)"
    )
