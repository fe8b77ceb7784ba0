"""Notebook 11 runs top to bottom on the cluster, every checkpoint passing, and never shows the key."""

from __future__ import annotations

import secrets
from pathlib import Path

import pytest

from labkit.k8s.kubectl import Target
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.runner import run_notebooks

pytestmark = [pytest.mark.kubernetes, pytest.mark.notebook, pytest.mark.docker]
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "11-production"


def test_production_notebook_passes_and_never_shows_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, k8s_target: Target, agent_image: str
) -> None:
    # A sentinel "host key": the Secret is made from it, and no output may contain it.
    key = "sk-ant-test-" + secrets.token_hex(16)
    with running_server(tmp_path) as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [NOTEBOOK], output_dir=tmp_path / "run", timeout_s=600, settings=srv.settings, write_report=False
        )
    (run,) = result.notebooks
    assert run.ok, (run.error, [c for c in run.checks if not c["passed"]])
    assert len(run.checks) >= 18 and all(c["passed"] for c in run.checks), run.checks
    names = {c["name"] for c in run.checks}
    assert "zero failed requests during the rolling update" in names
    exercises = {c["name"] for c in run.checks if c.get("kind") == "exercise"}
    assert exercises == {"find-pod-of-trace", "fix-hanging-rollout"}
    written = [p for p in (tmp_path / "run").rglob("*") if p.is_file()]
    assert written, "the run wrote no executed notebook"
    for path in written:
        assert key not in path.read_text(encoding="utf-8", errors="replace"), f"the key is in {path}"
