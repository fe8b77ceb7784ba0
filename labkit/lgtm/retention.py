"""Retention of the embedded store: drop data older than ``retention_hours``, then the oldest
data across all signals until the store is under ``retention_max_mb``.

Signals take part by calling ``labkit.lgtm.db.register_retention(table, ts_column, unit)``.
Deleting by one time cut across every table keeps the signals consistent: a trace
does not outlive the logs that point at it, or the other way round.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from labkit.lgtm.db import Database, RetentionTable, register_retention, retention_tables

__all__ = ["RetentionResult", "apply_retention"]

log = logging.getLogger("labkit.lgtm.retention")

# A size-based pass deletes at least this share of rows, so a store barely over its
# cap does not need a pass every few minutes.
_MIN_FRACTION = 0.05

# The Loki store owns log_entries; registering here too is idempotent, and retention
# skips tables that do not exist.
register_retention("log_entries", "ts_ns", "ns")


@dataclass
class RetentionResult:
    deleted: dict[str, int] = field(default_factory=dict)
    used_bytes_before: int = 0
    used_bytes_after: int = 0

    @property
    def total_deleted(self) -> int:
        return sum(self.deleted.values())


def _existing(db: Database) -> list[RetentionTable]:
    return [t for t in retention_tables() if db.table_exists(t.table)]


def _delete_before(db: Database, tables: list[RetentionTable], cut_ns: int, result: RetentionResult) -> int:
    total = 0
    with db.transaction() as con:
        for t in tables:
            # Integer division keeps the cut exact for coarser units (a row at the cut is kept).
            cut = cut_ns // t.ns_factor
            rows = con.execute(f'DELETE FROM {t.table} WHERE "{t.ts_column}" < ?', [cut]).fetchall()
            n = int(rows[0][0]) if rows else 0
            if n:
                result.deleted[t.table] = result.deleted.get(t.table, 0) + n
                total += n
    return total


def _cut_for_fraction(db: Database, tables: list[RetentionTable], fraction: float) -> int | None:
    """The time (ns) below which ``fraction`` of all rows of all tables lie."""
    parts = [f'SELECT "{t.ts_column}"::HUGEINT * {t.ns_factor} AS ts FROM {t.table}' for t in tables]
    sql = f"SELECT quantile_disc(ts, ?)::BIGINT, count(*) FROM ({' UNION ALL '.join(parts)})"
    cut, count = db.query(sql, [min(max(fraction, 0.0), 1.0)])[0]
    if not count or cut is None:
        return None
    return int(cut) + 1  # delete the quantile row itself too, so every pass makes progress


def _enforce_size(db: Database, tables: list[RetentionTable], cap: int, result: RetentionResult) -> None:
    """One pass: delete the oldest share of rows that the store is over its cap.

    The share comes from the measured size (rows are assumed to cost about the same),
    because DuckDB frees a block only once every row in it is deleted: re-measuring
    after each delete and deleting again would chase a number that moves in steps of a
    whole row group, and could empty a small store. Periodic passes converge instead.
    """
    db.checkpoint()  # fold the WAL into the file so the measurement is of the data
    used = db.used_bytes()
    if used <= cap:
        return
    # Aim a little under the cap so the next ingest does not trigger another pass at once.
    fraction = min(1.0, max(_MIN_FRACTION, 1.0 - (cap * 0.9) / used))
    cut = _cut_for_fraction(db, tables, fraction)
    if cut is not None and _delete_before(db, tables, cut, result):
        db.checkpoint()  # frees the blocks of row groups that are now empty


def apply_retention(
    db: Database, retention_hours: float, retention_max_mb: float, now_ns: int | None = None
) -> RetentionResult:
    """Apply both limits once; ``0`` disables a limit. Safe to call while ingest runs."""
    result = RetentionResult(used_bytes_before=db.used_bytes())
    tables = _existing(db)
    if tables and retention_hours > 0:
        now_ns = time.time_ns() if now_ns is None else now_ns
        _delete_before(db, tables, now_ns - int(retention_hours * 3600e9), result)
    cap = int(retention_max_mb * 1024 * 1024)
    if tables and cap > 0:
        _enforce_size(db, tables, cap, result)
    result.used_bytes_after = db.used_bytes()
    if result.total_deleted:
        log.info(
            "retention deleted %s (store %.1f MB -> %.1f MB)",
            ", ".join(f"{n} rows from {t}" for t, n in result.deleted.items()),
            result.used_bytes_before / 1e6,
            result.used_bytes_after / 1e6,
        )
    return result
