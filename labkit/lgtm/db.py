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
from pathlib import Path
from typing import Any

import duckdb

__all__ = ["Database", "register_schema"]

# Table DDL per signal, applied in registration order when a database opens.
_SCHEMAS: dict[str, str] = {}


def register_schema(name: str, ddl: str) -> None:
    """Register ``CREATE ... IF NOT EXISTS`` statements; idempotent per name."""
    _SCHEMAS[name] = ddl


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
        self.ensure_schemas()

    def ensure_schemas(self) -> None:
        with self._lock:
            for ddl in _SCHEMAS.values():
                self._con.execute(ddl)

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
            return self._con.execute(sql, params or []).fetch_arrow_table()

    def checkpoint(self) -> None:
        with self._lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        with self._lock:
            self._con.close()
