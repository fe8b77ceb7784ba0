"""Prometheus remote write 1.0: snappy-compressed protobuf ``WriteRequest`` messages.

The message types are built from a descriptor written in code, so no ``protoc`` step
is needed at build time and parsing still runs in the fast upb runtime. Only the
fields of remote write 1.0 that carry float samples are decoded; native histograms
and exemplars are skipped by protobuf as unknown-to-us data (they would need native
histogram support in the store, which the embedded server does not have).
"""

from __future__ import annotations

from typing import Any

import cramjam
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

__all__ = ["RemoteWriteError", "WriteRequest", "decode_write_request", "encode_write_request"]

_F = descriptor_pb2.FieldDescriptorProto


def _build_pool() -> dict[str, Any]:
    fdp = descriptor_pb2.FileDescriptorProto(
        name="labkit/prometheus_remote_write.proto", package="labkit.prometheus", syntax="proto3"
    )

    def message(name: str, fields: list[tuple[str, int, int, int, str | None]]) -> None:
        msg = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = msg.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = f".labkit.prometheus.{type_name}"

    opt, rep = _F.LABEL_OPTIONAL, _F.LABEL_REPEATED
    message("Label", [("name", 1, _F.TYPE_STRING, opt, None), ("value", 2, _F.TYPE_STRING, opt, None)])
    message("Sample", [("value", 1, _F.TYPE_DOUBLE, opt, None), ("timestamp", 2, _F.TYPE_INT64, opt, None)])
    message(
        "TimeSeries",
        [("labels", 1, _F.TYPE_MESSAGE, rep, "Label"), ("samples", 2, _F.TYPE_MESSAGE, rep, "Sample")],
    )
    message(
        "MetricMetadata",
        [
            ("type", 1, _F.TYPE_INT32, opt, None),
            ("metric_family_name", 2, _F.TYPE_STRING, opt, None),
            ("help", 4, _F.TYPE_STRING, opt, None),
            ("unit", 5, _F.TYPE_STRING, opt, None),
        ],
    )
    message(
        "WriteRequest",
        [
            ("timeseries", 1, _F.TYPE_MESSAGE, rep, "TimeSeries"),
            ("metadata", 3, _F.TYPE_MESSAGE, rep, "MetricMetadata"),
        ],
    )
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    return {
        name: message_factory.GetMessageClass(pool.FindMessageTypeByName(f"labkit.prometheus.{name}"))
        for name in ("Label", "Sample", "TimeSeries", "WriteRequest")
    }


_CLASSES = _build_pool()
WriteRequest = _CLASSES["WriteRequest"]


class RemoteWriteError(ValueError):
    """A push that cannot be decoded; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def decode_write_request(
    body: bytes, content_encoding: str | None = "snappy", max_bytes: int | None = None
) -> Any:
    """Decompress (snappy block format, as remote write 1.0 requires) and parse a ``WriteRequest``."""
    encoding = (content_encoding or "snappy").strip().lower()
    if encoding not in ("snappy", "identity"):
        raise RemoteWriteError(
            f"unsupported Content-Encoding {content_encoding!r}: remote write uses snappy", 415
        )
    raw = body
    if encoding == "snappy":
        try:
            raw = bytes(cramjam.snappy.decompress_raw(body))
        except Exception as exc:  # cramjam raises its own DecompressionError
            raise RemoteWriteError(f"snappy decompression of the remote write body failed: {exc}") from exc
    if max_bytes is not None and len(raw) > max_bytes:
        raise RemoteWriteError(f"decompressed remote write body is {len(raw)} bytes, limit {max_bytes}", 413)
    request = WriteRequest()
    try:
        request.ParseFromString(raw)
    except Exception as exc:  # google.protobuf.message.DecodeError
        raise RemoteWriteError(f"remote write body is not a valid WriteRequest protobuf: {exc}") from exc
    for n, ts in enumerate(request.timeseries):
        if not any(label.name == "__name__" for label in ts.labels):
            raise RemoteWriteError(f"timeseries {n} has no __name__ label")
    return request


def encode_write_request(series: list[tuple[dict[str, str], list[tuple[int, float]]]]) -> bytes:
    """Snappy-compressed ``WriteRequest`` for ``[(labels, [(ts_ms, value), ...]), ...]`` (tests, bench)."""
    request = WriteRequest()
    for labels, samples in series:
        ts = request.timeseries.add()
        for name in sorted(labels):
            ts.labels.add(name=name, value=labels[name])
        for t, v in samples:
            ts.samples.add(timestamp=int(t), value=float(v))
    return bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
