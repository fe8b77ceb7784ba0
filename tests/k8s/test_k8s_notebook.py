"""Notebook 02 runs top to bottom under `labkit run` against the cluster, every checkpoint passing."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.k8s.kubectl import Target
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.runner import run_notebooks

pytestmark = [pytest.mark.kubernetes, pytest.mark.notebook, pytest.mark.docker]
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "02-kubernetes"


def test_kubernetes_notebook_passes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, k8s_target: Target, demo_image: str
) -> None:
    with running_server(tmp_path) as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [NOTEBOOK], output_dir=tmp_path / "run", timeout_s=600, settings=srv.settings, write_report=False
        )
    (run,) = result.notebooks
    assert run.ok, (run.error, [c for c in run.checks if not c["passed"]])
    assert len(run.checks) >= 12 and all(c["passed"] for c in run.checks), run.checks
    exercises = {c["name"] for c in run.checks if c.get("kind") == "exercise"}
    assert exercises == {"fix-broken-deployment", "write-greeter-service"}
