"""``labkit grade``: run learners' notebooks with the reference checks and report each exercise.

For every submitted notebook:

1. find its reference, the committed solution edition of the same notebook (by the
   ``metadata.labkit.edition.source`` the learner edition carries, else by file name);
2. drop the learner's own ``exercise``-tagged cells and append the reference's, so a
   learner who deleted, moved, duplicated or edited check cells is graded the same;
3. run it like ``labkit run`` does (own kernel, watchdog timeout), in a scratch copy of
   the submission's folder, letting every learner cell fail without stopping the rest;
4. read the exercise results from the appended cells only, and list every exercise the
   reference checks, so one the notebook never reached is a failure that says why.

A broken submission (not a notebook, invalid JSON, no matching reference) is an entry
with status "error" naming the file; a wrong answer is a result. Neither stops the others.
"""

from __future__ import annotations

import copy
import json
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labkit.exercises.notebook import EXERCISE_TAG, exercise_checks, load_notebook, tags_of
from labkit.results import CHECK_MIME, CheckResult

__all__ = ["GRADING_TAG", "GradeError", "GradeResult", "GradedNotebook", "grade", "graded_notebook"]

GRADING_TAG = "labkit-grading"  # the reference check cells appended to a submission
DEFAULT_TIMEOUT_S = 300.0


class GradeError(ValueError):
    """Bad input to grading as a whole (nothing to grade, no reference folder)."""


@dataclass
class GradedNotebook:
    submission: str  # as found (relative to the folder given, or the file given)
    learner: str | None
    reference: str | None  # the reference notebook's name (``04-x/04-x.ipynb``)
    status: str  # ok | failed | timeout | error (broken submission) | skipped (a need is missing)
    duration_s: float = 0.0
    error: dict[str, Any] | None = None
    results: dict[str, Any] = field(default_factory=dict)
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def exercises(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if c.get("kind") == "exercise"]

    @property
    def passed(self) -> int:
        return sum(1 for c in self.exercises if c["passed"])

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.submission,
            "learner": self.learner,
            "reference": self.reference,
            "status": self.status,
            "duration_s": round(self.duration_s, 3),
            "error": self.error,
            "results": self.results,
            "checks": self.checks,
            "exercises_passed": self.passed,
            "exercises_total": len(self.exercises),
        }


@dataclass
class GradeResult:
    output: Path
    started: str
    finished: str | None = None
    backend: str = ""
    notebooks: list[GradedNotebook] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "run_id": f"grade-{self.output.name}",
            "kind": "grade",
            "started": self.started,
            "finished": self.finished,
            "backend": self.backend,
            "notebooks": [nb.to_dict() for nb in self.notebooks],
        }


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _references(folder: Path) -> dict[str, Path]:
    from labkit.runner import discover

    return {spec.path: spec.source for spec in discover([folder])}


def _match(submission: Path, nb: dict[str, Any], references: dict[str, Path]) -> str:
    edition = nb.get("metadata", {}).get("labkit", {}).get("edition", {})
    source = edition.get("source") if isinstance(edition, dict) else None
    if isinstance(source, str) and source in references:
        return source
    by_name = [name for name in references if Path(name).name == submission.name]
    if len(by_name) == 1:
        return by_name[0]
    # "04-instrument-an-app-alice.ipynb": the longest reference stem that starts the name.
    stems = sorted(
        (n for n in references if submission.stem.startswith(Path(n).stem)), key=lambda n: -len(Path(n).stem)
    )
    if stems:
        return stems[0]
    raise ValueError(
        f"{submission}: no reference notebook matches it; name it like one of "
        + ", ".join(sorted(Path(n).name for n in references)[:6])
    )


def graded_notebook(submission: dict[str, Any], reference: dict[str, Any]) -> dict[str, Any]:
    """The submission without its own check cells, every cell allowed to fail, plus the reference checks."""
    out = copy.deepcopy(submission)
    cells = []
    for cell in out["cells"]:
        tags = tags_of(cell)
        if cell.get("cell_type") == "code" and (EXERCISE_TAG in tags or GRADING_TAG in tags):
            continue  # never trust the learner's checks
        if cell.get("cell_type") == "code":
            cell["outputs"], cell["execution_count"] = [], None
            if "parameters" not in tags:
                # nbclient runs on past an error in a cell tagged raises-exception, so one
                # broken learner cell does not hide the grade of every later exercise.
                cell.setdefault("metadata", {})["tags"] = [*tags, "raises-exception"]
        cells.append(cell)
    for check in reference["cells"]:
        if check.get("cell_type") == "code" and EXERCISE_TAG in tags_of(check):
            added = copy.deepcopy(check)
            added["metadata"] = {**added.get("metadata", {}), "tags": [GRADING_TAG, "raises-exception"]}
            added["outputs"], added["execution_count"] = [], None
            added.pop("id", None)
            cells.append(added)
    out["cells"] = cells
    # Unique cell ids again (a duplicated learner cell repeats an id; nbformat 4.5 refuses that).
    seen: set[str] = set()
    for index, cell in enumerate(out["cells"]):
        cell_id = cell.get("id")
        if not isinstance(cell_id, str) or cell_id in seen:
            cell["id"] = f"graded-{index}"
        seen.add(cell["id"])
    out["nbformat"], out["nbformat_minor"] = 4, max(5, int(out.get("nbformat_minor", 5)))
    out.setdefault("metadata", {}).setdefault(
        "kernelspec", {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    )
    return out


def _graded_checks(executed: Path, expected: list[str]) -> list[dict[str, Any]]:
    """Checkpoints from the learner's cells, exercises from the appended cells only, then
    every expected exercise that never reported (the notebook stopped before it)."""
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        cells = []
    checks: list[dict[str, Any]] = []
    exercises: dict[str, dict[str, Any]] = {}
    for cell in cells:
        graded = GRADING_TAG in tags_of(cell)
        for output in cell.get("outputs", []):
            item = output.get("data", {}).get(CHECK_MIME) if isinstance(output.get("data"), dict) else None
            if not isinstance(item, dict):
                continue
            result = CheckResult.from_dict(item)
            if result.kind == "exercise":
                if graded:
                    exercises[result.name] = result.to_dict()
            else:
                checks.append(result.to_dict())
    for exercise_id in expected:
        if exercise_id not in exercises:
            exercises[exercise_id] = CheckResult(
                exercise_id, False, "not checked: the notebook stopped before this check ran", kind="exercise"
            ).to_dict()
    return checks + [exercises[e] for e in expected] + [v for k, v in exercises.items() if k not in expected]


def _scratch_copy(submission: Path, scratch: Path) -> None:
    # Files next to the submission (a Dockerfile the learner edited) go with it; the
    # submission's own folder is never written to.
    for item in submission.parent.iterdir():
        small = item.is_file() and item.stat().st_size < 5_000_000
        if small and item.suffix != ".ipynb" and not item.name.startswith("."):
            shutil.copy2(item, scratch / item.name)


def _discover_submissions(paths: Sequence[str | Path]) -> list[tuple[Path, str, str | None]]:
    """(file, name in the report, learner) for every submission under ``paths``."""
    found: list[tuple[Path, str, str | None]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            for item in sorted(path.rglob("*.ipynb")):
                rel = item.relative_to(path)
                if any(part.startswith(".") for part in rel.parts) or item.name.endswith(".graded.ipynb"):
                    continue
                learner = rel.parts[0] if len(rel.parts) > 1 else None
                found.append((item, f"{path.name}/{rel.as_posix()}", learner))
        elif path.exists():
            found.append((path, path.name, path.parent.name or None))
        else:
            raise GradeError(f"{path} does not exist")
    if not found:
        raise GradeError(f"no notebooks (.ipynb) to grade under {', '.join(str(p) for p in paths)}")
    return found


ProgressCallback = Callable[[str, str, GradedNotebook | None], None]


def grade(
    paths: Sequence[str | Path],
    *,
    reference_dir: str | Path | None = None,
    output: str | Path | None = None,
    timeout_s: float | None = DEFAULT_TIMEOUT_S,
    settings: Any = None,
    on_progress: ProgressCallback | None = None,
) -> GradeResult:
    """Grade every notebook under ``paths``; writes ``<output>/results.json`` and the executed notebooks."""
    from labkit.cli.lab_cmd import find_notebooks_dir
    from labkit.config import load_settings
    from labkit.runner import kernel_env, new_run_id, prepare_backends, quiet_papermill

    if timeout_s is not None and timeout_s <= 0:
        raise GradeError(f"timeout must be > 0 seconds, got {timeout_s}")
    submissions = _discover_submissions(paths)
    try:
        ref_dir = Path(reference_dir) if reference_dir is not None else find_notebooks_dir()
    except FileNotFoundError as exc:
        raise GradeError(f"{exc}; pass --reference DIR") from None
    references = _references(ref_dir)
    settings = settings or load_settings()
    out_dir = Path(output) if output is not None else Path("grades") / new_run_id()
    if (out_dir / "results.json").exists():
        raise GradeError(f"{out_dir} already holds a grading (results.json); choose another --output")
    out_dir.mkdir(parents=True, exist_ok=True)
    result = GradeResult(out_dir, _now(), backend=settings.backend.value)
    result.messages.extend(prepare_backends(settings))
    env = kernel_env(settings)
    from labkit.needs import Needs

    needs = Needs(settings)  # probed once per grading, like `labkit run`

    with quiet_papermill(), open(out_dir / "kernels.log", "ab") as log:
        for source, name, learner in submissions:
            if on_progress:
                on_progress("start", name, None)
            entry = _grade_one(source, name, learner, references, out_dir, timeout_s, log, env, needs)
            result.notebooks.append(entry)
            _write(result)
            if on_progress:
                on_progress("done", name, entry)
    result.finished = _now()
    _write(result)
    return result


def _grade_one(
    source: Path,
    name: str,
    learner: str | None,
    references: dict[str, Path],
    out_dir: Path,
    timeout_s: float | None,
    log: Any,
    env: dict[str, str],
    needs: Any = None,
) -> GradedNotebook:
    from labkit.needs import NeedError, declared_needs
    from labkit.runner import NotebookSpec, _execute

    try:
        if source.suffix != ".ipynb":
            raise ValueError(f"{source} is not a notebook (.ipynb)")
        submission = load_notebook(source)
        reference_name = _match(source, submission, references)
        reference = load_notebook(references[reference_name])
    except ValueError as exc:
        error: dict[str, Any] | None = {"type": "InvalidSubmission", "message": str(exc), "cell_index": None}
        return GradedNotebook(name, learner, None, "error", error=error)
    try:
        missing = needs.missing(declared_needs(references[reference_name])) if needs is not None else []
    except NeedError as exc:
        missing, problem = [], str(exc)
    else:
        problem = ""
    if missing or problem:
        # Same rule as `labkit run`: a notebook this machine cannot run is skipped, not failed.
        text = problem or "; ".join(
            f"needs {m.need}: {m.detail}" + (f" (fix: {m.fix})" if m.fix else "") for m in missing
        )
        error = {"type": "Skipped", "message": text, "cell_index": None}
        return GradedNotebook(name, learner, reference_name, "skipped", error=error)
    expected = [c.exercise_id for c in exercise_checks(reference)]
    log.write(f"== {name}\n".encode())
    log.flush()
    with tempfile.TemporaryDirectory(prefix="labkit-grade-") as scratch_dir:
        scratch = Path(scratch_dir)
        _scratch_copy(source, scratch)
        graded_path = scratch / source.name
        graded_path.write_text(json.dumps(graded_notebook(submission, reference)), encoding="utf-8")
        executed = out_dir / name
        run = _execute(NotebookSpec(graded_path, name), executed, {}, timeout_s, log, env)
    error = run.error.to_dict() if run.error else None
    checks = _graded_checks(executed, expected)
    status = run.status
    if status == "failed" and _reached_end(executed):
        # Learner cells may raise (they are tagged raises-exception), which papermill reports
        # as a failed notebook; but every check ran, so the notebook was graded to the end.
        status = "ok"
    return GradedNotebook(name, learner, reference_name, status, run.duration_s, error, run.results, checks)


def _reached_end(executed: Path) -> bool:
    try:
        cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return False
    graded = [c for c in cells if GRADING_TAG in tags_of(c)]
    last = graded[-1] if graded else None
    # A cell the kernel actually ran has an execution count; after a dead kernel papermill
    # still marks the remaining cells "completed", so their status says nothing.
    return last is not None and last.get("execution_count") is not None


def _write(result: GradeResult) -> None:
    path = result.output / "results.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
