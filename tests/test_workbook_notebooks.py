"""The notebooks outside the LGTM stage run top to bottom under `labkit run` with every
checkpoint passing (03-05 are covered in tests/lgtm_stage/test_notebooks.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.runner import RunResult, run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _run_on_private_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str]) -> RunResult:
    with running_server(tmp_path) as srv:
        # Kernels inherit these: every notebook talks to this server, not to a developer's.
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        return run_notebooks(
            [NOTEBOOKS / name for name in names],
            output_dir=tmp_path / "run",
            timeout_s=300,
            settings=srv.settings,
            write_report=False,
        )


def _failures(result: RunResult) -> dict[str, object]:
    return {
        run.path: (run.error, [c for c in run.checks if not c["passed"]])
        for run in result.notebooks
        if not run.ok
    }


@pytest.mark.notebook
def test_start_here_and_prompt_reviewer_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_on_private_server(tmp_path, monkeypatch, ["00-start-here", "06-prompt-reviewer"])
    assert not _failures(result), _failures(result)
    runs = {run.path.split("/")[0]: run for run in result.notebooks}
    assert set(runs) == {"00-start-here", "06-prompt-reviewer"}
    assert len(runs["06-prompt-reviewer"].checks) >= 5
    assert all(check["passed"] for run in result.notebooks for check in run.checks)
    # The solution edition passes every exercise, and each notebook has at least two.
    exercises = {name: [c for c in run.checks if c.get("kind") == "exercise"] for name, run in runs.items()}
    assert all(len(found) >= 2 and all(c["passed"] for c in found) for found in exercises.values()), exercises


@pytest.mark.notebook
@pytest.mark.docker
def test_docker_notebook_passes_and_leaves_nothing_labelled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.containers import MANAGED_LABEL
    from labkit.containers.engine import engine_status

    ok, detail, _fix = engine_status()
    if not ok:
        pytest.skip(f"no Docker engine: {detail}")
    import docker

    result = _run_on_private_server(tmp_path, monkeypatch, ["01-docker"])
    assert not _failures(result), _failures(result)
    (run,) = result.notebooks
    assert len(run.checks) >= 10 and all(check["passed"] for check in run.checks)
    exercises = [c["name"] for c in run.checks if c.get("kind") == "exercise"]
    assert exercises == ["dockerfile-hadolint-clean", "dockerfile-fix-healthcheck"]
    client = docker.from_env()
    try:
        left = client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"})
    finally:
        client.close()
    assert not left, [c.name for c in left]
