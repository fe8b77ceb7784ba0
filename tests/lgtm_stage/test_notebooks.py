"""Notebooks 03-05 run top to bottom on the embedded backend with every checkpoint passing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.report import notebook_figures
from labkit.runner import run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
STAGE = ["03-lgtm", "04-instrument-an-app", "05-first-dashboard"]


def bare_figure_outputs(executed: Path) -> list[str]:
    """Outputs that show a matplotlib figure only as its text repr (no image beside it)."""
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    bare = []
    for cell in cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(data.get("text/plain", []))
            if text.startswith("<Figure size") and "image/png" not in data:
                bare.append(text)
    return bare


@pytest.mark.notebook
def test_lgtm_stage_notebooks_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with running_server(tmp_path) as srv:
        # The kernels inherit these, so every notebook talks to this server and not to a
        # developer's `labkit stack up` on the default ports.
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        monkeypatch.setenv("LABKIT_GRAFANA_URL", srv.settings.otlp_http_endpoint.rsplit(":", 1)[0] + ":9")
        result = run_notebooks(
            [NOTEBOOKS / name for name in STAGE],
            output_dir=tmp_path / "run",
            timeout_s=120,
            settings=srv.settings,
            strict=True,
        )
    failures = {
        run.path: (run.error, [c for c in run.checks if not c["passed"]])
        for run in result.notebooks
        if not run.ok
    }
    assert not failures, failures
    assert [run.path.split("/")[0] for run in result.notebooks] == STAGE
    recorded = {run.path.split("/")[0]: run.results for run in result.notebooks}
    assert recorded["04-instrument-an-app"]["slow_endpoint"] == "/slow"
    assert 0 < recorded["04-instrument-an-app"]["error_rate"] < 1
    assert recorded["05-first-dashboard"]["dashboard_panels"] == 4

    # Charts render: real PNG images in the executed notebooks, never a bare "<Figure ...>" text.
    for run in result.notebooks[1:]:
        executed = tmp_path / "run" / run.path
        figures = notebook_figures(executed)
        assert len(figures) >= (1 if run.path.startswith("05") else 2), (run.path, len(figures))
        assert all(png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 5000 for _, png in figures)
        assert not bare_figure_outputs(executed), run.path
    # The run report embeds them.
    report = (tmp_path / "run" / "report.html").read_text(encoding="utf-8")
    assert report.count("data:image/png;base64,") >= 3  # 04: 2, 05: the dashboard
    # The solution edition passes every exercise (failures above include them), at least two each.
    exercises = {
        run.path.split("/")[0]: [c["name"] for c in run.checks if c.get("kind") == "exercise"]
        for run in result.notebooks
    }
    assert all(len(names) >= 2 for names in exercises.values()), exercises
    assert "logql-warning-lines" in exercises["04-instrument-an-app"]
