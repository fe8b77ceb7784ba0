"""A notebook's exercises: its solution blocks, its check cells, and its learner edition."""

from __future__ import annotations

import ast
import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit.exercises.markers import MarkerError, MarkerProblem, SolutionBlock, has_markers, parse_source
from labkit.exercises.stub import stub_for, stub_lines

__all__ = [
    "EXERCISE_TAG",
    "ExerciseCheck",
    "NotebookExercises",
    "exercise_checks",
    "learner_notebook",
    "load_notebook",
    "scan",
]

EXERCISE_TAG = "exercise"


@dataclass(frozen=True)
class ExerciseCheck:
    """A ``labkit.check.exercise(...)`` call in a cell tagged ``exercise``."""

    exercise_id: str
    answer: str | None
    cell_index: int


@dataclass(frozen=True)
class NotebookExercises:
    """What one notebook holds: solution blocks per cell index, answer names, check calls."""

    path: str
    solutions: dict[int, list[SolutionBlock]]
    answers: list[str]
    checks: list[ExerciseCheck]


def load_notebook(path: str | Path) -> dict[str, Any]:
    """The notebook JSON at ``path``; ValueError naming the file when it is not a notebook."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not a notebook (not UTF-8 text)") from None
    except OSError as exc:
        raise ValueError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a notebook (invalid JSON at line {exc.lineno}: {exc.msg})") from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a notebook (no 'cells' list)")
    if nb.get("nbformat") != 4:
        raise ValueError(f"{path} is not an nbformat 4 notebook (nbformat={nb.get('nbformat')!r})")
    for index, cell in enumerate(nb["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            raise ValueError(f"{path}: cell {index} is not a notebook cell")
    return nb


def source_of(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _split(text: str) -> list[str]:
    # nbformat stores source as lines that keep their newline, except the last one.
    lines = text.splitlines(keepends=True)
    return lines


def tags_of(cell: dict[str, Any]) -> list[str]:
    tags = cell.get("metadata", {}).get("tags", [])
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _call_ids(source: str) -> list[tuple[str, str | None]]:
    """(exercise id, answer) of every ``*.exercise("id", answer=...)`` call in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if name != "exercise" or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        answer = next(
            (
                kw.value.value
                for kw in node.keywords
                if kw.arg == "answer" and isinstance(kw.value, ast.Constant)
            ),
            None,
        )
        found.append((str(node.args[0].value), None if answer is None else str(answer)))
    return found


def exercise_checks(nb: dict[str, Any]) -> list[ExerciseCheck]:
    """The exercise check calls in the cells tagged ``exercise``, in notebook order."""
    checks: list[ExerciseCheck] = []
    for index, cell in enumerate(nb["cells"]):
        if cell.get("cell_type") == "code" and EXERCISE_TAG in tags_of(cell):
            checks.extend(ExerciseCheck(eid, answer, index) for eid, answer in _call_ids(source_of(cell)))
    return checks


def scan(nb: dict[str, Any], path: str | Path) -> NotebookExercises:
    """Parse every marker and check cell strictly; MarkerError names the file, cell and problem."""
    solutions: dict[int, list[SolutionBlock]] = {}
    answers: list[str] = []
    for index, cell in enumerate(nb["cells"]):
        source = source_of(cell)
        if cell.get("cell_type") != "code":
            continue
        cell_id = cell.get("id")
        if EXERCISE_TAG in tags_of(cell) and has_markers(source):
            raise MarkerError(
                path,
                index,
                cell_id,
                None,
                "a cell tagged 'exercise' is the check, kept for learners; put the solution in another cell",
            )
        try:
            blocks = parse_source(source)
            for block in blocks:
                answers.extend(stub_for(block.solution, block.begin + 1)[1])
        except MarkerProblem as problem:
            raise MarkerError(path, index, cell_id, problem.line, problem.problem) from None
        if blocks:
            solutions[index] = blocks
    checks = exercise_checks(nb)
    seen: dict[str, int] = {}
    for check in checks:
        if check.exercise_id in seen:
            raise MarkerError(
                path,
                check.cell_index,
                nb["cells"][check.cell_index].get("id"),
                None,
                f"exercise id {check.exercise_id!r} is already checked in cell {seen[check.exercise_id]}",
            )
        seen[check.exercise_id] = check.cell_index
    for check in checks:
        if check.answer and not check.answer.startswith("file:") and check.answer not in answers:
            raise MarkerError(
                path,
                check.cell_index,
                nb["cells"][check.cell_index].get("id"),
                None,
                f"exercise {check.exercise_id!r} checks answer {check.answer!r}, "
                "which no solution block assigns",
            )
    return NotebookExercises(str(path), solutions, answers, checks)


def learner_notebook(nb: dict[str, Any], path: str | Path, source_name: str) -> dict[str, Any]:
    """A copy of ``nb`` with every solution replaced by its stub and hint, outputs cleared."""
    found = scan(nb, path)
    out = copy.deepcopy(nb)
    for index, cell in enumerate(out["cells"]):
        if cell.get("cell_type") != "code":
            continue
        blocks = found.solutions.get(index)
        if blocks:
            lines = source_of(cell).splitlines()
            new: list[str] = []
            last = 0
            for block in blocks:
                new.extend(lines[last : block.begin])
                new.extend(stub_lines(block))
                last = block.hint_end
            new.extend(lines[last:])
            cell["source"] = _split("\n".join(new))
        cell["outputs"] = []
        cell["execution_count"] = None
    labkit_meta = out.setdefault("metadata", {}).setdefault("labkit", {})
    # Which solution notebook this edition came from: `labkit grade` finds the checks by it.
    labkit_meta["edition"] = {"kind": "learner", "source": source_name, "exercises": len(found.checks)}
    return out
