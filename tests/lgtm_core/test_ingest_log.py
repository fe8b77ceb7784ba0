"""The ingest log: acknowledged batches are readable at once, replayed after a crash, all or nothing."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from labkit.lgtm.db import Database
from labkit.lgtm.ingestlog import IngestLog, decode_record, encode_record
from labkit.lgtm.traces.store import store_traces

from .payloads import make_traces


def _count(db: Database) -> int:
    return int(db.query("SELECT count(*) FROM spans")[0][0])


def test_deferred_batch_is_visible_to_the_next_read_and_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "lgtm.duckdb"
    db = Database(path)
    try:
        with db.deferred() as con:
            assert store_traces(db, con, make_traces(7)) == 7
        assert _count(db) == 7  # read-your-writes: the read flushed the pending batch
        with db.deferred() as con:
            store_traces(db, con, make_traces(5, seed=1))
    finally:
        db.close()
    db = Database(path)
    try:
        assert _count(db) == 12
        assert [p for _, p in IngestLog(path).files() if p.stat().st_size] == []
    finally:
        db.close()


def test_failed_batch_leaves_nothing_pending(tmp_path: Path) -> None:
    db = Database(tmp_path / "lgtm.duckdb")
    try:
        req = make_traces(3)
        req.resource_spans[0].scope_spans[0].spans[1].kind = 300  # no TINYINT holds it
        with pytest.raises(ValueError), db.deferred() as con:
            store_traces(db, con, req)
        assert _count(db) == 0
    finally:
        db.close()


def test_torn_last_record_is_dropped_and_older_records_are_read(tmp_path: Path) -> None:
    path = tmp_path / "lgtm.duckdb"
    writer = IngestLog(path)
    tables = [("t", pa.table({"a": [1, 2, 3]}))]
    payload = encode_record(tables)
    writer.append(1, payload)
    writer.append(2, payload)
    writer.close()
    file = writer.files()[-1][1]
    whole = file.read_bytes()
    file.write_bytes(whole + whole[: len(whole) // 2 - 3])  # a kill in the middle of record 3
    records = list(IngestLog(path).records())
    assert [seq for seq, _ in records] == [1, 2]
    assert decode_record(records[0][1])[0][1].to_pydict() == {"a": [1, 2, 3]}
