"""The embedded store: one DuckDB database file shared by every signal.

Signals (traces, logs, metrics) own their tables and register DDL here; ingest
writes a whole batch inside one transaction, so a batch is either stored
completely or not at all, and DuckDB's write-ahead log makes a committed batch
survive a crash. Only after ``commit`` returns may a receiver acknowledge.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

__all__ = [
    "Database",
    "RetentionTable",
    "register_retention",
    "register_schema",
    "register_sequence",
    "registered_schemas",
    "retention_tables",
]

# Table DDL per signal, applied in registration order when a database opens.
_SCHEMAS: dict[str, str] = {}

# Arrival-order counters: counter name -> (table, column) pairs holding its values.
# A counter lives in memory and starts after the largest stored value, so it keeps
# increasing across restarts without a write per batch (an UPDATE of a counter row
# cost more than inserting 500 spans). A rolled-back batch leaves a gap, which is
# harmless: only the order matters.
_SEQUENCES: dict[str, list[tuple[str, str]]] = {}

_TIME_UNITS_NS = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}


@dataclass(frozen=True)
class RetentionTable:
    """A signal table whose rows age out: ``ts_column`` holds a time in ``unit`` (ns, us, ms, s)."""

    table: str
    ts_column: str
    unit: str = "ns"

    @property
    def ns_factor(self) -> int:
        return _TIME_UNITS_NS[self.unit]


_RETENTION: dict[str, RetentionTable] = {}


def register_schema(name: str, ddl: str) -> None:
    """Register ``CREATE ... IF NOT EXISTS`` statements; idempotent per name."""
    _SCHEMAS[name] = ddl


def registered_schemas() -> dict[str, str]:
    """Schema name (usually the signal) -> its DDL, in registration order."""
    return dict(_SCHEMAS)


def register_retention(table: str, ts_column: str, unit: str = "ns") -> None:
    """Let retention delete the oldest rows of ``table`` by ``ts_column``; idempotent per table."""
    if unit not in _TIME_UNITS_NS:
        raise ValueError(f"retention unit for {table}.{ts_column} must be one of {sorted(_TIME_UNITS_NS)}")
    _RETENTION[table] = RetentionTable(table, ts_column, unit)


def register_sequence(counter: str, table: str, column: str) -> None:
    """Declare that ``table.column`` stores numbers handed out by ``next_seq(..., counter)``."""
    pairs = _SEQUENCES.setdefault(counter, [])
    if (table, column) not in pairs:
        pairs.append((table, column))


def retention_tables() -> list[RetentionTable]:
    return list(_RETENTION.values())


class Database:
    """A DuckDB connection guarded by a lock.

    DuckDB allows one writing process per file, which is why the embedded server is
    the only process that opens it; everyone else goes through the HTTP APIs. The lock
    serialises writers and readers sharing this connection across threads.
    """

    def __init__(self, path: Path | str | None) -> None:
        self.path = None if path is None else Path(path)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(":memory:" if self.path is None else str(self.path))
        self._lock = threading.RLock()
        self._counters: dict[str, int] = {}
        self.ensure_schemas()

    def ensure_schemas(self) -> None:
        with self._lock:
            for ddl in _SCHEMAS.values():
                self._con.execute(ddl)

    def next_seq(self, con: duckdb.DuckDBPyConnection, n: int, counter: str = "seq") -> int:
        """Reserve ``n`` consecutive numbers of ``counter`` (call inside a transaction); returns the first.

        Used for arrival order (``seq``) and batch numbers (``batch``), which order rows
        whose timestamps tie. Register where a counter's values are stored with
        :func:`register_sequence` so it resumes after them when the store reopens.
        """
        with self._lock:
            if counter not in self._counters:
                start = 0
                for table, column in _SEQUENCES.get(counter, []):
                    if self.table_exists(table):
                        # fetchall: DuckDB wants every result consumed before the next statement.
                        ((top,),) = con.execute(f'SELECT max("{column}") FROM {table}').fetchall()
                        start = max(start, int(top or 0))
                self._counters[counter] = start
            first = self._counters[counter] + 1
            self._counters[counter] += n
            return first

    def table_exists(self, table: str) -> bool:
        with self._lock:
            return bool(
                self._con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
                ).fetchall()[0][0]
            )

    def used_bytes(self) -> int:
        """Bytes of the database file in use (free blocks excluded) plus the write-ahead log."""
        with self._lock:
            rows = self._con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchall()
        used = int(rows[0][0]) * int(rows[0][1]) if rows else 0
        if self.path is not None:
            wal = self.path.with_name(self.path.name + ".wal")
            used += wal.stat().st_size if wal.exists() else 0
        return used

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield the connection inside BEGIN/COMMIT; any exception rolls the whole batch back."""
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def insert_columns(
        self, con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any]]
    ) -> int:
        """Append column-oriented rows (name -> values) to ``table``; returns the row count."""
        import pyarrow as pa

        batch = pa.table(dict(columns))
        if batch.num_rows == 0:
            return 0
        names = ", ".join(f'"{c}"' for c in batch.column_names)
        con.register("_labkit_batch", batch)
        try:
            con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _labkit_batch")
        finally:
            con.unregister("_labkit_batch")
        return batch.num_rows

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        with self._lock:
            # A relation converts to Arrow without the extra copy of a DB-API result.
            # DuckDB 2 names the method to_arrow_table; 1.x (pyproject allows >= 1.1) arrow.
            relation = self._con.sql(sql, params=list(params) if params else None)
            to_table = getattr(relation, "to_arrow_table", None) or relation.arrow
            return to_table()

    def checkpoint(self) -> None:
        with self._lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._lock:
            self._con.close()
