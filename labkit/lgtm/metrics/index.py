"""In-memory mirror of the Prometheus series and samples, rebuilt from DuckDB at startup.

PromQL evaluation reads samples per series many times per query; numpy arrays held in
memory make that a slice instead of a SQL round trip. DuckDB stays the durable store:
every sample is written there first, inside the ingest transaction, and the mirror is
updated as the last step of the store function (a batch that later rolls back is the
one case where the mirror runs ahead of the file until the next restart).
"""

from __future__ import annotations

import json
import struct
import threading
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from labkit.lgtm.db import Database

__all__ = [
    "BAND",
    "NO_TS",
    "STALE_NAN",
    "FlatSeries",
    "MetricIndex",
    "band_keys",
    "band_queries",
    "index_for",
    "is_stale",
    "labels_key",
]

# Series are laid side by side in one array by shifting each into its own time band:
# key = ts + _SHIFT + position * BAND. Any realistic ms timestamp (|ts| < 2**42, year
# 2109) stays inside its band, so one searchsorted answers for every series at once.
BAND = 1 << 44
_SHIFT = 1 << 42

# Prometheus marks a series as gone with this exact NaN bit pattern (value.StaleNaN);
# an ordinary NaN is a legitimate sample value and must not be confused with it.
_STALE_BITS = 0x7FF0000000000002
# "No sample yet" in the latest-sample arrays.
NO_TS = _NO_TS = np.iinfo(np.int64).min
_PAIR_CACHE_MAX = 500_000
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", _STALE_BITS))[0]


def is_stale(values: np.ndarray) -> np.ndarray:
    return values.view(np.uint64) == np.uint64(_STALE_BITS)


def labels_key(labels: dict[str, str]) -> str:
    """Canonical identity of a label set: JSON of the sorted pairs, empty values dropped (as Prometheus)."""
    return json.dumps(sorted((k, v) for k, v in labels.items() if v != ""), separators=(",", ":"))


def band_keys(ts: np.ndarray, lens: np.ndarray) -> np.ndarray:
    return ts + _SHIFT + np.repeat(np.arange(len(lens), dtype=np.int64) * BAND, lens)


def band_queries(t: np.ndarray, n_series: int) -> np.ndarray:
    """(series, steps) keys of the times ``t`` in every series' band."""
    return (t + _SHIFT)[None, :] + (np.arange(n_series, dtype=np.int64) * BAND)[:, None]


class FlatSeries:
    """Samples of several series concatenated in band order (see ``BAND``)."""

    __slots__ = ("key", "starts", "ts", "vals")

    def __init__(self, ts: np.ndarray, vals: np.ndarray, lens: np.ndarray) -> None:
        self.ts = ts
        self.vals = vals
        self.starts = (np.cumsum(lens) - lens).astype(np.int64)
        self.key = band_keys(ts, lens)

    @classmethod
    def of(cls, parts: list[tuple[np.ndarray, np.ndarray]]) -> FlatSeries:
        lens = np.array([len(t) for t, _ in parts], dtype=np.int64)
        if not parts:
            return cls(np.empty(0, dtype=np.int64), np.empty(0), lens)
        return cls(np.concatenate([t for t, _ in parts]), np.concatenate([v for _, v in parts]), lens)

    def ends(self) -> np.ndarray:
        return np.append(self.starts[1:], len(self.ts)) if len(self.starts) else self.starts


class _Series:
    __slots__ = ("dirty", "pending_ts", "pending_vals", "ts", "vals")

    def __init__(self) -> None:
        self.ts = np.empty(0, dtype=np.int64)
        self.vals = np.empty(0, dtype=np.float64)
        self.pending_ts: list[np.ndarray] = []
        self.pending_vals: list[np.ndarray] = []
        self.dirty = False


class MetricIndex:
    """Series labels by id, a name index, and sorted sample arrays per series."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self.labels: dict[int, dict[str, str]] = {}
        self.keys: dict[int, str] = {}  # id -> labels_key, the prom_series row's text
        self._ids: dict[str, int] = {}
        # Label pairs exactly as a writer passed them -> id. Hashing a tuple is far cheaper
        # than building the canonical JSON key, and writers repeat the same label sets.
        self._pair_ids: dict[tuple[tuple[str, str], ...], int] = {}
        # Series created here whose prom_series row is not yet known to be committed.
        self.unpersisted: set[int] = set()
        # Latest sample per series, indexed by id (vectorised reads for running totals).
        self._last_ts = np.full(1024, _NO_TS, dtype=np.int64)
        self._last_val = np.full(1024, np.nan)
        self._by_name: dict[str, list[int]] = {}
        self._series: dict[int, _Series] = {}
        self.next_id = 1
        self.synced_at = time.monotonic()
        # Concatenated samples per selector result, dropped whenever samples arrive.
        self._flat_cache: dict[tuple[tuple[int, ...], bool], FlatSeries] = {}

    # -- series ---------------------------------------------------------------
    def lookup(self, labels: dict[str, str]) -> int | None:
        return self._ids.get(labels_key(labels))

    def get_or_create(self, labels: dict[str, str]) -> tuple[int, str, bool]:
        """Return (id, key, created)."""
        key = labels_key(labels)
        with self._lock:
            sid = self._ids.get(key)
            if sid is not None:
                return sid, key, False
            sid = self.next_id
            self.next_id += 1
            self._add_series(sid, key, {k: v for k, v in labels.items() if v != ""})
            self.unpersisted.add(sid)
            return sid, key, True

    def ids_for_pairs(self, keys: Iterable[tuple[tuple[str, str], ...]]) -> np.ndarray:
        """Series ids of label sets given as ``(name, value)`` pairs, created when new (one per key)."""
        cache = self._pair_ids
        out: list[int] = []
        for key in keys:
            sid = cache.get(key)
            if sid is None:
                sid = self.get_or_create(dict(key))[0]
                if len(cache) > _PAIR_CACHE_MAX:  # bound the memory; it refills on demand
                    cache.clear()
                cache[key] = sid
            out.append(sid)
        return np.array(out, dtype=np.int64)

    def _add_series(self, sid: int, key: str, labels: dict[str, str]) -> None:
        self._ids[key] = sid
        self.keys[sid] = key
        self.labels[sid] = labels
        self._by_name.setdefault(labels.get("__name__", ""), []).append(sid)
        self._series[sid] = _Series()
        self.next_id = max(self.next_id, sid + 1)
        if sid >= len(self._last_ts):
            grow = max(sid + 1, 2 * len(self._last_ts)) - len(self._last_ts)
            self._last_ts = np.concatenate((self._last_ts, np.full(grow, _NO_TS, dtype=np.int64)))
            self._last_val = np.concatenate((self._last_val, np.full(grow, np.nan)))

    def names(self) -> list[str]:
        return sorted(n for n, ids in self._by_name.items() if n and ids)

    def ids_for_name(self, name: str | None) -> list[int]:
        if name is None:
            return list(self.labels)
        return list(self._by_name.get(name, ()))

    # -- samples --------------------------------------------------------------
    def add_samples(self, ids: np.ndarray, ts: np.ndarray, vals: np.ndarray) -> None:
        if len(ids) == 0:
            return
        did, dts = np.diff(ids), np.diff(ts)
        if not bool(np.all((did > 0) | ((did == 0) & (dts >= 0)))):  # writers mostly send it sorted
            # lexsort is stable: equal (id, ts) pairs keep arrival order, so the last one wins below.
            order = np.lexsort((ts, ids))
            ids, ts, vals = ids[order], ts[order], vals[order]
        bounds = np.flatnonzero(np.diff(ids)) + 1
        starts = np.concatenate(([0], bounds))
        ends = np.concatenate((bounds, [len(ids)]))
        with self._lock:
            self._flat_cache = {}
            last = ends - 1
            sids, newer = ids[last], ts[last] >= self._last_ts[ids[last]]
            self._last_ts[sids[newer]] = ts[last][newer]
            self._last_val[sids[newer]] = vals[last][newer]
            for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
                series = self._series[int(ids[s])]
                series.pending_ts.append(ts[s:e])
                series.pending_vals.append(vals[s:e])
                series.dirty = True

    def samples(self, sid: int) -> tuple[np.ndarray, np.ndarray]:
        """Sorted timestamps (ms) and values; a later write at the same timestamp wins."""
        series = self._series[sid]
        if not series.dirty:
            return series.ts, series.vals
        with self._lock:
            if series.dirty:
                ts = np.concatenate([series.ts, *series.pending_ts])
                vals = np.concatenate([series.vals, *series.pending_vals])
                if len(ts) > 1 and not bool(np.all(ts[1:] > ts[:-1])):
                    # Stable sort keeps arrival order among equal timestamps; keep the last.
                    order = np.argsort(ts, kind="stable")
                    ts, vals = ts[order], vals[order]
                    keep = np.ones(len(ts), dtype=bool)
                    keep[:-1] = ts[1:] != ts[:-1]
                    ts, vals = ts[keep], vals[keep]
                series.ts, series.vals = ts, vals
                series.pending_ts, series.pending_vals = [], []
                series.dirty = False
            return series.ts, series.vals

    def flat(self, ids: tuple[int, ...], drop_stale: bool) -> FlatSeries:
        """The samples of ``ids`` side by side (stale markers removed when ``drop_stale``), cached."""
        cache_key = (ids, drop_stale)
        hit = self._flat_cache.get(cache_key)
        if hit is not None:
            return hit
        parts = []
        for sid in ids:
            ts, vals = self.samples(sid)
            if drop_stale:
                keep = ~is_stale(vals)
                if not keep.all():
                    ts, vals = ts[keep], vals[keep]
            parts.append((ts, vals))
        flat = FlatSeries.of(parts)
        if len(self._flat_cache) > 256:
            self._flat_cache = {}
        self._flat_cache[cache_key] = flat
        return flat

    def last_value(self, sid: int) -> float | None:
        return float(self._last_val[sid]) if self._last_ts[sid] != _NO_TS else None

    def last_samples(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Timestamp and value of each series' latest sample; ``NO_TS`` (and NaN) where it has none."""
        with self._lock:
            return self._last_ts[ids], self._last_val[ids]

    def drop_before(self, min_ts_ms: int) -> None:
        """Forget samples older than ``min_ts_ms`` (mirrors retention in the database)."""
        with self._lock:
            for sid in list(self._series):
                ts, vals = self.samples(sid)
                cut = int(np.searchsorted(ts, min_ts_ms, side="left"))
                if cut:
                    self._flat_cache = {}
                    self._series[sid].ts, self._series[sid].vals = ts[cut:], vals[cut:]
                    if cut == len(ts):
                        self._last_ts[sid], self._last_val[sid] = _NO_TS, np.nan

    def load(self, series_rows: Iterable[tuple[int, str]], samples: tuple[np.ndarray, ...]) -> None:
        for sid, key in series_rows:
            self._add_series(int(sid), key, dict(json.loads(key)))
        ids, ts, vals = samples
        if len(ids):
            known = np.isin(ids, np.fromiter(self._series, dtype=np.int64))
            self.add_samples(ids[known], ts[known], vals[known])


_INDEXES: weakref.WeakKeyDictionary[Database, MetricIndex] = weakref.WeakKeyDictionary()
_INDEX_LOCK = threading.Lock()
# Retention deletes rows in the database behind the mirror's back; at most this often the
# mirror asks for the oldest remaining sample and forgets what retention removed.
RETENTION_SYNC_S = 30.0


def _load_samples(db: Database) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    sql = "SELECT series_id, ts_ms, value FROM prom_samples ORDER BY series_id, ts_ms"
    try:
        table = db.query_arrow(sql)
    except AttributeError:  # DuckDB builds without the Arrow fetch: go through Python rows
        rows = db.query(sql)
        return (
            np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((r[2] for r in rows), dtype=np.float64, count=len(rows)),
        )
    return tuple(table.column(c).to_numpy() for c in ("series_id", "ts_ms", "value"))  # type: ignore[return-value]


def index_for(db: Database) -> MetricIndex:
    """The mirror of ``db``'s metric tables, loaded on first use."""
    index = _INDEXES.get(db)
    if index is not None:
        now = time.monotonic()
        if now - index.synced_at > RETENTION_SYNC_S:
            index.synced_at = now
            oldest = db.query("SELECT min(ts_ms) FROM prom_samples")[0][0]
            index.drop_before(int(oldest) if oldest is not None else 2**62)
        return index
    with _INDEX_LOCK:
        index = _INDEXES.get(db)
        if index is None:
            index = MetricIndex()
            rows = db.query("SELECT id, labels_key FROM prom_series ORDER BY id")
            index.load(rows, _load_samples(db))
            _INDEXES[db] = index
        return index
