"""The embedded store: one DuckDB database file shared by every signal.

Signals (traces, logs, metrics) own their tables and register DDL here; ingest
writes a whole batch inside one transaction, so a batch is either stored
completely or not at all. Receivers write through :meth:`Database.deferred`: the
batch's rows go to the ingest log (``labkit.lgtm.ingestlog``) and are acknowledged
from there; a background writer moves them into DuckDB many batches at a time, and
every read flushes what is pending first, so queries see every acknowledged batch.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

if TYPE_CHECKING:
    import numpy as np

from labkit.lgtm.ingestlog import FLUSH_INTERVAL_S, IngestLog, Tables, decode_record, encode_record

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

log = logging.getLogger("labkit.lgtm.db")

# Pending rows above which the background writer flushes at once, and above which an
# acknowledging thread flushes itself (bounds memory when DuckDB falls behind).
FLUSH_ROWS = 25_000
MAX_PENDING_ROWS = 100_000
# Highest ingest-log seq whose rows DuckDB holds (not a registered schema: no signal's table).
_APPLIED_DDL = "CREATE TABLE IF NOT EXISTS _labkit_ingest (applied BIGINT NOT NULL)"

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


class _LazyTransaction:
    """A connection that starts its transaction at the first statement run through it."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.begun = False

    def _begin(self) -> duckdb.DuckDBPyConnection:
        if not self.begun:
            self._con.execute("BEGIN TRANSACTION")
            self.begun = True
        return self._con

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        return self._begin().execute(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._begin(), name)


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
        # Deferred ingest: batches acknowledged from the ingest log, not yet in DuckDB.
        # The writer uses its own connection, so acknowledging never waits for a flush.
        self._writer = self._con.cursor()
        self._flush_lock = threading.Lock()
        self._pending_lock = threading.Lock()
        self._pending: list[tuple[int, Tables]] = []
        self._pending_rows = 0
        self._pending_since = 0.0
        self._log_seq = 0
        self._capture = threading.local()
        self._schemas: dict[tuple[str, tuple[str, ...]], Any] = {}
        self._wake = threading.Condition()
        self._closed = False
        self._flusher: threading.Thread | None = None
        self._log: IngestLog | None = None
        self.ensure_schemas()
        self._con.execute(_APPLIED_DDL)
        if self.path is not None:
            self._log = IngestLog(self.path)
            self._recover()

    def _recover(self) -> None:
        """Replay ingest-log records DuckDB does not hold yet (after a crash), then drop the files."""
        assert self._log is not None
        rows = self._con.execute("SELECT max(applied) FROM _labkit_ingest").fetchall()
        applied = int(rows[0][0] or 0)
        todo = [(seq, decode_record(p)) for seq, p in self._log.records() if seq > applied]
        self._log_seq = max([applied, *(seq for seq, _ in todo)])
        if todo:
            log.info("replaying %d acknowledged batches from the ingest log", len(todo))
            self._apply(todo)
        self._log.remove_upto(self._log.generation - 1)

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
                self.flush()  # max() must see the pending rows too
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
        self.flush()
        with self._lock:
            return bool(
                self._con.execute(
                    "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [table]
                ).fetchall()[0][0]
            )

    def used_bytes(self) -> int:
        """Bytes of the database file in use (free blocks excluded) plus the write-ahead log."""
        self.flush()
        with self._lock:
            rows = self._con.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchall()
        used = int(rows[0][0]) * int(rows[0][1]) if rows else 0
        if self.path is not None:
            wal = self.path.with_name(self.path.name + ".wal")
            used += wal.stat().st_size if wal.exists() else 0
        return used

    @contextmanager
    def transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """Yield the connection inside BEGIN/COMMIT; any exception rolls the whole batch back.

        Pending ingest is flushed first, so the transaction sees (and may delete) every
        acknowledged row.
        """
        self.flush()
        with self._lock:
            self._con.execute("BEGIN TRANSACTION")
            try:
                yield self._con
            except BaseException:
                self._con.execute("ROLLBACK")
                raise
            self._con.execute("COMMIT")

    def insert_columns(
        self, con: duckdb.DuckDBPyConnection, table: str, columns: Mapping[str, Sequence[Any] | np.ndarray]
    ) -> int:
        """Append column-oriented rows (name -> values) to ``table``; returns the row count.

        Inside :meth:`deferred` the rows are converted to the table's column types here (so
        a value the table cannot hold refuses the batch now, before it is acknowledged) and
        inserted later with the rest of the flush.
        """
        import pyarrow as pa

        batch = pa.table(dict(columns))
        if batch.num_rows == 0:
            return 0
        captured = getattr(self._capture, "tables", None)
        if captured is not None:
            captured.append((table, batch.cast(self._arrow_schema(table, tuple(batch.column_names)))))
            return batch.num_rows
        names = ", ".join(f'"{c}"' for c in batch.column_names)
        con.register("_labkit_batch", batch)
        try:
            con.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM _labkit_batch")
        finally:
            con.unregister("_labkit_batch")
        return batch.num_rows

    def _arrow_schema(self, table: str, names: tuple[str, ...]) -> Any:
        key = (table, names)
        schema = self._schemas.get(key)
        if schema is None:
            cols = ", ".join(f'"{c}"' for c in names)
            with self._lock:
                relation = self._con.sql(f"SELECT {cols} FROM {table} LIMIT 0")
                to_table = getattr(relation, "to_arrow_table", None) or relation.arrow
                schema = self._schemas[key] = to_table().schema
        return schema

    # -- deferred ingest ----------------------------------------------------------------

    @contextmanager
    def deferred(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A batch written through the ingest log: acknowledged when this block exits.

        ``insert_columns`` calls inside only build and check their rows; other statements
        (small bookkeeping tables) run in a transaction that commits at the end. On any
        exception nothing of the batch is logged or pending. On success the batch is one
        ingest-log record (written to the OS, so it survives a kill of this process) and
        pending until the background writer, or the next read, flushes it into DuckDB.
        """
        tables: Tables = []
        with self._lock:
            self._capture.tables = tables
            # Most batches run no statement at all (their rows are captured): BEGIN/COMMIT
            # only if one does, which saved a third of the Loki push time.
            con = _LazyTransaction(self._con)
            try:
                yield con  # type: ignore[misc]
            except BaseException:
                if con.begun:
                    self._con.execute("ROLLBACK")
                raise
            finally:
                self._capture.tables = None
            if con.begun:
                self._con.execute("COMMIT")
            if tables:
                self._enqueue(tables)

    def _enqueue(self, tables: Tables) -> None:
        rows = sum(t.num_rows for _, t in tables)
        payload = encode_record(tables) if self._log is not None else b""
        with self._pending_lock:
            self._log_seq += 1
            if self._log is not None:
                self._log.append(self._log_seq, payload)
            if not self._pending:
                self._pending_since = time.monotonic()
            self._pending.append((self._log_seq, tables))
            self._pending_rows += rows
            backlog = self._pending_rows
        if backlog > MAX_PENDING_ROWS:
            self.flush()
        elif self._flusher is None:
            self._flusher = threading.Thread(target=self._flush_loop, name="labkit-lgtm-flush", daemon=True)
            self._flusher.start()
        elif backlog >= FLUSH_ROWS:
            with self._wake:
                self._wake.notify()

    def _flush_loop(self) -> None:
        while not self._closed:
            with self._wake:
                self._wake.wait(FLUSH_INTERVAL_S / 2)
            with self._pending_lock:
                age = time.monotonic() - self._pending_since
                due = bool(self._pending) and (self._pending_rows >= FLUSH_ROWS or age >= FLUSH_INTERVAL_S)
            if due and not self._closed:
                try:
                    self.flush()
                except Exception:  # the rows stay pending; the next flush or read tries again
                    log.exception("flushing the ingest log into the store failed")

    def flush(self) -> None:
        """Move every acknowledged batch into DuckDB (one INSERT per table); returns when done."""
        if not self._pending:
            with self._flush_lock:  # a flush in progress holds batches this caller must see
                return
        with self._flush_lock:
            with self._pending_lock:
                todo, self._pending, self._pending_rows = self._pending, [], 0
                done_gen = self._log.rotate() if self._log is not None and todo else None
            if not todo:
                return
            try:
                self._apply(todo)
            except BaseException:
                with self._pending_lock:
                    self._pending[:0] = todo
                    self._pending_rows += sum(t.num_rows for _, ts in todo for _, t in ts)
                raise
            if done_gen is not None:
                assert self._log is not None
                self._log.remove_upto(done_gen)

    def _apply(self, records: list[tuple[int, Tables]]) -> None:
        import pyarrow as pa

        groups: dict[tuple[str, tuple[str, ...]], list[Any]] = {}
        for _, tables in records:
            for table, batch in tables:
                groups.setdefault((table, tuple(batch.column_names)), []).append(batch)
        con = self._writer
        con.execute("BEGIN TRANSACTION")
        try:
            for (table, names), batches in groups.items():
                merged = pa.concat_tables(batches) if len(batches) > 1 else batches[0]
                cols = ", ".join(f'"{c}"' for c in names)
                con.register("_labkit_flush", merged)
                try:
                    con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _labkit_flush")
                finally:
                    con.unregister("_labkit_flush")
            con.execute("DELETE FROM _labkit_ingest")
            con.execute("INSERT INTO _labkit_ingest VALUES (?)", [max(seq for seq, _ in records)])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def query(self, sql: str, params: Sequence[Any] | None = None) -> list[tuple[Any, ...]]:
        self.flush()
        with self._lock:
            return self._con.execute(sql, params or []).fetchall()

    def query_arrow(self, sql: str, params: Sequence[Any] | None = None) -> Any:
        self.flush()
        with self._lock:
            # A relation converts to Arrow without the extra copy of a DB-API result.
            # DuckDB 2 names the method to_arrow_table; 1.x (pyproject allows >= 1.1) arrow.
            relation = self._con.sql(sql, params=list(params) if params else None)
            to_table = getattr(relation, "to_arrow_table", None) or relation.arrow
            return to_table()

    def checkpoint(self) -> None:
        self.flush()
        with self._lock:
            self._con.execute("CHECKPOINT")

    def close(self) -> None:
        self.flush()
        self._closed = True
        with self._wake:
            self._wake.notify()
        if self._flusher is not None:
            self._flusher.join()
        with self._lock:
            self._writer.close()
            self._con.close()
        if self._log is not None:
            self._log.close()
