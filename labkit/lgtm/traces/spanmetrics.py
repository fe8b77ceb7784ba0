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
  Halves whose partner is in another batch wait in memory (like Tempo's edge store);
  after :data:`EDGE_TTL_MS` an unpaired client half with ``peer.service``/``db.name``/
  ``db.system`` becomes an edge to that virtual node (``connection_type="virtual_node"``).

Counters are cumulative, like Prometheus counters: each batch writes one sample per
touched series, the new running total, at the batch's ingest time; a new series first
gets a 0 sample one millisecond earlier so ``rate()``/``increase()`` see its first
increment (Tempo injects the same zero). Running totals continue from the series'
latest stored sample (the metric index mirror), so they survive restarts; batch times
strictly increase per series, so a counter never goes back in time.

Speed matters here (issue: >= 20,000 spans/s with the generator on): spans are grouped
in one Python pass, counted with numpy, and each group's 18 series ids are cached, so a
batch costs one numpy pass and one bulk insert however many series it touches.
"""

from __future__ import annotations

import time
import weakref
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import duckdb
import numpy as np
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.db import Database
from labkit.lgtm.metrics.index import NO_TS, MetricIndex, index_for
from labkit.lgtm.metrics.store import write_samples
from labkit.lgtm.traces import store as trace_store

__all__ = [
    "COLLECTION_INTERVAL_MS",
    "EDGE_TTL_MS",
    "LATENCY_BUCKETS",
    "MAX_PENDING_EDGES",
    "SERVICE_GRAPH_BUCKETS",
    "STALE_DURATION_MS",
    "Deltas",
    "Edge",
    "EdgeHalf",
    "Histogram",
    "compute_span_metrics",
    "generate",
    "pair_edges",
    "pending_halves",
    "span_metrics_hook",
    "wall_clock_ms",
]

# prometheus.ExponentialBuckets(0.002, 2, 14) and (0.1, 2, 8): Tempo's defaults.
LATENCY_BUCKETS: tuple[float, ...] = tuple(0.002 * 2**i for i in range(14))
SERVICE_GRAPH_BUCKETS: tuple[float, ...] = tuple(0.1 * 2**i for i in range(8))
EDGE_TTL_MS = 30_000
MAX_PENDING_EDGES = 10_000
PEER_ATTRIBUTES = ("peer.service", "db.name", "db.system")
_PEER_KEYS = frozenset(PEER_ATTRIBUTES)
_KINDS = ("SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
          "SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER")  # fmt: skip
_STATUS = ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")
_CLIENT_KINDS = (3, 4)  # CLIENT, PRODUCER
_SERVER_KINDS = (2, 5)  # SERVER, CONSUMER
_CALLS = "traces_spanmetrics_calls_total"
_LATENCY = "traces_spanmetrics_latency"

LabelKey = tuple[tuple[str, str], ...]


def _le(bound: float) -> str:
    # Go's strconv.FormatFloat(b, 'f', -1, 64), as Prometheus clients print "le".
    text = repr(bound)
    return text[:-2] if text.endswith(".0") else text


@dataclass
class Histogram:
    """Observations of one histogram metric in a batch, grouped by label set.

    ``calls_name``, when set, also names a counter whose increments are the group
    counts (Tempo's ``calls_total`` counts exactly the spans its latency histogram sees).
    """

    name: str
    bounds: tuple[float, ...]
    calls_name: str = ""
    groups: dict[LabelKey, int] = field(default_factory=dict)  # sorted base labels -> group number
    group_of: list[int] = field(default_factory=list)  # one per observation
    observed: list[float] | np.ndarray = field(default_factory=list)  # seconds, one per observation

    def observe(self, base: LabelKey, seconds: float) -> None:
        g = self.groups.get(base)
        if g is None:
            g = self.groups[base] = len(self.groups)
        self.group_of.append(g)
        self.observed.append(seconds)  # type: ignore[union-attr]

    def totals(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per group: counts, sums, and cumulative bucket counts (shape groups x (buckets + 1), +Inf last)."""
        n = len(self.groups)
        group = np.array(self.group_of, dtype=np.int64)
        x = np.asarray(self.observed, dtype=np.float64)
        counts = np.bincount(group, minlength=n).astype(np.float64)
        sums = np.bincount(group, weights=x, minlength=n)
        width = len(self.bounds) + 1
        # searchsorted "left" = bisect_left: a value equal to a bound belongs to that bound's bucket.
        bucket = np.searchsorted(np.array(self.bounds), x, side="left")
        per_bucket = np.bincount(group * width + bucket, minlength=n * width).reshape(n, width)
        return counts, sums, np.cumsum(per_bucket, axis=1).astype(np.float64)

    def series_names(self) -> list[tuple[str, str]]:
        """(``__name__``, ``le``) of a group's series, in the column order of :meth:`columns`."""
        out = [(f"{self.name}_bucket", le) for le in (*map(_le, self.bounds), "+Inf")]
        out += [(f"{self.name}_sum", ""), (f"{self.name}_count", "")]
        if self.calls_name:
            out.append((self.calls_name, ""))
        return out

    def columns(self) -> np.ndarray:
        """Increments, one row per group, columns as :meth:`series_names`."""
        counts, sums, cumulative = self.totals()
        cols = [cumulative, sums[:, None], counts[:, None]]
        if self.calls_name:
            cols.append(counts[:, None])
        return np.hstack(cols)


def _series_labels(base: LabelKey, name: str, le: str) -> dict[str, str]:
    labels = {**dict(base), "__name__": name}
    if le:
        labels["le"] = le
    return labels


@dataclass
class Deltas:
    """Increments per series from one batch: plain counters, and histograms by metric name."""

    counters: dict[LabelKey, float] = field(default_factory=lambda: defaultdict(float))
    hists: dict[str, Histogram] = field(default_factory=dict)

    def add(self, labels: dict[str, str], value: float) -> None:
        self.counters[tuple(sorted(labels.items()))] += value

    def histogram(
        self, name: str, labels: dict[str, str], seconds: float, buckets: tuple[float, ...]
    ) -> None:
        h = self.hists.get(name)
        if h is None:
            h = self.hists[name] = Histogram(name, buckets)
        h.observe(tuple(sorted(labels.items())), seconds)

    @property
    def values(self) -> dict[LabelKey, float]:
        """Every series (sorted label pairs) with its increment; for tests and debugging."""
        out: dict[LabelKey, float] = dict(self.counters)
        for h in self.hists.values():
            if not h.groups:
                continue
            names = h.series_names()
            for base, row in zip(h.groups, h.columns().tolist(), strict=True):
                for (name, le), value in zip(names, row, strict=True):
                    out[tuple(sorted(_series_labels(base, name, le).items()))] = value
        return out


class EdgeHalf(NamedTuple):
    trace_id: str
    client_span_id: str  # the client span's id; a server half uses its parent id
    side: str  # "client" | "server"
    service: str
    duration_ns: int
    failed: bool
    peer: str = ""  # client halves: value of the first peer attribute, for virtual nodes


class Edge(NamedTuple):
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


def _peer_attrs(attrs: Iterable[Any]) -> dict[str, str]:
    """The string-valued peer attributes of a span (first occurrence of each), in one pass."""
    found: dict[str, str] = {}
    for kv in attrs:
        key = kv.key
        if key in _PEER_KEYS and key not in found:
            value = kv.value
            if value.WhichOneof("value") == "string_value":
                found[key] = value.string_value
    return found


def compute_span_metrics(request: ExportTraceServiceRequest) -> tuple[Deltas, list[EdgeHalf], list[Edge]]:
    """Span-metric increments, service-graph halves, and edges complete on their own (databases)."""
    deltas = Deltas()
    latency = deltas.hists[_LATENCY] = Histogram(_LATENCY, LATENCY_BUCKETS, calls_name=_CALLS)
    groups: dict[tuple[str, int, int, str], int] = {}
    group_of = latency.group_of
    durations: list[int] = []
    halves: list[EdgeHalf] = []
    immediate: list[Edge] = []
    for rs in request.resource_spans:
        service = _str_attr(rs.resource.attributes, "service.name")
        for ss in rs.scope_spans:
            for span in ss.spans:
                kind = span.kind
                if not 0 <= kind < 6:
                    kind = 0
                status = span.status.code
                if not 0 <= status < 3:
                    status = 0
                gkey = (service, kind, status, span.name)
                g = groups.get(gkey)
                if g is None:
                    g = groups[gkey] = len(groups)
                group_of.append(g)
                duration = span.end_time_unix_nano - span.start_time_unix_nano
                if duration < 0:
                    duration = 0
                durations.append(duration)
                if kind in _CLIENT_KINDS:
                    peers = _peer_attrs(span.attributes) if len(span.attributes) else {}
                    db_name = peers.get("db.name", "")
                    if db_name:
                        immediate.append(Edge(service, db_name, duration, None, status == 2, "database"))
                        continue
                    peer = ""
                    if peers:  # the first peer attribute present, in PEER_ATTRIBUTES order
                        for k in PEER_ATTRIBUTES:
                            if k in peers:
                                peer = peers[k]
                                break
                    halves.append(
                        EdgeHalf(span.trace_id.hex(), span.span_id.hex(), "client", service, duration,
                                 status == 2, peer)
                    )  # fmt: skip
                elif kind in _SERVER_KINDS and span.parent_span_id:
                    halves.append(
                        EdgeHalf(span.trace_id.hex(), span.parent_span_id.hex(), "server", service, duration,
                                 status == 2)
                    )  # fmt: skip
    # Sorted label pairs of each group: service, span_kind, span_name, status_code.
    latency.groups = {
        (("service", s), ("span_kind", _KINDS[k]), ("span_name", n), ("status_code", _STATUS[c])): g
        for (s, k, c, n), g in groups.items()
    }
    latency.observed = np.array(durations, dtype=np.int64) / 1e9
    return deltas, halves, immediate


def _edge(a: EdgeHalf, b: EdgeHalf) -> Edge:
    c, s = (a, b) if a.side == "client" else (b, a)
    return Edge(c.service, s.service, c.duration_ns, s.duration_ns, c.failed or s.failed)


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
        edges.append(_edge(h, mate))
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


HalfKey = tuple[str, str, str]
# Tempo's registry writes every active series each collection (15 s), unchanged or not, and
# forgets a series after stale_duration (15 min) without updates. Batches are the only clock
# here: a batch also re-writes the idle series whose latest sample is a collection old.
COLLECTION_INTERVAL_MS = 15_000
STALE_DURATION_MS = 15 * 60_000


def wall_clock_ms() -> int:
    """The ingest time given to a batch (a module function so tests can move the clock)."""
    return time.time_ns() // 1_000_000


class _State:
    """Generator state of one database: unpaired halves and the series ids of histogram groups."""

    def __init__(self) -> None:
        # Insertion order is arrival order (batch times only grow), so the oldest come first.
        self.pending: dict[HalfKey, tuple[EdgeHalf, int]] = {}
        self.group_ids: dict[tuple[str, tuple[float, ...], LabelKey], np.ndarray] = {}
        self.index: MetricIndex | None = None
        self.last_ms = NO_TS
        # By series id: when this process last added to the series (NO_TS: not ours, or not yet).
        self.updated_ms = np.full(0, NO_TS, dtype=np.int64)

    def grow(self, size: int) -> None:
        if size > len(self.updated_ms):
            extra = np.full(max(size, 2 * len(self.updated_ms)) - len(self.updated_ms), NO_TS, dtype=np.int64)
            self.updated_ms = np.concatenate((self.updated_ms, extra))


_STATES: weakref.WeakKeyDictionary[Database, _State] = weakref.WeakKeyDictionary()


def _state(db: Database) -> _State:
    state = _STATES.get(db)
    if state is None:
        state = _STATES[db] = _State()
    index = index_for(db)
    if state.index is not index:  # a rebuilt mirror numbers series afresh
        state.index, state.group_ids = index, {}
        state.updated_ms = np.full(0, NO_TS, dtype=np.int64)
    return state


def pending_halves(db: Database) -> list[EdgeHalf]:
    """The halves of ``db`` waiting for their partner, oldest first."""
    state = _STATES.get(db)
    return [h for h, _ in state.pending.values()] if state else []


def _series_ids(state: _State, deltas: Deltas) -> tuple[np.ndarray, np.ndarray]:
    """Series ids and increments of every series the batch touches (ids unique)."""
    index = state.index
    assert index is not None
    id_parts: list[np.ndarray] = []
    inc_parts: list[np.ndarray] = []
    if deltas.counters:
        id_parts.append(index.ids_for_pairs(list(deltas.counters)))
        inc_parts.append(np.fromiter(deltas.counters.values(), dtype=np.float64, count=len(deltas.counters)))
    for h in deltas.hists.values():
        if not h.groups:
            continue
        names = None
        rows = []
        for base in h.groups:
            key = (h.name, h.bounds, base)
            ids = state.group_ids.get(key)
            if ids is None:
                names = names or h.series_names()
                ids = np.array([index.get_or_create(_series_labels(base, n, le))[0] for n, le in names])
                state.group_ids[key] = ids
            rows.append(ids)
        id_parts.append(np.concatenate(rows))
        inc_parts.append(h.columns().ravel())
    if not id_parts:
        return np.empty(0, dtype=np.int64), np.empty(0)
    ids, incs = np.concatenate(id_parts), np.concatenate(inc_parts)
    unique, inverse = np.unique(ids, return_inverse=True)
    if len(unique) < len(ids):  # one label set reached twice (e.g. pairs in another order): add up
        return unique, np.bincount(inverse, weights=incs, minlength=len(unique))
    return ids, incs


def _plan_edges(
    state: _State, halves: list[EdgeHalf], now_ms: int
) -> tuple[list[Edge], list[HalfKey], list[EdgeHalf]]:
    """Edges completed by this batch, pending keys to forget, and new halves to keep.

    Nothing in ``state`` changes here: the caller applies the plan once the samples are written.
    """
    cutoff = now_ms - EDGE_TTL_MS
    edges: list[Edge] = []
    forget: list[HalfKey] = []
    for key, (half, created) in state.pending.items():
        if created >= cutoff:
            break
        forget.append(key)
        if half.side == "client" and half.peer:
            edges.append(Edge(half.service, half.peer, half.duration_ns, None, half.failed, "virtual_node"))
    expired = set(forget)
    paired, leftovers = pair_edges(halves)  # most pairs sit in one batch
    edges += paired
    keep: list[EdgeHalf] = []
    for h in leftovers:
        key = (h.trace_id, h.client_span_id, "server" if h.side == "client" else "client")
        found = state.pending.get(key) if key not in expired else None
        if found is None:
            keep.append(h)
            continue
        expired.add(key)  # taken: a second half with the same key must not pair with it again
        forget.append(key)
        edges.append(_edge(h, found[0]))
    return edges, forget, keep


def generate(
    db: Database,
    con: duckdb.DuckDBPyConnection,
    request: ExportTraceServiceRequest,
    now_ms: int | None = None,
) -> int:
    """Derive and store the metrics of one batch; returns the number of samples written."""
    state = _state(db)
    now_ms = wall_clock_ms() if now_ms is None else int(now_ms)
    now_ms = max(now_ms, state.last_ms + 1)
    deltas, halves, immediate = compute_span_metrics(request)
    edges, forget, keep = _plan_edges(state, halves, now_ms)
    _edge_deltas(deltas, [*immediate, *edges])
    ids, incs = _series_ids(state, deltas)
    index = state.index
    assert index is not None
    state.grow(index.next_id)
    prev_ts, prev_val = index.last_samples(ids)
    # A series' next sample must come after its latest one (also across restarts).
    now_ms = max(now_ms, int(prev_ts.max(initial=NO_TS)) + 1)
    new = (prev_ts == NO_TS) | np.isnan(prev_val)
    totals = np.where(new, 0.0, prev_val) + incs
    idle, idle_vals = _idle_series(state, ids, now_ms)
    n_new = int(new.sum())
    out_ids = np.concatenate((ids[new], ids, idle))
    ts = np.full(len(out_ids), now_ms, dtype=np.int64)
    ts[:n_new] = now_ms - 1
    written = write_samples(db, con, out_ids, ts, np.concatenate((np.zeros(n_new), totals, idle_vals)))
    # The samples are written: only now change the in-memory state (an exception above leaves it as it was).
    pending = state.pending
    for key in forget:
        pending.pop(key, None)
    for h in keep:
        key = (h.trace_id, h.client_span_id, h.side)
        pending.pop(key, None)
        pending[key] = (h, now_ms)
    # Tempo's store holds at most max_items (10,000) unpaired edges; the oldest go first here.
    while len(pending) > MAX_PENDING_EDGES:
        del pending[next(iter(pending))]
    state.updated_ms[ids] = now_ms
    state.last_ms = now_ms
    return written


def _idle_series(state: _State, touched: np.ndarray, now_ms: int) -> tuple[np.ndarray, np.ndarray]:
    """Series this batch did not touch that are due for their collection sample, and their values."""
    assert state.index is not None
    updated = state.updated_ms
    ours = updated != NO_TS
    ours[touched] = False
    candidates = np.flatnonzero(ours)
    if not len(candidates):
        return candidates, np.empty(0)
    last_ts, last_val = state.index.last_samples(candidates)
    due = (
        (last_ts != NO_TS)
        & (now_ms - last_ts >= COLLECTION_INTERVAL_MS)
        & (now_ms - updated[candidates] <= STALE_DURATION_MS)
        & ~np.isnan(last_val)
    )
    return candidates[due], last_val[due]


def span_metrics_hook(
    db: Database, con: duckdb.DuckDBPyConnection, request: ExportTraceServiceRequest
) -> None:
    """The :data:`TRACE_HOOKS` entry."""
    generate(db, con, request)


if span_metrics_hook not in trace_store.TRACE_HOOKS:
    trace_store.TRACE_HOOKS.append(span_metrics_hook)
