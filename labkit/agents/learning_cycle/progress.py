"""The learner's progress and review history, in SQLite under the data dir.

One row per finished cycle, keyed by the run id (the checkpoint thread id): a resumed
run that repeats ``update_progress`` (killed after the commit, before LangGraph saved
the checkpoint) writes the same key again and ``INSERT OR IGNORE`` keeps one row. That
is what makes "resume without duplicate progress entries" hold whatever the kill point.
"""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ProgressEntry", "ProgressStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS progress (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id TEXT NOT NULL UNIQUE,
    learner TEXT NOT NULL,
    title TEXT NOT NULL,
    module TEXT NOT NULL,
    score INTEGER NOT NULL,
    passed INTEGER NOT NULL,
    finished_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reviews (
    run_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    rule_id TEXT NOT NULL,
    category TEXT NOT NULL,
    file TEXT NOT NULL,
    line INTEGER NOT NULL,
    why TEXT NOT NULL,
    PRIMARY KEY (run_id, position)
);
"""


@dataclass(frozen=True)
class ProgressEntry:
    id: int
    run_id: str
    learner: str
    title: str
    module: str
    score: int
    passed: bool
    finished_at: float


class ProgressStore:
    """Open (and create) the store at ``path``; every method opens its own short connection,
    so a store object may be shared by threads and the file by processes."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.executescript(_SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=30)
        db.execute("PRAGMA journal_mode=WAL")
        return db

    def record(
        self,
        run_id: str,
        learner: str,
        *,
        title: str,
        module: str,
        score: int,
        passed: bool,
        findings: list[dict[str, Any]],
    ) -> int:
        """Store one finished cycle and its findings in one transaction; returns the entry id.
        Recording the same ``run_id`` again changes nothing and returns the first id."""
        with self._connect() as db:
            db.execute(
                "INSERT OR IGNORE INTO progress (run_id, learner, title, module, score, passed, finished_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (run_id, learner, title, module, int(score), int(bool(passed)), time.time()),
            )
            db.executemany(
                "INSERT OR IGNORE INTO reviews VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        i,
                        str(f.get("rule_id", "")),
                        str(f.get("category", "")),
                        str(f.get("file", "")),
                        int(f.get("line_start", 0) or 0),
                        str(f.get("why", ""))[:500],
                    )
                    for i, f in enumerate(findings)
                ],
            )
            row = db.execute("SELECT id FROM progress WHERE run_id = ?", (run_id,)).fetchone()
        return int(row[0])

    def entries(self, learner: str | None = None) -> list[ProgressEntry]:
        sql = "SELECT id, run_id, learner, title, module, score, passed, finished_at FROM progress"
        args: tuple[Any, ...] = ()
        if learner is not None:
            sql, args = sql + " WHERE learner = ?", (learner,)
        with self._connect() as db:
            rows = db.execute(sql + " ORDER BY id", args).fetchall()
        return [ProgressEntry(r[0], r[1], r[2], r[3], r[4], int(r[5]), bool(r[6]), r[7]) for r in rows]

    def level(self, learner: str) -> int:
        """How many assignments the learner passed (picks the next draft)."""
        return sum(1 for e in self.entries(learner) if e.passed)

    def reviews(self, run_id: str) -> list[dict[str, Any]]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT rule_id, category, file, line, why FROM reviews WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        return [dict(zip(("rule_id", "category", "file", "line", "why"), r, strict=True)) for r in rows]

    def table(self, learner: str | None = None) -> Any:
        import pandas as pd

        return pd.DataFrame([e.__dict__ for e in self.entries(learner)])

    def as_json(self, learner: str | None = None) -> str:
        return json.dumps([e.__dict__ for e in self.entries(learner)])
