"""labkit lab builds the right JupyterLab command line (the exec is injected)."""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app, lab_cmd

SOLUTION_CELL = "### BEGIN SOLUTION\nanswer = 42\n### END SOLUTION\n### HINT: six times seven\n"


def _write_notebook(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cell = {
        "cell_type": "code",
        "id": "a",
        "metadata": {},
        "source": SOLUTION_CELL,
        "outputs": [],
        "execution_count": None,
    }
    path.write_text(json.dumps({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [cell]}))


def test_lab_execs_jupyterlab_on_the_learner_edition_with_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_notebook(tmp_path / "notebooks" / "01-docker" / "01-docker.ipynb")
    calls: list[tuple[str, list[str], dict[str, str]]] = []

    def fake_exec(path: str, argv: Sequence[str], env: Mapping[str, str]) -> None:
        calls.append((path, list(argv), dict(env)))

    monkeypatch.setattr(lab_cmd, "exec_fn", fake_exec)
    monkeypatch.chdir(tmp_path / "notebooks" / "01-docker")  # works from inside the workbook too
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    monkeypatch.setenv("LABKIT_DATA_DIR", ".labkit")
    monkeypatch.delenv("LABKIT_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["lab", "--port", "8899", "--no-browser", "--ServerApp.token=abc"])
    assert result.exit_code == 0, result.output
    [(path, argv, env)] = calls
    assert path == sys.executable
    data_dir = (tmp_path / "notebooks" / "01-docker" / ".labkit").resolve()
    assert argv == [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={data_dir / 'learner'}",
        "--ServerApp.port=8899",
        "--no-browser",
        "--ServerApp.token=abc",
    ]
    assert env["LABKIT_BACKEND"] == "embedded"  # passed through
    # a relative data dir is pinned, so every kernel (each in its own folder) shares it
    assert env["LABKIT_DATA_DIR"] == str(data_dir)
    learner = data_dir / "learner" / "01-docker" / "01-docker.ipynb"
    source = "".join(json.loads(learner.read_text())["cells"][0]["source"])
    assert "answer = None" in source and "42" not in source and "# HINT: six times seven" in source

    # The learner's edits survive the next `labkit lab`.
    learner.write_text(learner.read_text().replace("answer = None", "answer = 41"))
    assert CliRunner().invoke(app, ["lab", "--no-browser"]).exit_code == 0
    assert "answer = 41" in learner.read_text()


def test_lab_solutions_opens_the_committed_notebooks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_notebook(tmp_path / "notebooks" / "01-docker" / "01-docker.ipynb")
    calls: list[list[str]] = []
    monkeypatch.setattr(lab_cmd, "exec_fn", lambda path, argv, env: calls.append(list(argv)))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LABKIT_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["lab", "--solutions", "--no-browser"])
    assert result.exit_code == 0, result.output
    assert f"--ServerApp.root_dir={(tmp_path / 'notebooks').resolve()}" in calls[0]
    assert not (tmp_path / "state" / "learner").exists()


def test_lab_refuses_a_broken_marker_and_names_the_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    nb = tmp_path / "notebooks" / "03-lgtm" / "03-lgtm.ipynb"
    _write_notebook(nb)
    nb.write_text(nb.read_text().replace("### HINT: six times seven", ""))
    monkeypatch.setattr(lab_cmd, "exec_fn", lambda *a: pytest.fail("must not start"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("LABKIT_CONFIG", raising=False)
    result = CliRunner().invoke(app, ["lab"])
    assert result.exit_code == 2
    assert "03-lgtm.ipynb" in result.output and "no hint" in result.output


def test_lab_without_notebooks_folder_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(lab_cmd, "exec_fn", lambda *a: pytest.fail("must not start"))
    result = CliRunner().invoke(app, ["lab"])
    assert result.exit_code == 2 and "no notebooks/ folder" in result.output


def test_lab_help() -> None:
    result = CliRunner().invoke(app, ["lab", "--help"])
    assert result.exit_code == 0 and "JupyterLab" in result.output
