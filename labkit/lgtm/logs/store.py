"""The ``log_entries`` table: Loki push and OTLP logs stored the way Loki 3 sees them.

Each row is one log line with its index labels (the stream) and its structured
metadata. ``detected_level`` is derived at ingest, as Loki's distributor does, and
kept in the metadata, so queries show it as a label and can group by it.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterable, Mapping
from typing import Any

import duckdb
import orjson

from labkit.lgtm.db import Database, register_schema, register_sequence

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
-- Time filters use DuckDB's per-row-group min/max (rows arrive roughly in time order); an
-- ART index on ts_ns slowed every insert and checkpoint and no query used it. Earlier stores had one.
DROP INDEX IF EXISTS log_entries_ts;
-- Which structured-metadata names each stream has ever carried (a superset: retention does not
-- shrink it). Metric queries grouping by a label that no matched stream has as metadata take it
-- from the stream labels and skip reading the metadata JSON of every line.
CREATE TABLE IF NOT EXISTS log_meta_keys (
    stream_key VARCHAR NOT NULL,
    name VARCHAR NOT NULL,
    PRIMARY KEY (stream_key, name)
);
-- Stores written before log_meta_keys existed: fill it once from the lines themselves.
INSERT OR IGNORE INTO log_meta_keys
SELECT DISTINCT stream_key, unnest(json_keys(metadata)) FROM log_entries
WHERE NOT EXISTS (SELECT 1 FROM log_meta_keys);
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
# Arrival order of log rows (orders entries whose timestamps tie); resumes after max(seq).
_SEQ_COUNTER = "log_seq"
register_sequence(_SEQ_COUNTER, "log_entries", "seq")

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


def _dumps(value: Mapping[str, str]) -> str:
    """Metadata as JSON text; orjson is ~10x faster than json, which stays for what orjson refuses."""
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # orjson.JSONEncodeError: e.g. a lone surrogate from a JSON push body
        return json.dumps(value)


def _insert(db: Database, con: duckdb.DuckDBPyConnection, rows: list[LogRow]) -> int:
    if not rows:
        return 0
    # Rows of one stream share their labels dict, so its JSON and key are built once per object.
    keys: dict[int, tuple[str, str]] = {}
    cols = _Columns()
    for ts, labels, line, metadata in rows:
        hit = keys.get(id(labels))
        if hit is None:
            hit = keys[id(labels)] = (json.dumps(labels, sort_keys=True), labels_string(labels))
        cols.add(ts, hit[0], hit[1], line, metadata)
    return cols.insert(db, con)


class _Columns:
    """The columns of one batch of ``log_entries`` rows, filled a row or a stream at a time."""

    def __init__(self) -> None:
        self.ts: list[int] = []
        self.labels: list[str] = []
        self.keys: list[str] = []
        self.lines: list[str] = []
        self.meta: list[str] = []
        self.trace: list[str] = []
        self.span: list[str] = []
        self.severity: list[str] = []
        self.meta_names: dict[str, set[str]] = {}

    def add(self, ts: int, labels_json: str, key: str, line: str, metadata: Mapping[str, str]) -> None:
        self.ts.append(ts)
        self.labels.append(labels_json)
        self.keys.append(key)
        self.lines.append(line)
        if metadata:
            names = self.meta_names.get(key)
            if names is None:
                names = self.meta_names[key] = set()
            names.update(metadata)
            self.meta.append(_dumps(metadata))
            self.trace.append(metadata.get("trace_id", ""))
            self.span.append(metadata.get("span_id", ""))
            self.severity.append(metadata.get("severity_text", ""))
        else:
            self.meta.append("{}")
            self.trace.append("")
            self.span.append("")
            self.severity.append("")

    def insert(self, db: Database, con: duckdb.DuckDBPyConnection) -> int:
        n = len(self.ts)
        if not n:
            return 0
        first = db.next_seq(con, n, _SEQ_COUNTER)
        columns: dict[str, list[Any]] = {
            "ts_ns": self.ts,
            "seq": list(range(first, first + n)),
            "labels": self.labels,
            "stream_key": self.keys,
            "line": self.lines,
            "metadata": self.meta,
            "trace_id": self.trace,
            "span_id": self.span,
            "severity_text": self.severity,
        }
        if self.meta_names:
            _record_meta_names(db, con, self.meta_names)
        return db.insert_columns(con, "log_entries", columns)


# Per store: (stream key, name) pairs read back from log_meta_keys. Only pairs a SELECT saw are
# kept: a batch's transaction is serialised with every other, so they belong to committed
# batches, and the table never shrinks. A batch whose pairs are all known skips the query.
_KNOWN_META: weakref.WeakKeyDictionary[Database, set[tuple[str, str]]] = weakref.WeakKeyDictionary()


def _record_meta_names(db: Database, con: duckdb.DuckDBPyConnection, meta_names: dict[str, set[str]]) -> None:
    cached = _KNOWN_META.setdefault(db, set())
    wanted = {(key, name) for key, names in meta_names.items() for name in names}
    if wanted <= cached:
        return
    # Reading the (small) table and inserting only new names is cheaper than an upsert per batch.
    known = set(
        con.execute(
            "SELECT stream_key, name FROM log_meta_keys WHERE stream_key IN (SELECT unnest(?::VARCHAR[]))",
            [list(meta_names)],
        ).fetchall()
    )
    cached |= known
    new = sorted(wanted - known)
    if new:
        con.execute(
            "INSERT OR IGNORE INTO log_meta_keys SELECT unnest(?::VARCHAR[]), unnest(?::VARCHAR[])",
            [[p[0] for p in new], [p[1] for p in new]],
        )


def store_loki_push(db: Database, con: duckdb.DuckDBPyConnection, payload: LokiPush) -> int:
    """Store a decoded Loki push; an empty label set becomes ``{service_name="unknown_service"}``."""
    cols = _Columns()
    ts_col, labels_col, keys_col, lines_col = cols.ts, cols.labels, cols.keys, cols.lines
    meta_col, trace_col, span_col, severity_col = cols.meta, cols.trace, cols.span, cols.severity
    # Lines without structured metadata (the usual push) differ only in their detected level:
    # their metadata text is built once per level, not once per line.
    plain_meta: dict[str | None, str] = {}
    for stream in payload.streams:
        if not stream.entries:
            continue
        labels = _with_service_name(stream.labels)
        labels_json, key = json.dumps(labels, sort_keys=True), labels_string(labels)
        leveled = False
        for entry in stream.entries:
            if entry.metadata:
                metadata = dict(entry.metadata)
                if "detected_level" not in metadata:
                    level = detect_level(entry.line, metadata)
                    if level:
                        metadata["detected_level"] = level
                cols.add(entry.ts_ns, labels_json, key, entry.line, metadata)
                continue
            level = detect_level(entry.line, None)
            text = plain_meta.get(level)
            if text is None:
                text = plain_meta[level] = _dumps({"detected_level": level}) if level else "{}"
            leveled = leveled or bool(level)
            ts_col.append(entry.ts_ns)
            labels_col.append(labels_json)
            keys_col.append(key)
            lines_col.append(entry.line)
            meta_col.append(text)
            trace_col.append("")
            span_col.append("")
            severity_col.append("")
        if leveled:
            cols.meta_names.setdefault(key, set()).add("detected_level")
    return cols.insert(db, con)


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
