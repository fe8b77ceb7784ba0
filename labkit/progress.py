"""Progress of a cohort: per learner and per stage, from the runs' ``results.json``.

A stage is a notebook's folder (``04-instrument-an-app``). For each learner and stage the
**latest** attempt (by start time) says where the learner stands: its status, exercises
passed (results of kind ``exercise``, recorded by ``labkit.check.exercise``) and
checkpoints passed (every other check). Time spent is the sum over all attempts: that is
what the learner put in. The same rows go to the HTML report and to CSV.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

__all__ = ["LearnerSummary", "StageProgress", "learner_summaries", "stage_progress", "to_csv", "write_csv"]


@dataclass
class StageProgress:
    learner: str
    stage: str
    attempts: int
    status: str  # of the latest attempt: ok | failed | timeout | skipped
    exercises_passed: int
    exercises_total: int
    checkpoints_passed: int
    checkpoints_total: int
    time_spent_s: float
    last_run: str

    @property
    def complete(self) -> bool:
        return (
            self.status == "ok"
            and self.exercises_passed == self.exercises_total
            and self.checkpoints_passed == self.checkpoints_total
        )


@dataclass
class LearnerSummary:
    learner: str
    stages: int
    stages_complete: int
    stages_skipped: int
    exercises_passed: int
    exercises_total: int
    checkpoints_passed: int
    checkpoints_total: int
    time_spent_s: float


def stage_of(path: str) -> str:
    return path.split("/")[0] if "/" in path else path.rsplit(".", 1)[0]


def _is_exercise(check: Mapping[str, Any]) -> bool:
    return check.get("kind") == "exercise"


def stage_progress(runs: Iterable[Mapping[str, Any]]) -> list[StageProgress]:
    """One row per (learner, stage), ordered by learner then curriculum order."""
    from labkit.runner import _order_key

    attempts: dict[tuple[str, str], list[tuple[str, Mapping[str, Any], str]]] = {}
    for run in runs:
        learner = str(run.get("learner") or "unknown")
        when = str(run.get("started") or run.get("run_id") or "")
        for nb in run.get("notebooks", []):
            key = (learner, stage_of(str(nb["path"])))
            attempts.setdefault(key, []).append((when, nb, str(run.get("label") or run.get("run_id"))))
    rows = []
    for (learner, stage), tries in attempts.items():
        tries.sort(key=lambda t: t[0])
        _, latest, label = tries[-1]
        checks = latest.get("checks") or []
        exercises = [c for c in checks if _is_exercise(c)]
        checkpoints = [c for c in checks if not _is_exercise(c)]
        rows.append(
            StageProgress(
                learner=learner,
                stage=stage,
                attempts=len(tries),
                status=str(latest.get("status")),
                exercises_passed=sum(1 for c in exercises if c.get("passed")),
                exercises_total=len(exercises),
                checkpoints_passed=sum(1 for c in checkpoints if c.get("passed")),
                checkpoints_total=len(checkpoints),
                time_spent_s=round(sum(float(t[1].get("duration_s") or 0.0) for t in tries), 1),
                last_run=label,
            )
        )
    rows.sort(key=lambda r: (r.learner, _order_key(r.stage)))
    return rows


def learner_summaries(rows: Iterable[StageProgress]) -> list[LearnerSummary]:
    by_learner: dict[str, list[StageProgress]] = {}
    for row in rows:
        by_learner.setdefault(row.learner, []).append(row)
    return [
        LearnerSummary(
            learner=learner,
            stages=len(items),
            stages_complete=sum(1 for r in items if r.complete),
            stages_skipped=sum(1 for r in items if r.status == "skipped"),
            exercises_passed=sum(r.exercises_passed for r in items),
            exercises_total=sum(r.exercises_total for r in items),
            checkpoints_passed=sum(r.checkpoints_passed for r in items),
            checkpoints_total=sum(r.checkpoints_total for r in items),
            time_spent_s=round(sum(r.time_spent_s for r in items), 1),
        )
        for learner, items in sorted(by_learner.items())
    ]


def to_csv(rows: Iterable[StageProgress]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=[f.name for f in fields(StageProgress)], lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = asdict(row)
        # A learner name like "=cmd()" must not become a formula in a spreadsheet.
        for key in ("learner", "stage", "last_run"):
            if str(values[key])[:1] in ("=", "+", "-", "@"):
                values[key] = "'" + str(values[key])
        writer.writerow(values)
    return buffer.getvalue()


def write_csv(rows: Iterable[StageProgress], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(to_csv(rows), encoding="utf-8")
    tmp.replace(path)
    return path
