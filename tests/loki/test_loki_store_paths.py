"""The store's fast paths (windows totalled in DuckDB, paged log reads) answer exactly like the
line-by-line evaluation over the same entries in memory."""

from __future__ import annotations

import json
import random

import pytest

from labkit.lgtm.db import Database
from labkit.lgtm.logs.logql.evaluate import evaluate_instant, evaluate_range, select_logs
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.push import LokiEntry, LokiPush, LokiStream
from labkit.lgtm.logs.source import MemorySource, StoreSource
from labkit.lgtm.logs.store import store_loki_push

S = 10**9
T0 = 1_800_000_000 * S
STREAMS = [
    {"service_name": "web", "env": "prod"},
    {"service_name": "web", "env": "dev"},
    {"service_name": "api", "env": "prod", "app": "shop"},
    {"app": "batch"},  # service_name comes from app at ingest
]
WORDS = ["GET", "POST", "status=500", "status=200", "error", "ok", "é", "日本", "x'y", 'a"b']


def _push(rng: random.Random) -> LokiPush:
    streams = []
    for labels in STREAMS:
        entries = []
        for _ in range(150):
            ts = T0 - rng.randrange(0, 700) * S - rng.choice([0, 0, 1, 500_000_000])
            line = " ".join(rng.choice(WORDS) for _ in range(rng.randrange(0, 6)))
            meta: list[tuple[str, str]] = []
            if rng.random() < 0.4:
                meta.append(("team", rng.choice(["a", "b"])))
            if rng.random() < 0.1:
                meta.append(("service_name", "override"))  # metadata wins over the stream label
            if rng.random() < 0.2:
                meta.append(("trace_id", f"{rng.getrandbits(64):016x}"))
            entries.append(LokiEntry(ts, line, tuple(meta)))
        streams.append(LokiStream(labels, entries))
    return LokiPush(streams)


@pytest.fixture(scope="module")
def sources() -> tuple[StoreSource, MemorySource]:
    db = Database(None)
    rng = random.Random(3)
    for _ in range(2):  # two batches: rows of a stream are not stored in time order
        with db.transaction() as con:
            store_loki_push(db, con, _push(rng))
    # In arrival order, so that equal timestamps tie-break like the store's (ts, seq) order.
    rows = db.query("SELECT ts_ns, labels::VARCHAR, line, metadata::VARCHAR FROM log_entries ORDER BY seq")
    memory = MemorySource([(ts, json.loads(lb), line, json.loads(md)) for ts, lb, line, md in rows])
    return StoreSource(db), memory


METRIC_QUERIES = [
    'count_over_time({env=~".+"}[1m])',
    'sum by (service_name) (count_over_time({env="prod"}[5m]))',
    'sum by (team, app) (rate({service_name=~".+"} |= "status" != "500" [90s]))',
    'sum without (trace_id, detected_level) (bytes_over_time({env=~"prod|dev"}[2m]))',
    'sum(bytes_rate({service_name=~".+"} |= "é" [1m] offset 30s))',
    'max by (service_name) (count_over_time({app=~".+"} |= "x\'y" [45s]))',
    'sum by (detected_level) (count_over_time({env="prod"} |= "" [3m]))',
    'sum by (nothing) (rate({env="dev"} != "GET" [10s]))',
    'sum(count_over_time({env="nope"}[1m]))',
    # Not totalled by the store (regex filter, parser): lines read in big pages instead.
    'sum by (team) (count_over_time({env="prod"} |~ "GET|日本" [1m]))',
    'sum by (status) (bytes_over_time({env=~".+"} | logfmt [2m]))',
]


@pytest.mark.parametrize("query", METRIC_QUERIES)
@pytest.mark.parametrize(
    ("start", "end", "step"), [(-600, 0, 15), (-700, -30, 60), (-333, -1, 7), (-90, 0, 1)]
)
def test_range_windows_match_line_by_line(sources, query, start, end, step):
    store, memory = sources
    args = (T0 + start * S, T0 + end * S, step * S)
    expected = evaluate_range(parse(query), memory, *args)
    assert evaluate_range(parse(query), store, *args) == expected
    assert expected or "nope" in query  # the comparison is not between two empty answers


@pytest.mark.parametrize("query", METRIC_QUERIES)
@pytest.mark.parametrize("at", [0, -1, -61, -299, -650])
def test_instant_windows_match_line_by_line(sources, query, at):
    store, memory = sources
    t = T0 + at * S + 250_000_000
    assert evaluate_instant(parse(query), store, t) == evaluate_instant(parse(query), memory, t)


def test_fast_path_is_really_taken(sources, monkeypatch):
    store, _ = sources

    def no_lines(*args, **kwargs):
        raise AssertionError("counting queries must not read lines one by one")

    monkeypatch.setattr(store, "entries", no_lines)
    out = evaluate_instant(parse('sum by (team) (count_over_time({env="prod"} |= "GET" [10m]))'), store, T0)
    assert sum(s.value for s in out) > 0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "query",
    ['{env="prod"}', '{service_name=~".+"} |= "status" != "200"', '{app="shop"} |~ "é|日本"'],
)
@pytest.mark.parametrize("backward", [True, False])
@pytest.mark.parametrize("limit", [1, 7, 500, 5000])
def test_paged_log_reads_match_memory(sources, query, backward, limit):
    store, memory = sources

    def run(source):
        got = select_logs(parse(query), source, T0 - 800 * S, T0 + S, limit, backward)  # type: ignore[arg-type]
        return [(e.ts_ns, e.line, e.labels.all()) for e in got]

    mine = run(store)
    assert mine and mine == run(memory)


def test_metadata_names_are_recorded_and_rebuilt_for_older_stores():
    db = Database(None)
    rng = random.Random(8)
    with db.transaction() as con:
        store_loki_push(db, con, _push(rng))
    recorded = set(db.query("SELECT stream_key, name FROM log_meta_keys"))
    assert ('{env="prod", service_name="web"}', "team") in recorded
    # A store from before the table existed: no names, and the old time index.
    db.query("DELETE FROM log_meta_keys")
    db.query("CREATE INDEX log_entries_ts ON log_entries (ts_ns)")
    db.ensure_schemas()
    assert set(db.query("SELECT stream_key, name FROM log_meta_keys")) == recorded
    assert not db.query("SELECT 1 FROM duckdb_indexes() WHERE index_name = 'log_entries_ts'")


@pytest.fixture(scope="module")
def clustered() -> tuple[StoreSource, MemorySource]:
    """Bursts of lines far apart in time, with many equal timestamps: pages must cross the gaps."""
    db = Database(None)
    rng = random.Random(12)
    entries = []
    for center in (100_000, 50_000, 49_990, 10):
        for _ in range(700):  # more than a first page, so later pages are sized from one burst
            ts = T0 - center * S - rng.randrange(0, 5) * S
            entries.append(LokiEntry(ts, rng.choice(WORDS), ()))
    with db.transaction() as con:
        store_loki_push(db, con, LokiPush([LokiStream({"env": "prod"}, entries)]))
    rows = db.query("SELECT ts_ns, labels::VARCHAR, line, metadata::VARCHAR FROM log_entries ORDER BY seq")
    memory = MemorySource([(ts, json.loads(lb), line, json.loads(md)) for ts, lb, line, md in rows])
    return StoreSource(db), memory


@pytest.mark.parametrize("backward", [True, False])
@pytest.mark.parametrize("limit", [1, 450, 699, 1000, 1500, 2799, 5000])
@pytest.mark.parametrize("query", ['{env="prod"}', '{env="prod"} |= "GET"'])
def test_paged_reads_cross_gaps(clustered, backward, limit, query):
    store, memory = clustered

    def run(source):
        got = select_logs(parse(query), source, T0 - 200_000 * S, T0, limit, backward)  # type: ignore[arg-type]
        return [(e.ts_ns, e.line) for e in got]

    mine = run(store)
    assert mine and mine == run(memory)
