"""Notebook 12's learner edition runs to the end on a private embedded server with its exercises
open and every checkpoint passing (the solution edition runs in tests/workbook)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.exercises import build_learner_edition
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.runner import run_notebooks

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "12-incident-drills"


@pytest.mark.notebook
def test_notebook_12_learner_edition_runs_with_exercises_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    build_learner_edition([NOTEBOOK], tmp_path / "learner")
    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [tmp_path / "learner" / NOTEBOOK.name],
            output_dir=tmp_path / "run",
            timeout_s=300,
            settings=srv.settings,
            write_report=False,
        )
    (learner,) = result.notebooks
    assert learner.status == "ok", learner.error
    open_ones = [c for c in learner.checks if c.get("kind") == "exercise"]
    assert len(open_ones) == 4 and all(c["detail"].startswith("not answered yet") for c in open_ones)
    assert all(c["passed"] for c in learner.checks if c.get("kind") != "exercise")
