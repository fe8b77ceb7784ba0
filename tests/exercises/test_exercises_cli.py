"""`labkit exercises build`: writes the learner edition, keeps the learner's work, and refuses a
broken marker with the notebook, cell and problem named, writing nothing."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from labkit.cli import app

CELL = "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n### HINT: six times seven\n"
CHECK = 'labkit.check.exercise("the-answer", answer="answer", verify=lambda v: v == 42, hint="6 * 7")'


def _notebook(path: Path, solution: str = CELL) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cells = [
        {
            "cell_type": "code",
            "id": "s",
            "metadata": {},
            "source": solution,
            "outputs": [],
            "execution_count": 1,
        },
        {"cell_type": "code", "id": "c", "metadata": {"tags": ["exercise"]}, "source": CHECK, "outputs": []},
    ]
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": cells}))


def test_build_writes_keeps_and_forces(tmp_path: Path) -> None:
    _notebook(tmp_path / "notebooks" / "02-x" / "02-x.ipynb")
    (tmp_path / "notebooks" / "02-x" / "data.csv").write_text("a,b\n1,2\n")
    runner = CliRunner(env={"COLUMNS": "250"})
    out = tmp_path / "learner"
    args = ["exercises", "build", str(tmp_path / "notebooks"), "--output", str(out)]
    first = runner.invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "1 written, 0 kept" in first.output and "1 exercises" in first.output
    learner = out / "02-x" / "02-x.ipynb"
    assert "answer = None" in "".join(json.loads(learner.read_text())["cells"][0]["source"])
    assert (out / "02-x" / "data.csv").read_text() == "a,b\n1,2\n"  # files next to the notebook come along

    learner.write_text(learner.read_text().replace("answer = None", "answer = 7"))
    second = runner.invoke(app, args)
    assert second.exit_code == 0 and "0 written, 1 kept" in second.output and "--force" in second.output
    assert "answer = 7" in learner.read_text()
    forced = runner.invoke(app, [*args, "--force"])
    assert forced.exit_code == 0 and "answer = None" in learner.read_text()


def test_build_refuses_a_broken_marker_and_writes_nothing(tmp_path: Path) -> None:
    _notebook(tmp_path / "notebooks" / "01-a" / "01-a.ipynb")
    broken = tmp_path / "notebooks" / "02-b" / "02-b.ipynb"
    _notebook(broken, "### BEGIN SOLUTION\nanswer = 42\n")
    out = tmp_path / "learner"
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        app, ["exercises", "build", str(tmp_path / "notebooks"), "--output", str(out)]
    )
    assert result.exit_code == 2
    assert f"{broken}, cell 0 (id s), line 1: ### BEGIN SOLUTION is never closed" in result.output
    assert not out.exists()


def test_build_names_a_file_that_is_not_a_notebook(tmp_path: Path) -> None:
    bad = tmp_path / "notebooks" / "03-c" / "03-c.ipynb"
    bad.parent.mkdir(parents=True)
    bad.write_text("not json")
    result = CliRunner(env={"COLUMNS": "250"}).invoke(
        app, ["exercises", "build", str(bad), "--output", str(tmp_path / "out")]
    )
    assert result.exit_code == 2 and f"{bad} is not a notebook (invalid JSON" in result.output
