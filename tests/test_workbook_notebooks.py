"""The notebooks outside the LGTM stage run top to bottom under `labkit run` with every
checkpoint passing (03-05 are covered in tests/lgtm_stage/test_notebooks.py)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from labkit.config import load_settings
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.needs import Availability, Needs
from labkit.report import notebook_figures
from labkit.runner import RunResult, run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def bare_figure_outputs(executed: Path) -> list[str]:
    """Outputs that show a matplotlib figure only as its text repr (no image beside it)."""
    bare = []
    for cell in json.loads(executed.read_text(encoding="utf-8"))["cells"]:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            text = "".join(data.get("text/plain", []))
            if text.startswith("<Figure size") and "image/png" not in data:
                bare.append(text)
    return bare


def runs_path(result: RunResult, folder: str) -> str:
    (path,) = [run.path for run in result.notebooks if run.path.startswith(folder + "/")]
    return path


def _run_on_private_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, names: list[str], **kwargs: Any
) -> RunResult:
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
            **kwargs,
        )


def _failures(result: RunResult) -> dict[str, object]:
    return {
        run.path: (run.error, [c for c in run.checks if not c["passed"]])
        for run in result.notebooks
        if not run.ok
    }


@pytest.mark.notebook
def test_start_here_and_prompt_reviewer_pass(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_on_private_server(
        tmp_path, monkeypatch, ["00-start-here", "06-prompt-reviewer"], strict=True
    )
    assert not _failures(result), _failures(result)
    assert result.exit_code == 0
    executed = tmp_path / "run" / runs_path(result, "06-prompt-reviewer")
    figures = notebook_figures(executed)
    assert len(figures) >= 2 and all(png.startswith(b"\x89PNG") for _, png in figures)
    assert not bare_figure_outputs(executed)
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
    """Strict where an engine answers; where none does, 01 must be skipped with the fix.

    CI (the CI variable set, as .ci/run does) always has an engine: there a missing engine
    fails this test instead of passing as a skip.
    """
    from labkit.containers import MANAGED_LABEL
    from labkit.containers.engine import engine_status

    ok, detail, _fix = engine_status()
    if not ok:
        assert not os.environ.get("CI"), f"CI must provide a Docker engine: {detail}"
        result = _run_on_private_server(tmp_path, monkeypatch, ["01-docker"])
        (run,) = result.notebooks
        assert run.status == "skipped" and run.reason and run.reason.startswith("needs docker")
        assert run.fix and "Docker" in run.fix
        assert result.exit_code == 0 and not (tmp_path / "run" / run.path).exists()
        return
    import docker

    result = _run_on_private_server(tmp_path, monkeypatch, ["01-docker"], strict=True)
    assert not _failures(result), _failures(result)
    (run,) = result.notebooks
    assert run.status == "ok" and result.exit_code == 0
    assert len(run.checks) >= 10 and all(check["passed"] for check in run.checks)
    exercises = [c["name"] for c in run.checks if c.get("kind") == "exercise"]
    assert exercises == ["dockerfile-hadolint-clean", "dockerfile-fix-healthcheck"]
    client = docker.from_env()
    try:
        left = client.containers.list(all=True, filters={"label": f"{MANAGED_LABEL}=true"})
    finally:
        client.close()
    assert not left, [c.name for c in left]


@pytest.mark.notebook
def test_docker_notebook_without_an_engine_is_skipped_not_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The machine may have an engine: a probe that finds none is what a laptop without Docker sees.
    gone = Availability("docker", False, "no Docker engine answers", "start a Docker engine, then re-run")
    needs = Needs(load_settings(environ={}, cwd=tmp_path), {"docker": lambda _s: gone})
    result = _run_on_private_server(tmp_path, monkeypatch, ["01-docker"], needs=needs)
    runs = {run.path.split("/")[0]: run for run in result.notebooks}
    assert runs["01-docker"].status == "skipped" and runs["01-docker"].checks == []
    assert runs["01-docker"].fix == "start a Docker engine, then re-run"
    assert result.exit_code == 0
    assert not (tmp_path / "run" / runs["01-docker"].path).exists()  # not executed at all
    result.strict = True  # what `labkit run --strict` (CI) decides on the same outcome
    assert result.exit_code == 1


@pytest.mark.notebook
def test_workflow_tracing_passes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    result = _run_on_private_server(tmp_path, monkeypatch, ["10-workflow-tracing"], strict=True)
    assert not _failures(result), _failures(result)
    (run,) = result.notebooks
    assert run.status == "ok" and len(run.checks) >= 6 and all(c["passed"] for c in run.checks)
    exercises = [c["name"] for c in run.checks if c.get("kind") == "exercise"]
    assert exercises == ["promql-p95-by-server", "traceql-slowest-node"]
    executed = tmp_path / "run" / runs_path(result, "10-workflow-tracing")
    figures = notebook_figures(executed)
    assert figures and all(png.startswith(b"\x89PNG") for _, png in figures)  # the service graph
    assert not bare_figure_outputs(executed)
