"""Notebook 12 runs top to bottom on a private embedded server: the solution edition passes every
checkpoint and exercise, and the learner edition still runs to the end with its exercises open."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.exercises import build_learner_edition
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.report import notebook_figures
from labkit.runner import run_notebooks

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "12-incident-drills"


@pytest.mark.notebook
def test_notebook_12_solution_and_learner_editions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    build_learner_edition([NOTEBOOK], tmp_path / "learner")
    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [NOTEBOOK, tmp_path / "learner" / NOTEBOOK.name],
            output_dir=tmp_path / "run",
            timeout_s=300,
            settings=srv.settings,
            write_report=False,
        )
    solution, learner = result.notebooks
    assert solution.status == "ok" and learner.status == "ok", (solution.error, learner.error)
    assert all(c["passed"] for c in solution.checks), [c for c in solution.checks if not c["passed"]]
    exercises = [c for c in solution.checks if c.get("kind") == "exercise"]
    assert len(exercises) == 4
    open_ones = [c for c in learner.checks if c.get("kind") == "exercise"]
    assert len(open_ones) == 4 and all(c["detail"].startswith("not answered yet") for c in open_ones)
    assert all(c["passed"] for c in learner.checks if c.get("kind") != "exercise")
    executed = tmp_path / "run" / solution.path
    figures = notebook_figures(executed)
    assert len(figures) >= 2 and all(png.startswith(b"\x89PNG") for _, png in figures)
    assert "drill_costs_doubled" in json.dumps(solution.results)
