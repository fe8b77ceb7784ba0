"""Store seams the signals rely on: arrival-order counters and the exported names."""

from __future__ import annotations

from pathlib import Path

import labkit.lgtm.db as db_module
import labkit.lgtm.otlp.decode as decode_module
from labkit.lgtm.db import Database
from labkit.lgtm.traces.store import store_traces

from .payloads import make_traces


def test_sequences_resume_after_reopen(tmp_path: Path) -> None:
    path = tmp_path / "lgtm.duckdb"
    db = Database(path)
    with db.transaction() as con:
        assert store_traces(db, con, make_traces(7)) == 7
    db.close()
    db = Database(path)
    try:
        with db.transaction() as con:
            assert db.next_seq(con, 3) == 8
            assert db.next_seq(con, 1, "batch") == 2
            assert db.next_seq(con, 1, "never-registered") == 1
    finally:
        db.close()


def test_exported_names() -> None:
    assert set(db_module.__all__) >= {
        "Database",
        "register_schema",
        "register_retention",
        "register_sequence",
    }
    assert set(decode_module.__all__) >= {
        "DecodeError",
        "decode_request",
        "hex_id",
        "any_value_to_json",
        "any_value_to_python",
        "attributes_to_json",
    }
    for module in (db_module, decode_module):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_query_arrow_with_and_without_params() -> None:
    db = Database(None)
    try:
        assert db.query_arrow("SELECT 1 AS a").to_pylist() == [{"a": 1}]
        assert db.query_arrow("SELECT ?::BIGINT AS b", [5]).to_pylist() == [{"b": 5}]
    finally:
        db.close()
