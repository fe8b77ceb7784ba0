"""The span store: one row per span in the ``spans`` table, written a batch at a time.

Spans are flattened on ingest (resource and scope copied onto each span) because
every Tempo query filters spans, and DuckDB scans flat columns fast. ``batch_seq``
and ``seq`` keep the arrival order so the Tempo API can rebuild the
resource/scope grouping of a trace in the order it was pushed.

JSON columns hold OTLP protobuf-JSON (``[{"key": ..., "value": {"stringValue": ...}}]``,
int values as strings) so the Tempo API can print them without converting types;
ids inside ``links`` are lowercase hex like the id columns.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import duckdb
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.db import Database, register_retention, register_schema, register_sequence
from labkit.lgtm.otlp.decode import attributes_to_json, attributes_to_json_text

__all__ = [
    "COLUMNS",
    "JSON_COLUMNS",
    "SPANS_DDL",
    "TRACE_HOOKS",
    "TraceHook",
    "count_request_spans",
    "count_spans",
    "fetch_span_rows",
    "fetch_trace_rows",
    "store_traces",
]

SPANS_DDL = """
CREATE TABLE IF NOT EXISTS spans (
    trace_id VARCHAR NOT NULL,
    span_id VARCHAR NOT NULL,
    parent_span_id VARCHAR NOT NULL,
    trace_state VARCHAR,
    name VARCHAR NOT NULL,
    kind TINYINT NOT NULL,
    start_ns BIGINT NOT NULL,
    end_ns BIGINT NOT NULL,
    status_code TINYINT NOT NULL,
    status_message VARCHAR,
    service_name VARCHAR NOT NULL,
    attributes JSON,
    resource_attributes JSON,
    scope_attributes JSON,
    events JSON,
    links JSON,
    scope_name VARCHAR,
    scope_version VARCHAR,
    resource_schema_url VARCHAR,
    scope_schema_url VARCHAR,
    flags INTEGER,
    dropped_attributes_count INTEGER,
    dropped_events_count INTEGER,
    dropped_links_count INTEGER,
    batch_seq BIGINT NOT NULL,
    seq BIGINT NOT NULL
);
"""

COLUMNS = (
    "trace_id",
    "span_id",
    "parent_span_id",
    "trace_state",
    "name",
    "kind",
    "start_ns",
    "end_ns",
    "status_code",
    "status_message",
    "service_name",
    "attributes",
    "resource_attributes",
    "scope_attributes",
    "events",
    "links",
    "scope_name",
    "scope_version",
    "resource_schema_url",
    "scope_schema_url",
    "flags",
    "dropped_attributes_count",
    "dropped_events_count",
    "dropped_links_count",
    "batch_seq",
    "seq",
)
JSON_COLUMNS = frozenset({"attributes", "resource_attributes", "scope_attributes", "events", "links"})

register_schema("traces", SPANS_DDL)
register_retention("spans", "end_ns", "ns")
register_sequence("seq", "spans", "seq")
register_sequence("batch", "spans", "batch_seq")

TraceHook = Callable[[Database, duckdb.DuckDBPyConnection, ExportTraceServiceRequest], None]
# Called after the spans of a batch are inserted, inside the same transaction, so
# derived data (span metrics, service graph) commits or rolls back with the spans.
TRACE_HOOKS: list[TraceHook] = []

_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_EMPTY_LIST = "[]"


def _attrs(kvs: Any) -> str:
    return attributes_to_json_text(kvs) if len(kvs) else _EMPTY_LIST


def _events(span: Any) -> str:
    if not len(span.events):
        return _EMPTY_LIST
    out = []
    for ev in span.events:
        item: dict[str, Any] = {"timeUnixNano": str(ev.time_unix_nano), "name": ev.name}
        if len(ev.attributes):
            item["attributes"] = attributes_to_json(ev.attributes)
        if ev.dropped_attributes_count:
            item["droppedAttributesCount"] = ev.dropped_attributes_count
        out.append(item)
    return _dumps(out)


def _links(span: Any) -> str:
    if not len(span.links):
        return _EMPTY_LIST
    out = []
    for link in span.links:
        item: dict[str, Any] = {"traceId": link.trace_id.hex(), "spanId": link.span_id.hex()}
        if link.trace_state:
            item["traceState"] = link.trace_state
        if len(link.attributes):
            item["attributes"] = attributes_to_json(link.attributes)
        if link.dropped_attributes_count:
            item["droppedAttributesCount"] = link.dropped_attributes_count
        if link.flags:
            item["flags"] = link.flags
        out.append(item)
    return _dumps(out)


def _service_name(resource: Any) -> str:
    for kv in resource.attributes:
        if kv.key == "service.name":
            return kv.value.string_value
    return ""


def count_request_spans(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def store_traces(db: Database, con: duckdb.DuckDBPyConnection, request: ExportTraceServiceRequest) -> int:
    """Insert every span of ``request``; the caller owns the transaction. Returns spans stored."""
    total = count_request_spans(request)
    if total == 0:
        return 0
    seq = db.next_seq(con, total)
    batch = db.next_seq(con, 1, "batch")
    rows: list[tuple[Any, ...]] = []
    append = rows.append
    for rs in request.resource_spans:
        resource = rs.resource
        service = _service_name(resource)
        res_attrs = _attrs(resource.attributes)
        res_url = rs.schema_url
        for ss in rs.scope_spans:
            scope = ss.scope
            scope_attrs = _attrs(scope.attributes)
            scope_name, scope_version, scope_url = scope.name, scope.version, ss.schema_url
            for span in ss.spans:
                status = span.status
                append(
                    (
                        span.trace_id.hex(),
                        span.span_id.hex(),
                        span.parent_span_id.hex(),
                        span.trace_state,
                        span.name,
                        span.kind,
                        span.start_time_unix_nano,
                        span.end_time_unix_nano,
                        status.code,
                        status.message,
                        service,
                        _attrs(span.attributes),
                        res_attrs,
                        scope_attrs,
                        _events(span),
                        _links(span),
                        scope_name,
                        scope_version,
                        res_url,
                        scope_url,
                        span.flags,
                        span.dropped_attributes_count,
                        span.dropped_events_count,
                        span.dropped_links_count,
                        batch,
                        seq,
                    )
                )
                seq += 1
    columns = dict(zip(COLUMNS, zip(*rows, strict=True), strict=True))
    _check_int64(columns)
    stored = db.insert_columns(con, "spans", {k: list(v) for k, v in columns.items()})
    for hook in TRACE_HOOKS:
        hook(db, con, request)
    return stored


_INT64_MAX = 2**63 - 1


def _check_int64(columns: dict[str, Any]) -> None:
    # fixed64 nanoseconds may exceed BIGINT; refuse the batch with a clear message
    # rather than letting Arrow fail with an overflow deep in the insert.
    for name in ("start_ns", "end_ns"):
        if max(columns[name]) > _INT64_MAX:
            raise ValueError(f"span {name.replace('_ns', 'TimeUnixNano')} exceeds the int64 range")


def _row_dicts(names: list[str], rows: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    out = []
    json_idx = [i for i, n in enumerate(names) if n in JSON_COLUMNS]
    for row in rows:
        values = list(row)
        for i in json_idx:
            if values[i] is not None:
                values[i] = json.loads(values[i])
        out.append(dict(zip(names, values, strict=True)))
    return out


def _select(db: Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    cols = ", ".join(COLUMNS)
    rows = db.query(f"SELECT {cols} FROM spans WHERE {where} ORDER BY batch_seq, seq", params)
    return _row_dicts(list(COLUMNS), rows)


def fetch_trace_rows(
    db: Database, trace_id_hex: str, start_ns: int | None = None, end_ns: int | None = None
) -> list[dict[str, Any]]:
    """All spans of one trace in arrival order, optionally only those overlapping [start_ns, end_ns]."""
    where = "trace_id = ?"
    params: list[Any] = [trace_id_hex.lower()]
    if start_ns is not None:
        where += " AND end_ns >= ?"
        params.append(int(start_ns))
    if end_ns is not None:
        where += " AND start_ns <= ?"
        params.append(int(end_ns))
    return _select(db, where, params)


def fetch_span_rows(db: Database, start_ns: int, end_ns: int) -> list[dict[str, Any]]:
    """All spans overlapping [start_ns, end_ns], in arrival order."""
    return _select(db, "end_ns >= ? AND start_ns <= ?", [int(start_ns), int(end_ns)])


def count_spans(db: Database) -> int:
    return int(db.query("SELECT count(*) FROM spans")[0][0])
