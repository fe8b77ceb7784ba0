"""labkit grade: correct, wrong, broken, crashing and rearranged submissions, each graded right,
none stopping the others; the reference's checks are used, never the learner's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.exercises import learner_notebook
from labkit.exercises.grade import GRADING_TAG, grade, graded_notebook
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server

SOLUTION = (
    "### BEGIN SOLUTION\n"
    "def area(width: float, height: float) -> float:\n"
    '    """Area of a rectangle."""\n'
    "    return width * height\n"
    "answer = 6 * 7\n"
    "### END SOLUTION\n"
    "### HINT: multiply; the answer is the product of 6 and 7.\n"
)
CHECK_ANSWER = (
    'labkit.check.exercise("answer-is-42", answer="answer", '
    'verify=lambda v: (v == 42, f"got {v}"), hint="six times seven")\n'
)
CHECK_AREA = (
    'labkit.check.exercise("area-function", answer="area", '
    'verify=lambda f: (f(2, 3) == 6 and f(0.5, 4) == 2, "area(2, 3) and area(0.5, 4)"), '
    'hint="width * height")\n'
)


def _cell(source: str, cell_id: str, tags: list[str] | None = None, kind: str = "code") -> dict[str, Any]:
    cell: dict[str, Any] = {
        "cell_type": kind,
        "id": cell_id,
        "metadata": {"tags": tags or []},
        "source": source,
    }
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _notebook(cells: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "cells": cells,
    }


REFERENCE = _notebook(
    [
        _cell("# Math", "m", kind="markdown"),
        _cell("import labkit", "setup"),
        _cell(SOLUTION, "solution"),
        _cell(CHECK_ANSWER, "check-answer", ["exercise"]),
        _cell(CHECK_AREA, "check-area", ["exercise"]),
        _cell('labkit.check.that("the notebook reached its end", True)', "end"),
    ]
)


def _learner(replace: dict[str, str] | None = None) -> dict[str, Any]:
    nb = learner_notebook(REFERENCE, "ref.ipynb", "01-math/01-math.ipynb")
    for cell in nb["cells"]:
        text = "".join(cell["source"])
        for old, new in (replace or {}).items():
            text = text.replace(old, new)
        cell["source"] = text
    return nb


def _write(path: Path, nb: dict[str, Any] | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb))


CORRECT = {
    "answer = None  # your answer here": "answer = 42",
    "    raise NotImplementedError('exercise: write area')": "    return width * height",
}


@pytest.fixture
def server_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        yield srv.settings


@pytest.fixture
def reference_dir(tmp_path: Path) -> Path:
    _write(tmp_path / "ref" / "01-math" / "01-math.ipynb", REFERENCE)
    return tmp_path / "ref"


def test_graded_notebook_drops_learner_checks_and_appends_the_reference() -> None:
    learner = _learner(CORRECT)
    # A learner who moved the check before the solution and faked a passing one.
    learner["cells"].insert(0, _cell('print("PASS answer-is-42")', "fake", ["exercise"]))
    graded = graded_notebook(learner, REFERENCE)
    sources = ["".join(c["source"]) for c in graded["cells"]]
    assert 'print("PASS answer-is-42")' not in sources
    appended = [c for c in graded["cells"] if GRADING_TAG in c["metadata"]["tags"]]
    assert ["".join(c["source"]) for c in appended] == [CHECK_ANSWER, CHECK_AREA]
    assert len({c["id"] for c in graded["cells"]}) == len(graded["cells"])


@pytest.mark.notebook
def test_grade_reports_correct_wrong_broken_and_rearranged_submissions(
    tmp_path: Path, server_env: Any, reference_dir: Path
) -> None:
    subs = tmp_path / "submissions"
    _write(subs / "alice" / "01-math.ipynb", _learner(CORRECT))
    _write(
        subs / "bob" / "01-math.ipynb",
        _learner({**CORRECT, "answer = None  # your answer here": "answer = 41"}),
    )
    _write(subs / "carol" / "01-math.ipynb", '{"cells": [')  # truncated upload
    _write(subs / "dave" / "01-math.ipynb", "just some text, not a notebook")
    # erin deleted the check cells, moved the solution to the end, duplicated it, and added
    # a cell that fakes a passing exercise result; she still gets the reference's checks.
    erin = _learner(CORRECT)
    solution = erin["cells"][2]
    fake = (
        "from IPython.display import display\n"
        "display({'application/x.labkit.check+json': {'name': 'answer-is-42', 'passed': True,"
        " 'kind': 'exercise'}}, raw=True)\n"
        "answer = 0\n"
    )
    erin["cells"] = [
        erin["cells"][1],
        _cell(fake, "fake"),
        erin["cells"][5],
        solution,
        dict(solution, id="dup"),
    ]
    _write(subs / "erin" / "01-math.ipynb", erin)
    # frank's notebook crashes its kernel before the checks run.
    frank = _learner(CORRECT)
    frank["cells"].insert(3, _cell("import os\nos._exit(1)", "crash"))
    _write(subs / "frank" / "01-math.ipynb", frank)
    # gina's first cell raises: the rest still runs and is graded.
    _write(subs / "gina" / "01-math.ipynb", _learner({**CORRECT, "# Math": "# Math"}))
    gina = json.loads((subs / "gina" / "01-math.ipynb").read_text())
    gina["cells"].insert(2, _cell("1 / 0", "oops"))
    _write(subs / "gina" / "01-math.ipynb", gina)

    result = grade([subs], reference_dir=reference_dir, output=tmp_path / "graded", timeout_s=120)
    by_learner = {nb.learner: nb for nb in result.notebooks}
    assert sorted(by_learner) == ["alice", "bob", "carol", "dave", "erin", "frank", "gina"]

    def outcome(learner: str) -> dict[str, bool]:
        return {c["name"]: c["passed"] for c in by_learner[learner].exercises}

    assert outcome("alice") == {"answer-is-42": True, "area-function": True}
    assert by_learner["alice"].error is None
    assert by_learner["alice"].checks[0] == {
        "name": "the notebook reached its end",
        "passed": True,
        "detail": "",
    }
    assert by_learner["alice"].status == "ok" and by_learner["alice"].reference == "01-math/01-math.ipynb"
    assert outcome("bob") == {"answer-is-42": False, "area-function": True}
    bob_fail = next(c for c in by_learner["bob"].exercises if not c["passed"])
    assert bob_fail["detail"] == "got 41" and bob_fail["hint"] == "six times seven"
    for broken, words in (("carol", "not a notebook (invalid JSON"), ("dave", "not a notebook")):
        entry = by_learner[broken]
        assert entry.status == "error" and entry.error is not None
        assert f"{broken}/01-math.ipynb" in entry.error["message"] and words in entry.error["message"]
    assert outcome("erin") == {"answer-is-42": True, "area-function": True}
    assert outcome("gina") == {"answer-is-42": True, "area-function": True}
    assert by_learner["gina"].error and by_learner["gina"].error["type"] == "ZeroDivisionError"
    assert by_learner["gina"].status == "ok"  # graded to the end despite the broken cell
    frank_entry = by_learner["frank"]
    assert frank_entry.status == "failed" and frank_entry.error is not None
    assert frank_entry.error["type"] == "DeadKernelError"
    assert outcome("frank") == {"answer-is-42": False, "area-function": False}
    assert all("not checked" in c["detail"] for c in frank_entry.exercises)

    saved = json.loads((tmp_path / "graded" / "results.json").read_text())
    assert [nb["learner"] for nb in saved["notebooks"]] == [nb.learner for nb in result.notebooks]
    alice = next(nb for nb in saved["notebooks"] if nb["learner"] == "alice")
    assert (alice["exercises_passed"], alice["exercises_total"]) == (2, 2)
    assert (tmp_path / "graded" / "submissions" / "alice" / "01-math.ipynb").is_file()
    assert not list(subs.rglob("*.graded.ipynb"))  # the submission folders are left alone


@pytest.mark.notebook
def test_grade_cli_exits_0_with_a_table_and_2_for_bad_input(
    tmp_path: Path, server_env: Any, reference_dir: Path
) -> None:
    _write(tmp_path / "subs" / "bob" / "01-math.ipynb", _learner())
    _write(tmp_path / "subs" / "zoe" / "01-math.ipynb", "{")
    runner = CliRunner(env={"COLUMNS": "250"})  # rich wraps long paths at the terminal width
    result = runner.invoke(
        app,
        [
            "grade",
            str(tmp_path / "subs"),
            "--reference",
            str(reference_dir),
            "--output",
            str(tmp_path / "out"),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "answer-is-42" in result.output and "not answered yet" in result.output
    assert "zoe" in result.output and "error" in result.output
    missing = runner.invoke(app, ["grade", str(tmp_path / "nothing-here"), "--reference", str(reference_dir)])
    assert missing.exit_code == 2 and "does not exist" in missing.output
    empty = tmp_path / "empty"
    empty.mkdir()
    nothing = runner.invoke(app, ["grade", str(empty), "--reference", str(reference_dir)])
    assert nothing.exit_code == 2 and "no notebooks" in nothing.output


def test_unmatched_submission_names_the_references(tmp_path: Path, reference_dir: Path) -> None:
    from labkit.exercises.grade import _match, _references

    with pytest.raises(
        ValueError, match=r"no reference notebook matches it; name it like one of 01-math\.ipynb"
    ):
        _match(tmp_path / "homework.ipynb", _notebook([]), _references(reference_dir))
    renamed = tmp_path / "01-math-alice.ipynb"
    assert _match(renamed, _notebook([]), _references(reference_dir)) == "01-math/01-math.ipynb"


@pytest.mark.notebook
def test_a_notebook_whose_needs_are_missing_is_skipped_with_the_fix(
    tmp_path: Path, server_env: Any, reference_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.needs import Availability, Needs

    ref = reference_dir / "01-math" / "01-math.ipynb"
    ref.write_text(
        json.dumps({**REFERENCE, "metadata": {**REFERENCE["metadata"], "labkit": {"requires": ["docker"]}}})
    )
    monkeypatch.setattr(
        Needs,
        "missing",
        lambda self, needs: [Availability(n, False, "no engine", "start Docker") for n in needs],
    )
    _write(tmp_path / "subs" / "ann" / "01-math.ipynb", _learner(CORRECT))
    result = grade([tmp_path / "subs"], reference_dir=reference_dir, output=tmp_path / "out")
    [entry] = result.notebooks
    assert entry.status == "skipped" and entry.exercises == []
    assert entry.error == {
        "type": "Skipped",
        "message": "needs docker: no engine (fix: start Docker)",
        "cell_index": None,
    }
