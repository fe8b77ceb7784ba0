"""The ``log_entries`` table: Loki push and OTLP logs stored the way Loki 3 sees them.

Each row is one log line with its index labels (the stream) and its structured
metadata. ``detected_level`` is derived at ingest, as Loki's distributor does, and
kept in the metadata, so queries show it as a label and can group by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb

from labkit.lgtm.db import Database, register_schema

from .labels import detect_level, format_sample_value, labels_string, level_from_severity, sanitize_label_name
from .push import LokiPush

__all__ = [
    "INDEX_RESOURCE_ATTRIBUTES",
    "LogRow",
    "fetch_entries",
    "fetch_streams",
    "otlp_record_rows",
    "store_loki_push",
    "store_otlp_logs",
]

DDL = """
CREATE TABLE IF NOT EXISTS log_entries (
    ts_ns BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    labels JSON NOT NULL,
    stream_key VARCHAR NOT NULL,
    line VARCHAR NOT NULL,
    metadata JSON NOT NULL,
    trace_id VARCHAR NOT NULL DEFAULT '',
    span_id VARCHAR NOT NULL DEFAULT '',
    severity_text VARCHAR NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS log_entries_ts ON log_entries (ts_ns);
"""
register_schema("logs", DDL)

# Loki 3's default ``otlp_config``: these resource attributes become index labels; every
# other attribute is structured metadata.
INDEX_RESOURCE_ATTRIBUTES = frozenset(
    {
        "service.name",
        "service.namespace",
        "service.instance.id",
        "deployment.environment",
        "deployment.environment.name",
        "cloud.region",
        "cloud.availability_zone",
        "k8s.cluster.name",
        "k8s.namespace.name",
        "k8s.pod.name",
        "k8s.container.name",
        "container.name",
        "k8s.replicaset.name",
        "k8s.deployment.name",
        "k8s.statefulset.name",
        "k8s.daemonset.name",
        "k8s.cronjob.name",
        "k8s.job.name",
    }
)
# Loki's ``discover_service_name`` defaults: the first of these labels names the service.
_SERVICE_NAME_SOURCES = (
    "service",
    "app",
    "application",
    "name",
    "app_kubernetes_io_name",
    "container",
    "container_name",
    "k8s_container_name",
    "component",
    "workload",
    "job",
)
UNKNOWN_SERVICE = "unknown_service"

LogRow = tuple[int, dict[str, str], str, dict[str, str]]  # ts_ns, labels, line, metadata


def _with_service_name(labels: Mapping[str, str]) -> dict[str, str]:
    out = dict(labels)
    if "service_name" not in out:
        for source in _SERVICE_NAME_SOURCES:
            if out.get(source):
                out["service_name"] = out[source]
                break
        else:
            out["service_name"] = UNKNOWN_SERVICE
    return out


def _insert(db: Database, con: duckdb.DuckDBPyConnection, rows: list[LogRow]) -> int:
    if not rows:
        return 0
    ((last,),) = con.execute("SELECT coalesce(max(seq), 0) FROM log_entries").fetchall()
    columns: dict[str, list[Any]] = {
        k: []
        for k in (
            "ts_ns",
            "seq",
            "labels",
            "stream_key",
            "line",
            "metadata",
            "trace_id",
            "span_id",
            "severity_text",
        )
    }
    keys: dict[str, tuple[str, str]] = {}
    for i, (ts, labels, line, metadata) in enumerate(rows):
        frozen = json.dumps(labels, sort_keys=True)
        if frozen not in keys:
            keys[frozen] = (frozen, labels_string(labels))
        columns["ts_ns"].append(ts)
        columns["seq"].append(last + 1 + i)
        columns["labels"].append(keys[frozen][0])
        columns["stream_key"].append(keys[frozen][1])
        columns["line"].append(line)
        columns["metadata"].append(json.dumps(metadata))
        columns["trace_id"].append(metadata.get("trace_id", ""))
        columns["span_id"].append(metadata.get("span_id", ""))
        columns["severity_text"].append(metadata.get("severity_text", ""))
    return db.insert_columns(con, "log_entries", columns)


def store_loki_push(db: Database, con: duckdb.DuckDBPyConnection, payload: LokiPush) -> int:
    """Store a decoded Loki push; an empty label set becomes ``{service_name="unknown_service"}``."""
    rows: list[LogRow] = []
    for stream in payload.streams:
        labels = _with_service_name(stream.labels)
        for entry in stream.entries:
            metadata = dict(entry.metadata)
            if "detected_level" not in metadata:
                level = detect_level(entry.line, metadata)
                if level:
                    metadata["detected_level"] = level
            rows.append((entry.ts_ns, labels, entry.line, metadata))
    return _insert(db, con, rows)


# -- OTLP --------------------------------------------------------------------------------
def _value_text(v: Any) -> str | None:
    """An OTLP AnyValue as Loki stores it in structured metadata (None: no value)."""
    kind = v.WhichOneof("value")
    if kind is None:
        return None
    if kind == "string_value":
        return str(v.string_value)
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind == "int_value":
        return str(v.int_value)
    if kind == "double_value":
        return format_sample_value(v.double_value)
    if kind == "bytes_value":
        import base64

        return base64.b64encode(v.bytes_value).decode("ascii")
    return json.dumps(_plain(v), separators=(",", ":"), sort_keys=True)


def _plain(v: Any) -> Any:
    kind = v.WhichOneof("value")
    if kind == "array_value":
        return [_plain(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: _plain(kv.value) for kv in v.kvlist_value.values}
    if kind == "bytes_value":
        import base64

        return base64.b64encode(v.bytes_value).decode("ascii")
    return None if kind is None else getattr(v, kind)


def _flatten(kvs: Iterable[Any], out: dict[str, str], prefix: str = "") -> None:
    """Attributes -> metadata: names sanitised, maps flattened with ``_``, arrays as JSON text."""
    for kv in kvs:
        name = sanitize_label_name(prefix + kv.key)
        if kv.value.WhichOneof("value") == "kvlist_value":
            _flatten(kv.value.kvlist_value.values, out, name + "_")
            continue
        text = _value_text(kv.value)
        if text is not None:
            out[name] = text


def _body_line(body: Any) -> str:
    kind = body.WhichOneof("value")
    if kind == "string_value":
        return str(body.string_value)
    if kind is None:
        return ""
    if kind == "kvlist_value":
        # Loki marshals a map body with Go's encoding/json: keys sorted, compact.
        return json.dumps(_plain(body), separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    return _value_text(body) or ""


def otlp_record_rows(request: Any) -> list[LogRow]:
    """Map an ``ExportLogsServiceRequest`` to rows the way Loki 3's OTLP endpoint does."""
    rows: list[LogRow] = []
    for rl in request.resource_logs:
        labels: dict[str, str] = {}
        resource_meta: dict[str, str] = {}
        for kv in rl.resource.attributes:
            if kv.key in INDEX_RESOURCE_ATTRIBUTES:
                text = _value_text(kv.value)
                if text is not None:
                    labels[sanitize_label_name(kv.key)] = text
            else:
                _flatten([kv], resource_meta)
        labels = (
            _with_service_name(labels)
            if "service_name" in labels
            else {**labels, "service_name": UNKNOWN_SERVICE}
        )
        for sl in rl.scope_logs:
            scope_meta: dict[str, str] = {}
            _flatten(sl.scope.attributes, scope_meta)
            if sl.scope.name:
                scope_meta["scope_name"] = sl.scope.name
            if sl.scope.version:
                scope_meta["scope_version"] = sl.scope.version
            for record in sl.log_records:
                metadata = dict(resource_meta)
                metadata.update(scope_meta)
                _flatten(record.attributes, metadata)
                if record.severity_text:
                    metadata["severity_text"] = record.severity_text
                if record.severity_number:
                    metadata["severity_number"] = str(int(record.severity_number))
                if record.flags:
                    metadata["flags"] = str(record.flags)
                if record.trace_id:
                    metadata["trace_id"] = record.trace_id.hex()
                if record.span_id:
                    metadata["span_id"] = record.span_id.hex()
                if record.observed_time_unix_nano:
                    metadata["observed_timestamp"] = str(record.observed_time_unix_nano)
                line = _body_line(record.body)
                level = level_from_severity(int(record.severity_number), record.severity_text)
                if level is None:
                    level = detect_level(line, metadata)
                if level:
                    metadata["detected_level"] = level
                ts = record.time_unix_nano or record.observed_time_unix_nano
                rows.append((int(ts), labels, line, metadata))
    return rows


def store_otlp_logs(db: Database, con: duckdb.DuckDBPyConnection, request: Any) -> int:
    """Store an OTLP ``ExportLogsServiceRequest`` (index labels + structured metadata)."""
    return _insert(db, con, otlp_record_rows(request))


# -- reads -------------------------------------------------------------------------------
def fetch_streams(db: Database, start_ns: int, end_ns: int) -> list[dict[str, str]]:
    """Distinct index label sets with at least one entry in [start_ns, end_ns]."""
    rows = db.query(
        "SELECT DISTINCT labels FROM log_entries WHERE ts_ns >= ? AND ts_ns <= ?", [start_ns, end_ns]
    )
    return [json.loads(r[0]) for r in rows]


def fetch_entries(
    db: Database, stream_keys: list[str], start_ns: int, end_ns: int, end_inclusive: bool = False
) -> list[tuple[int, int, str, str, str]]:
    """(ts_ns, seq, stream_key, line, metadata JSON) of the given streams, ordered by time."""
    if not stream_keys:
        return []
    end_op = "<=" if end_inclusive else "<"
    return db.query(
        f"SELECT ts_ns, seq, stream_key, line, metadata FROM log_entries "
        f"WHERE stream_key IN (SELECT unnest(?)) AND ts_ns >= ? AND ts_ns {end_op} ? ORDER BY ts_ns, seq",
        [stream_keys, start_ns, end_ns],
    )
