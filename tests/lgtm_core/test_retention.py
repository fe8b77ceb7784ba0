"""Retention by age and by size, oldest data first across signal tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lgtm.db import Database, register_retention, register_schema
from labkit.lgtm.retention import apply_retention
from labkit.lgtm.traces import store as trace_store
from labkit.lgtm.traces.store import store_traces

from .payloads import make_traces

HOUR = 3600 * 10**9
NOW = 1_795_000_000_000_000_000

register_schema("test_retention_ms", "CREATE TABLE IF NOT EXISTS retention_test_ms (ts_ms BIGINT, v DOUBLE);")
register_retention("retention_test_ms", "ts_ms", "ms")


@pytest.fixture(autouse=True)
def _spans_only(monkeypatch: pytest.MonkeyPatch) -> None:
    # The span-metrics hook (if loaded) would add metric samples, which retention also
    # ages out; these tests count spans only.
    monkeypatch.setattr(trace_store, "TRACE_HOOKS", [])


def _store(db: Database, n: int, t0: int, seed: int) -> None:
    with db.transaction() as con:
        store_traces(db, con, make_traces(n, seed=seed, t0=t0))


def test_age_limit_deletes_old_rows_in_every_registered_table(tmp_path: Path) -> None:
    db = Database(tmp_path / "lgtm.duckdb")
    try:
        _store(db, 30, NOW - 5 * HOUR, seed=1)
        _store(db, 20, NOW - HOUR // 2, seed=2)
        db.query(
            "INSERT INTO retention_test_ms VALUES (?, 1), (?, 2)",
            [(NOW - 5 * HOUR) // 10**6, (NOW - HOUR // 2) // 10**6],
        )
        result = apply_retention(db, retention_hours=2, retention_max_mb=0, now_ns=NOW)
        assert result.deleted == {"spans": 30, "retention_test_ms": 1}
        assert db.query("SELECT count(*), min(end_ns) > ? FROM spans", [NOW - 2 * HOUR]) == [(20, True)]
        assert db.query("SELECT v FROM retention_test_ms") == [(2.0,)]
        # Nothing more to do on a second pass; 0 disables the age limit.
        assert apply_retention(db, 2, 0, now_ns=NOW).total_deleted == 0
        assert apply_retention(db, 0, 0, now_ns=NOW + 100 * HOUR).total_deleted == 0
    finally:
        db.close()


def test_size_limit_deletes_oldest_first(tmp_path: Path) -> None:
    db = Database(tmp_path / "lgtm.duckdb")
    try:
        for i in range(40):
            _store(db, 500, NOW - (40 - i) * HOUR // 100, seed=i)
        db.checkpoint()
        before = db.used_bytes()
        cap_mb = before * 0.75 / (1024 * 1024)
        result = apply_retention(db, retention_hours=0, retention_max_mb=cap_mb, now_ns=NOW)
        # 1 - 0.9 * 0.75 of the rows go: the pass aims 10% under the cap.
        assert abs(result.deleted["spans"] - 0.325 * 20_000) <= 500
        assert result.used_bytes_after <= before
        # What is left is the newest data: every kept span ends after every deleted one.
        kept_min = db.query("SELECT min(end_ns) FROM spans")[0][0]
        assert kept_min > NOW - 40 * HOUR // 100
        newest_batch = db.query("SELECT count(*) FROM spans WHERE start_ns >= ?", [NOW - HOUR // 100])[0][0]
        assert newest_batch == 500
    finally:
        db.close()
