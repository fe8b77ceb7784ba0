"""The metric store: remote-write decoding, the in-memory mirror, restarts and retention."""

from __future__ import annotations

from pathlib import Path

import cramjam
import numpy as np
import pytest

import labkit.lgtm.metrics.index as index_module
from labkit.lgtm.db import Database
from labkit.lgtm.metrics.index import NO_TS, STALE_NAN, index_for, is_stale
from labkit.lgtm.metrics.promql import instant_query
from labkit.lgtm.metrics.remote_write import RemoteWriteError, decode_write_request, encode_write_request
from labkit.lgtm.metrics.store import append_samples, store_remote_write


def test_remote_write_round_trip_keeps_stale_markers() -> None:
    body = encode_write_request([({"__name__": "x", "a": "1"}, [(1000, 1.5), (2000, STALE_NAN)])])
    request = decode_write_request(body, "snappy")
    series = request.timeseries[0]
    assert [(label.name, label.value) for label in series.labels] == [("__name__", "x"), ("a", "1")]
    values = np.array([s.value for s in series.samples])
    assert values[0] == 1.5
    assert is_stale(values).tolist() == [False, True]


@pytest.mark.parametrize(
    ("body", "encoding", "status", "fragment"),
    [
        (b"\x00garbage", "snappy", 400, "snappy"),
        (bytes(cramjam.snappy.compress_raw(b"\xff\xff\xff")), "snappy", 400, "WriteRequest"),
        (b"", "gzip", 415, "Content-Encoding"),
    ],
)
def test_remote_write_errors_name_the_problem(body: bytes, encoding: str, status: int, fragment: str) -> None:
    with pytest.raises(RemoteWriteError, match=fragment) as info:
        decode_write_request(body, encoding)
    assert info.value.status == status


def test_remote_write_size_limit() -> None:
    body = encode_write_request([({"__name__": "x"}, [(i, float(i)) for i in range(1000)])])
    with pytest.raises(RemoteWriteError) as info:
        decode_write_request(body, "snappy", max_bytes=100)
    assert info.value.status == 413


def test_append_samples_needs_a_name() -> None:
    db = Database(None)
    with pytest.raises(ValueError, match="__name__"), db.transaction() as con:
        append_samples(db, con, [({"job": "x"}, 1000, 1.0)])
    assert db.query("SELECT count(*) FROM prom_samples") == [(0,)]


def test_series_and_samples_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "lgtm.duckdb"
    db = Database(path)
    body = encode_write_request(
        [({"__name__": "x", "a": "1"}, [(1000, 1.0), (16_000, 2.0), (31_000, STALE_NAN)])]
    )
    with db.transaction() as con:
        assert store_remote_write(db, con, decode_write_request(body)) == 3
    db.close()
    reopened = Database(path)
    index = index_for(reopened)
    assert instant_query(index, "x", 20_000)["result"][0]["value"][1] == "2"
    # The stale marker survived the round trip through DuckDB with its bit pattern.
    assert instant_query(index, "x", 40_000)["result"] == []
    with reopened.transaction() as con:
        append_samples(reopened, con, [({"__name__": "x", "a": "1"}, 50_000, 3.0)])
    assert reopened.query("SELECT count(*) FROM prom_series") == [(1,)]
    reopened.close()


def test_out_of_order_writes_and_duplicates_resolve_to_the_latest_write() -> None:
    db = Database(None)
    with db.transaction() as con:
        append_samples(db, con, [({"__name__": "x"}, t, float(t)) for t in (3000, 1000, 2000)])
    with db.transaction() as con:
        append_samples(db, con, [({"__name__": "x"}, 2000, 42.0)])
    index = index_for(db)
    ts, vals = index.samples(index.lookup({"__name__": "x"}) or 0)
    assert ts.tolist() == [1000, 2000, 3000]
    assert vals.tolist() == [1000.0, 42.0, 3000.0]


def test_mirror_follows_retention(monkeypatch: pytest.MonkeyPatch) -> None:
    db = Database(None)
    with db.transaction() as con:
        append_samples(db, con, [({"__name__": "x"}, t, 1.0) for t in (1000, 2000, 400_000)])
    index = index_for(db)
    db.query("DELETE FROM prom_samples WHERE ts_ms < 300000")
    monkeypatch.setattr(index_module, "RETENTION_SYNC_S", 0.0)
    assert index_for(db) is index
    assert instant_query(index, "x", 3000)["result"] == []
    assert index.samples(index.lookup({"__name__": "x"}) or 0)[0].tolist() == [400_000]


def test_public_names() -> None:
    import labkit.lgtm.metrics.api as api
    import labkit.lgtm.metrics.promql as promql
    import labkit.lgtm.metrics.store as store

    assert store.__all__ == ["append_samples", "store_otlp_metrics", "store_remote_write", "write_samples"]
    assert promql.__all__ == ["PromQLError", "instant_query", "range_query"]
    assert "add_routes" in api.__all__


def test_series_row_of_a_rolled_back_batch_is_written_with_the_next_one() -> None:
    db = Database(None)
    with pytest.raises(RuntimeError, match="boom"), db.transaction() as con:
        append_samples(db, con, [({"__name__": "x", "a": "1"}, 1000, 1.0)])
        raise RuntimeError("boom")
    assert db.query("SELECT count(*) FROM prom_series") == [(0,)]
    for t in (2000, 3000):
        with db.transaction() as con:
            append_samples(db, con, [({"__name__": "y"}, t, 1.0)])
    assert db.query("SELECT name FROM prom_series ORDER BY name") == [("x",), ("y",)]
    # The third batch saw both rows committed: nothing is left to re-check.
    assert index_for(db).unpersisted == set()


def test_label_order_and_empty_values_do_not_make_new_series() -> None:
    db = Database(None)
    body = encode_write_request([({"__name__": "x", "a": "1", "b": "2"}, [(1000, 1.0)])])
    request = decode_write_request(body)
    labels = request.timeseries[0].labels
    labels[1].name, labels[2].name = "b", "a"  # swap the names and values: same label set, new order
    labels[1].value, labels[2].value = "2", "1"
    extra = labels.add()
    extra.name, extra.value = "c", ""
    request.timeseries[0].samples[0].timestamp = 2000
    with db.transaction() as con:
        append_samples(db, con, [({"__name__": "x", "a": "1", "b": "2"}, 1000, 1.0)])
        assert store_remote_write(db, con, request) == 1
    index = index_for(db)
    ids = index.ids_for_pairs(
        [(("b", "2"), ("__name__", "x"), ("a", "1")), (("__name__", "x"), ("a", "1"), ("b", "2"))]
    )
    assert ids.tolist() == [1, 1]
    assert db.query("SELECT labels_key FROM prom_series") == [('[["__name__","x"],["a","1"],["b","2"]]',)]
    assert index.samples(1)[0].tolist() == [1000, 2000]


def test_latest_sample_per_series() -> None:
    db = Database(None)
    with db.transaction() as con:
        append_samples(db, con, [({"__name__": "x"}, t, float(t)) for t in (3000, 1000, 2000)])
        append_samples(db, con, [({"__name__": "x"}, 3000, 7.0), ({"__name__": "x"}, 3000, 8.0)])
        append_samples(db, con, [({"__name__": "y"}, 500, 1.0)])
    index = index_for(db)
    x, y = index.lookup({"__name__": "x"}), index.lookup({"__name__": "y"})
    ts, vals = index.last_samples(np.array([x, y]))
    assert ts.tolist() == [3000, 500] and vals.tolist() == [8.0, 1.0]  # the later write at 3000 wins
    assert index.last_value(x or 0) == 8.0
    index.drop_before(1000)  # y has nothing left
    ts, vals = index.last_samples(np.array([x, y]))
    assert ts.tolist() == [3000, NO_TS] and np.isnan(vals[1])
