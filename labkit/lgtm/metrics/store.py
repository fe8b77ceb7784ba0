"""Metric tables: raw OTLP points, and Prometheus series + samples for PromQL.

``prom_series`` holds one row per label set (``labels_key`` is the canonical JSON of
the sorted pairs, so equal label sets always map to one id); ``prom_samples`` is a
narrow (series_id, ts_ms, value) table that DuckDB compresses well. Stale markers keep
Prometheus's StaleNaN bit pattern in ``value`` (DuckDB preserves NaN payloads).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable
from typing import Any

import duckdb
import numpy as np

from labkit.lgtm.db import Database, register_retention, register_schema
from labkit.lgtm.metrics.index import MetricIndex, index_for, is_stale
from labkit.lgtm.metrics.translate import translate_request

__all__ = ["append_samples", "store_otlp_metrics", "store_remote_write", "write_samples"]

register_schema(
    "metrics",
    """
CREATE TABLE IF NOT EXISTS prom_series (
    id BIGINT PRIMARY KEY,
    name VARCHAR NOT NULL,
    labels_key VARCHAR NOT NULL
);
CREATE TABLE IF NOT EXISTS prom_samples (series_id BIGINT NOT NULL, ts_ms BIGINT NOT NULL, value DOUBLE);
CREATE TABLE IF NOT EXISTS otlp_metric_points (
    ts_ns BIGINT NOT NULL,
    start_ts_ns BIGINT,
    metric_name VARCHAR NOT NULL,
    description VARCHAR,
    unit VARCHAR,
    type VARCHAR NOT NULL,
    temporality VARCHAR,
    monotonic BOOLEAN,
    value DOUBLE,
    count UBIGINT,
    sum DOUBLE,
    min DOUBLE,
    max DOUBLE,
    bucket_bounds DOUBLE[],
    bucket_counts UBIGINT[],
    exp_scale INTEGER,
    exp_zero_count UBIGINT,
    exp_positive_offset INTEGER,
    exp_positive_counts UBIGINT[],
    exp_negative_offset INTEGER,
    exp_negative_counts UBIGINT[],
    quantiles JSON,
    flags INTEGER,
    service_name VARCHAR,
    attributes JSON,
    resource_attributes JSON,
    scope_name VARCHAR,
    scope_version VARCHAR
);
""",
)
register_retention("prom_samples", "ts_ms", "ms")
register_retention("otlp_metric_points", "ts_ns", "ns")

_TEMPORALITY = {0: "", 1: "delta", 2: "cumulative"}


def _persist_series(con: duckdb.DuckDBPyConnection, index: MetricIndex) -> None:
    """Write the prom_series rows of series the mirror created and the file may lack.

    The mirror learns a series before its batch commits. A row is taken off the
    ``unpersisted`` list only once a later transaction sees it committed, so the row of a
    batch that rolled back is written again with the next batch instead of being lost.
    Steady state (no new series) costs nothing here.
    """
    if not index.unpersisted:
        return
    import pyarrow as pa

    todo = sorted(index.unpersisted)
    con.register("_labkit_series", pa.table({"id": np.array(todo, dtype=np.int64)}))
    try:
        present = con.execute(
            "SELECT id FROM prom_series WHERE id IN (SELECT id FROM _labkit_series)"
        ).fetchall()
    finally:
        con.unregister("_labkit_series")
    index.unpersisted.difference_update(r[0] for r in present)
    rows = sorted(index.unpersisted)
    if not rows:
        return
    table = pa.table(
        {
            "id": np.array(rows, dtype=np.int64),
            "name": [index.labels[i].get("__name__", "") for i in rows],
            "labels_key": [index.keys[i] for i in rows],
        }
    )
    con.register("_labkit_series", table)
    try:
        con.execute(
            "INSERT INTO prom_series SELECT id, name, labels_key FROM _labkit_series ON CONFLICT DO NOTHING"
        )
    finally:
        con.unregister("_labkit_series")


def write_samples(
    db: Database, con: duckdb.DuckDBPyConnection, ids: np.ndarray, ts: np.ndarray, values: np.ndarray
) -> int:
    """Append samples for known series ids to the database, then to the in-memory mirror."""
    index = index_for(db)
    if len(ids) == 0:
        return 0
    _persist_series(con, index)
    db.insert_columns(con, "prom_samples", {"series_id": ids, "ts_ms": ts, "value": values})
    index.add_samples(ids, ts, values)
    return len(ids)


def _check_labels(labels: dict[str, str], where: str) -> None:
    if not labels.get("__name__"):
        raise ValueError(f"{where}: a sample needs a non-empty __name__ label, got {labels!r}")


def append_samples(
    db: Database, con: duckdb.DuckDBPyConnection, samples: Iterable[tuple[dict[str, str], int, float]]
) -> int:
    """Store ``(labels incl. __name__, ts_ms, value)`` samples (span metrics, tests)."""
    index = index_for(db)
    keys: list[tuple[tuple[str, str], ...]] = []
    ts: list[int] = []
    vals: list[float] = []
    for n, (labels, t, v) in enumerate(samples):
        if not labels.get("__name__"):
            _check_labels(labels, f"sample {n}")
        keys.append(tuple(labels.items()))
        ts.append(t)
        vals.append(v)
    return write_samples(
        db, con, index.ids_for_pairs(keys), np.array(ts, dtype=np.int64), np.array(vals, dtype=np.float64)
    )


def store_remote_write(db: Database, con: duckdb.DuckDBPyConnection, write_request: Any) -> int:
    """Store a decoded remote-write ``WriteRequest``; returns the number of samples."""
    index = index_for(db)
    keys: list[tuple[tuple[str, str], ...]] = []
    lens: list[int] = []
    ts_all: list[int] = []
    val_all: list[float] = []
    for n, series in enumerate(write_request.timeseries):
        pairs = tuple((label.name, label.value) for label in series.labels)
        if not any(k == "__name__" and v for k, v in pairs):
            _check_labels(dict(pairs), f"timeseries {n}")
        samples = series.samples
        if not samples:
            continue
        keys.append(pairs)
        lens.append(len(samples))
        ts_all.extend([s.timestamp for s in samples])
        val_all.extend([s.value for s in samples])
    if not keys:
        return 0
    ids = np.repeat(index.ids_for_pairs(keys), lens)
    ts = np.array(ts_all, dtype=np.int64)
    vals = np.array(val_all, dtype=np.float64)
    return write_samples(db, con, ids, ts, vals)


_RAW_COLUMNS = (
    "ts_ns",
    "start_ts_ns",
    "metric_name",
    "description",
    "unit",
    "type",
    "temporality",
    "monotonic",
    "value",
    "count",
    "sum",
    "min",
    "max",
    "bucket_bounds",
    "bucket_counts",
    "exp_scale",
    "exp_zero_count",
    "exp_positive_offset",
    "exp_positive_counts",
    "exp_negative_offset",
    "exp_negative_counts",
    "quantiles",
    "flags",
    "service_name",
    "attributes",
    "resource_attributes",
    "scope_name",
    "scope_version",
)


def _raw_rows(request: Any) -> dict[str, list[Any]]:
    from labkit.lgtm.otlp.decode import attributes_to_json

    cols: dict[str, list[Any]] = {k: [] for k in _RAW_COLUMNS}

    def add(**row: Any) -> None:
        for k, values in cols.items():
            values.append(row.get(k))

    for rm in request.resource_metrics:
        resource = json.dumps(attributes_to_json(rm.resource.attributes))
        service = next(
            (kv.value.string_value for kv in rm.resource.attributes if kv.key == "service.name"), ""
        )
        for sm in rm.scope_metrics:
            common = {
                "service_name": service,
                "resource_attributes": resource,
                "scope_name": sm.scope.name,
                "scope_version": sm.scope.version,
            }
            for m in sm.metrics:
                meta = {"metric_name": m.name, "description": m.description, "unit": m.unit, **common}
                which = m.WhichOneof("data")
                if which in ("gauge", "sum"):
                    data = getattr(m, which)
                    extra: dict[str, Any] = {"type": which}
                    if which == "sum":
                        extra["temporality"] = _TEMPORALITY.get(data.aggregation_temporality, "")
                        extra["monotonic"] = data.is_monotonic
                    for dp in data.data_points:
                        v = dp.as_int if dp.WhichOneof("value") == "as_int" else dp.as_double
                        add(
                            **meta,
                            **extra,
                            ts_ns=dp.time_unix_nano,
                            start_ts_ns=dp.start_time_unix_nano,
                            value=float(v),
                            flags=dp.flags,
                            attributes=json.dumps(attributes_to_json(dp.attributes)),
                        )
                elif which == "histogram":
                    temporality = _TEMPORALITY.get(m.histogram.aggregation_temporality, "")
                    for dp in m.histogram.data_points:
                        add(
                            **meta,
                            type="histogram",
                            temporality=temporality,
                            ts_ns=dp.time_unix_nano,
                            start_ts_ns=dp.start_time_unix_nano,
                            count=dp.count,
                            sum=dp.sum if dp.HasField("sum") else None,
                            min=dp.min if dp.HasField("min") else None,
                            max=dp.max if dp.HasField("max") else None,
                            bucket_bounds=list(dp.explicit_bounds),
                            bucket_counts=list(dp.bucket_counts),
                            flags=dp.flags,
                            attributes=json.dumps(attributes_to_json(dp.attributes)),
                        )
                elif which == "exponential_histogram":
                    eh = m.exponential_histogram
                    temporality = _TEMPORALITY.get(eh.aggregation_temporality, "")
                    for dp in eh.data_points:
                        add(
                            **meta,
                            type="exponential_histogram",
                            temporality=temporality,
                            ts_ns=dp.time_unix_nano,
                            start_ts_ns=dp.start_time_unix_nano,
                            count=dp.count,
                            sum=dp.sum if dp.HasField("sum") else None,
                            min=dp.min if dp.HasField("min") else None,
                            max=dp.max if dp.HasField("max") else None,
                            exp_scale=dp.scale,
                            exp_zero_count=dp.zero_count,
                            exp_positive_offset=dp.positive.offset,
                            exp_positive_counts=list(dp.positive.bucket_counts),
                            exp_negative_offset=dp.negative.offset,
                            exp_negative_counts=list(dp.negative.bucket_counts),
                            flags=dp.flags,
                            attributes=json.dumps(attributes_to_json(dp.attributes)),
                        )
                elif which == "summary":
                    for dp in m.summary.data_points:
                        qs = [{"quantile": q.quantile, "value": q.value} for q in dp.quantile_values]
                        add(
                            **meta,
                            type="summary",
                            ts_ns=dp.time_unix_nano,
                            start_ts_ns=dp.start_time_unix_nano,
                            count=dp.count,
                            sum=dp.sum,
                            quantiles=json.dumps(qs),
                            flags=dp.flags,
                            attributes=json.dumps(attributes_to_json(dp.attributes)),
                        )
    return cols


def store_otlp_metrics(
    db: Database, con: duckdb.DuckDBPyConnection, request: Any, promote: Collection[str] = ()
) -> int:
    """Store raw OTLP points and their Prometheus translation; returns the number of raw points.

    ``promote``: resource attributes copied onto the series (``otlp_promote_resource_attributes``).
    """
    index = index_for(db)
    # Raises ValueError naming a bad metric before anything is written.
    points = translate_request(request, promote)
    raw = _raw_rows(request)
    stored = db.insert_columns(con, "otlp_metric_points", raw)
    if not points:
        return stored
    ids = np.empty(len(points), dtype=np.int64)
    ts = np.empty(len(points), dtype=np.int64)
    vals = np.empty(len(points), dtype=np.float64)
    deltas: dict[int, list[int]] = {}
    for i, p in enumerate(points):
        sid = index.get_or_create(p.labels)[0]
        ids[i], ts[i], vals[i] = sid, p.ts_ms, p.value
        if p.delta:
            deltas.setdefault(sid, []).append(i)
    # Delta temporality: each point adds to the series' running total, in time order,
    # starting from the last stored value (so the state survives restarts).
    for sid, rows in deltas.items():
        last = index.last_value(sid)
        total = 0.0 if last is None or bool(is_stale(np.array([last]))[0]) or last != last else last
        for i in sorted(rows, key=lambda r: ts[r]):
            total += vals[i]
            vals[i] = total
    write_samples(db, con, ids, ts, vals)
    return stored
