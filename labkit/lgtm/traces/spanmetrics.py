"""Tempo's metrics-generator: span metrics and service-graph metrics from ingested spans.

Runs as a :data:`labkit.lgtm.traces.store.TRACE_HOOKS` hook inside the ingest
transaction, so derived samples commit or roll back with their spans. Series and
labels are Tempo's defaults:

- ``traces_spanmetrics_calls_total{service, span_name, span_kind, status_code}`` and
  ``traces_spanmetrics_latency_bucket|sum|count`` (seconds, buckets 2 ms .. 16.384 s);
- ``traces_service_graph_request_total{client, server[, connection_type]}``,
  ``..._request_failed_total`` and ``..._request_server_seconds_*`` /
  ``..._request_client_seconds_*`` (buckets 0.1 s .. 12.8 s), from a CLIENT (or
  PRODUCER) span paired with its SERVER (or CONSUMER) child. A client span with
  ``db.name`` is a database call and completes at once (``connection_type="database"``).
  Halves whose partner is in another batch wait in ``servicegraph_edges``; after
  :data:`EDGE_TTL_MS` an unpaired client half with ``peer.service``/``db.name``/``db.system``
  becomes an edge to that virtual node (``connection_type="virtual_node"``).

Counters are cumulative, like Prometheus counters: each batch writes the new running
totals (kept in ``spanmetrics_state``) at the ingest time, and a new series first gets
a 0 sample one millisecond earlier so ``rate()``/``increase()`` see its first
increment (Tempo injects the same zero).
"""

from __future__ import annotations

import bisect
import json
import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import duckdb
import pyarrow as pa
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.db import Database, register_schema
from labkit.lgtm.metrics.store import append_samples
from labkit.lgtm.traces import store as trace_store

__all__ = [
    "EDGE_TTL_MS",
    "LATENCY_BUCKETS",
    "MAX_PENDING_EDGES",
    "SERVICE_GRAPH_BUCKETS",
    "Deltas",
    "Edge",
    "EdgeHalf",
    "compute_span_metrics",
    "generate",
    "pair_edges",
    "span_metrics_hook",
]

# prometheus.ExponentialBuckets(0.002, 2, 14) and (0.1, 2, 8): Tempo's defaults.
LATENCY_BUCKETS: tuple[float, ...] = tuple(0.002 * 2**i for i in range(14))
SERVICE_GRAPH_BUCKETS: tuple[float, ...] = tuple(0.1 * 2**i for i in range(8))
EDGE_TTL_MS = 30_000
MAX_PENDING_EDGES = 10_000
PEER_ATTRIBUTES = ("peer.service", "db.name", "db.system")
_KINDS = ("SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
          "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER")  # fmt: skip
_STATUS = ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")
_CLIENT_KINDS = (3, 4)  # CLIENT, PRODUCER
_SERVER_KINDS = (2, 5)  # SERVER, CONSUMER

_DDL = """
CREATE TABLE IF NOT EXISTS spanmetrics_state (series_key VARCHAR PRIMARY KEY, value DOUBLE NOT NULL);
CREATE TABLE IF NOT EXISTS servicegraph_edges (
    trace_id VARCHAR NOT NULL,
    client_span_id VARCHAR NOT NULL,
    side VARCHAR NOT NULL,
    service VARCHAR NOT NULL,
    duration_ns BIGINT NOT NULL,
    failed BOOLEAN NOT NULL,
    peer VARCHAR NOT NULL,
    created_ms BIGINT NOT NULL
);
"""
register_schema("spanmetrics", _DDL)

LabelKey = tuple[tuple[str, str], ...]


@dataclass
class Deltas:
    """Increments per series from one batch; histograms are summed per label set first."""

    counters: dict[LabelKey, float] = field(default_factory=lambda: defaultdict(float))
    # (metric name, sorted base labels, bucket bounds) -> [count, sum, per-bucket counts (+Inf last)]
    hists: dict[tuple[str, LabelKey, tuple[float, ...]], list[Any]] = field(default_factory=dict)

    def add(self, labels: dict[str, str], value: float) -> None:
        self.counters[tuple(sorted(labels.items()))] += value

    def histogram(
        self, name: str, labels: dict[str, str], seconds: float, buckets: tuple[float, ...]
    ) -> None:
        key = (name, tuple(sorted(labels.items())), buckets)
        h = self.hists.get(key)
        if h is None:
            h = self.hists[key] = [0, 0.0, [0] * (len(buckets) + 1)]
        h[0] += 1
        h[1] += seconds
        h[2][bisect.bisect_left(buckets, seconds)] += 1

    @property
    def values(self) -> dict[LabelKey, float]:
        """Every series with its increment, histograms expanded to cumulative buckets."""
        out: dict[LabelKey, float] = dict(self.counters)
        for (name, base, bounds), (count, total, per_bucket) in self.hists.items():
            labels = dict(base)
            running = 0
            for bound, n in zip((*map(_le, bounds), "+Inf"), per_bucket, strict=True):
                running += n
                out[tuple(sorted({**labels, "__name__": f"{name}_bucket", "le": bound}.items()))] = running
            out[tuple(sorted({**labels, "__name__": f"{name}_sum"}.items()))] = total
            out[tuple(sorted({**labels, "__name__": f"{name}_count"}.items()))] = count
        return out


def _le(bound: float) -> str:
    # Go's strconv.FormatFloat(b, 'f', -1, 64), as Prometheus clients print "le".
    text = repr(bound)
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class EdgeHalf:
    trace_id: str
    client_span_id: str  # the client span's id; a server half uses its parent id
    side: str  # "client" | "server"
    service: str
    duration_ns: int
    failed: bool
    peer: str = ""  # client halves: value of the first peer attribute, for virtual nodes


@dataclass(frozen=True)
class Edge:
    client: str
    server: str
    client_ns: int | None
    server_ns: int | None
    failed: bool
    connection_type: str = ""


def _str_attr(attrs: Iterable[Any], key: str) -> str:
    for kv in attrs:
        if kv.key == key and kv.value.WhichOneof("value") == "string_value":
            return str(kv.value.string_value)
    return ""


def compute_span_metrics(request: ExportTraceServiceRequest) -> tuple[Deltas, list[EdgeHalf], list[Edge]]:
    """Span-metric increments, service-graph halves, and edges complete on their own (databases)."""
    deltas = Deltas()
    calls = deltas.counters
    latency: dict[LabelKey, list[Any]] = {}
    halves: list[EdgeHalf] = []
    immediate: list[Edge] = []
    for rs in request.resource_spans:
        service = _str_attr(rs.resource.attributes, "service.name")
        for ss in rs.scope_spans:
            for span in ss.spans:
                kind = span.kind if 0 <= span.kind < len(_KINDS) else 0
                status = span.status.code if 0 <= span.status.code < 3 else 0
                base: LabelKey = (("service", service), ("span_kind", _KINDS[kind]), ("span_name", span.name),
                        ("status_code", _STATUS[status]))  # fmt: skip
                duration = max(0, span.end_time_unix_nano - span.start_time_unix_nano)
                seconds = duration / 1e9
                # keys are sorted label tuples; "__name__" sorts first
                calls[(("__name__", "traces_spanmetrics_calls_total"), *base)] += 1
                h = latency.get(base)
                if h is None:
                    h = latency[base] = [0, 0.0, [0] * (len(LATENCY_BUCKETS) + 1)]
                h[0] += 1
                h[1] += seconds
                h[2][bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
                failed = status == 2
                trace_id = span.trace_id.hex()
                if kind in _CLIENT_KINDS:
                    db_name = _str_attr(span.attributes, "db.name")
                    if db_name:
                        immediate.append(Edge(service, db_name, duration, None, failed, "database"))
                        continue
                    peer = next((v for k in PEER_ATTRIBUTES if (v := _str_attr(span.attributes, k))), "")
                    halves.append(
                        EdgeHalf(trace_id, span.span_id.hex(), "client", service, duration, failed, peer)
                    )
                elif kind in _SERVER_KINDS and span.parent_span_id:
                    halves.append(
                        EdgeHalf(trace_id, span.parent_span_id.hex(), "server", service, duration, failed)
                    )
    for base, h in latency.items():
        deltas.hists[("traces_spanmetrics_latency", base, LATENCY_BUCKETS)] = h
    return deltas, halves, immediate


def pair_edges(halves: Iterable[EdgeHalf]) -> tuple[list[Edge], list[EdgeHalf]]:
    """Pair client and server halves by (trace id, client span id); returns edges and leftovers."""
    pending: dict[tuple[str, str, str], EdgeHalf] = {}
    edges: list[Edge] = []
    for h in halves:
        other = "server" if h.side == "client" else "client"
        mate = pending.pop((h.trace_id, h.client_span_id, other), None)
        if mate is None:
            pending[(h.trace_id, h.client_span_id, h.side)] = h
            continue
        c, s = (h, mate) if h.side == "client" else (mate, h)
        edges.append(Edge(c.service, s.service, c.duration_ns, s.duration_ns, c.failed or s.failed))
    return edges, list(pending.values())


def _edge_deltas(deltas: Deltas, edges: Iterable[Edge]) -> None:
    for e in edges:
        labels = {"client": e.client, "server": e.server}
        if e.connection_type:
            labels["connection_type"] = e.connection_type
        deltas.add({**labels, "__name__": "traces_service_graph_request_total"}, 1)
        if e.failed:
            deltas.add({**labels, "__name__": "traces_service_graph_request_failed_total"}, 1)
        if e.server_ns is not None:
            deltas.histogram(
                "traces_service_graph_request_server_seconds",
                labels,
                e.server_ns / 1e9,
                SERVICE_GRAPH_BUCKETS,
            )
        if e.client_ns is not None:
            deltas.histogram(
                "traces_service_graph_request_client_seconds",
                labels,
                e.client_ns / 1e9,
                SERVICE_GRAPH_BUCKETS,
            )


def _halves_table(halves: list[EdgeHalf], now_ms: int) -> dict[str, list[Any]]:
    return {
        "trace_id": [h.trace_id for h in halves],
        "client_span_id": [h.client_span_id for h in halves],
        "side": [h.side for h in halves],
        "service": [h.service for h in halves],
        "duration_ns": [h.duration_ns for h in halves],
        "failed": [h.failed for h in halves],
        "peer": [h.peer for h in halves],
        "created_ms": [now_ms] * len(halves),
    }


def _take_partners(con: duckdb.DuckDBPyConnection, halves: list[EdgeHalf]) -> list[EdgeHalf]:
    """Remove and return the stored halves that pair with ``halves`` (only those rows are read)."""
    con.register("_labkit_sg_batch", pa.table(_halves_table(halves, 0)))
    try:
        match = (
            "FROM servicegraph_edges e WHERE EXISTS (SELECT 1 FROM _labkit_sg_batch b "
            "WHERE b.trace_id = e.trace_id AND b.client_span_id = e.client_span_id AND b.side <> e.side)"
        )
        rows = con.execute(
            "SELECT e.trace_id, e.client_span_id, e.side, e.service, e.duration_ns, e.failed, e.peer " + match
        ).fetchall()
        if rows:
            _run(con, "DELETE " + match.replace(" e ", " AS e ", 1))
    finally:
        con.unregister("_labkit_sg_batch")
    return [EdgeHalf(r[0], r[1], r[2], r[3], int(r[4]), bool(r[5]), r[6]) for r in rows]


def _expire(con: duckdb.DuckDBPyConnection, now_ms: int) -> list[Edge]:
    """Drop halves older than the TTL; client halves with a peer attribute become virtual edges."""
    cutoff = now_ms - EDGE_TTL_MS
    rows = con.execute(
        "SELECT service, duration_ns, failed, peer FROM servicegraph_edges "
        "WHERE created_ms < ? AND side = 'client' AND peer <> ''",
        [cutoff],
    ).fetchall()
    _run(con, "DELETE FROM servicegraph_edges WHERE created_ms < ?", [cutoff])
    return [Edge(r[0], r[3], int(r[1]), None, bool(r[2]), "virtual_node") for r in rows]


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list[Any] | None = None) -> None:
    # Fetch the statement's result so the connection is free for the next register().
    con.execute(sql, params or []).fetchall()


def _with_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list[Any]], sql: str) -> None:
    # executemany costs a round trip per row in DuckDB; an Arrow table is one statement.
    con.register(name, pa.table(columns))
    try:
        _run(con, sql)
    finally:
        con.unregister(name)


# Series identity is hot (thousands of series per batch): cache the JSON key and label dict.
_KEYS: dict[LabelKey, str] = {}
_LABELS: dict[LabelKey, dict[str, str]] = {}


def _series_key(key: LabelKey) -> str:
    text = _KEYS.get(key)
    if text is None:
        if len(_KEYS) > 200_000:  # bound the caches; they refill on demand
            _KEYS.clear()
            _LABELS.clear()
        text = _KEYS[key] = json.dumps(key, separators=(",", ":"))
        _LABELS[key] = dict(key)
    elif key not in _LABELS:
        _LABELS[key] = dict(key)
    return text


def _apply(db: Database, con: duckdb.DuckDBPyConnection, deltas: Deltas, now_ms: int) -> int:
    values = deltas.values
    if not values:
        return 0
    keys = {_series_key(k): k for k in values}
    con.register("_labkit_sm_keys", pa.table({"series_key": list(keys)}))
    try:
        current = dict(
            con.execute(
                "SELECT series_key, value FROM spanmetrics_state "
                "WHERE series_key IN (SELECT series_key FROM _labkit_sm_keys)"
            ).fetchall()
        )
    finally:
        con.unregister("_labkit_sm_keys")
    samples: list[tuple[dict[str, str], int, float]] = []
    totals: list[float] = []
    for skey, key in keys.items():
        labels = _LABELS[key]
        before = current.get(skey)
        total = (before or 0.0) + values[key]
        if before is None:
            samples.append((labels, now_ms - 1, 0.0))
        samples.append((labels, now_ms, total))
        totals.append(total)
    _with_table(
        con, "_labkit_sm_state", {"series_key": list(keys), "value": totals},
        "INSERT OR REPLACE INTO spanmetrics_state SELECT series_key, value FROM _labkit_sm_state",
    )  # fmt: skip
    return append_samples(db, con, samples)


def _cap(con: duckdb.DuckDBPyConnection) -> None:
    # Tempo's store holds at most max_items (10,000) unpaired edges; the oldest go first here.
    count = con.execute("SELECT count(*) FROM servicegraph_edges").fetchall()[0][0]
    if count > MAX_PENDING_EDGES:
        _run(
            con,
            "DELETE FROM servicegraph_edges WHERE rowid IN (SELECT rowid FROM servicegraph_edges "
            "ORDER BY created_ms, rowid LIMIT ?)",
            [int(count) - MAX_PENDING_EDGES],
        )


def generate(
    db: Database,
    con: duckdb.DuckDBPyConnection,
    request: ExportTraceServiceRequest,
    now_ms: int | None = None,
) -> int:
    """Derive and store the metrics of one batch; returns the number of samples written."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    _ensure_schema(db, con)
    deltas, halves, immediate = compute_span_metrics(request)
    expired = _expire(con, now_ms)
    edges, leftovers = pair_edges(halves)  # most pairs sit in one batch
    if leftovers:
        partners = _take_partners(con, leftovers)
        more, leftovers = pair_edges([*partners, *leftovers])
        edges += more
    if leftovers:
        _with_table(
            con, "_labkit_sg_new", _halves_table(leftovers, now_ms),
            "INSERT INTO servicegraph_edges SELECT * FROM _labkit_sg_new",
        )  # fmt: skip
        _cap(con)
    _edge_deltas(deltas, [*immediate, *edges, *expired])
    return _apply(db, con, deltas, now_ms)


_READY: weakref.WeakSet[Database] = weakref.WeakSet()


def _ensure_schema(db: Database, con: duckdb.DuckDBPyConnection) -> None:
    # A Database opened before this module was imported lacks our tables.
    if db not in _READY:
        con.execute(_DDL)
        _READY.add(db)


def span_metrics_hook(
    db: Database, con: duckdb.DuckDBPyConnection, request: ExportTraceServiceRequest
) -> None:
    """The :data:`TRACE_HOOKS` entry."""
    generate(db, con, request)


if span_metrics_hook not in trace_store.TRACE_HOOKS:
    trace_store.TRACE_HOOKS.append(span_metrics_hook)
