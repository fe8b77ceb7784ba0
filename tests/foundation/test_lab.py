"""labkit lab builds the right JupyterLab command line (the exec is injected)."""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app, lab_cmd


def test_lab_execs_jupyterlab_on_notebooks_with_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notebooks" / "01-docker").mkdir(parents=True)
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
    assert argv == [
        sys.executable,
        "-m",
        "jupyterlab",
        f"--ServerApp.root_dir={(tmp_path / 'notebooks').resolve()}",
        "--ServerApp.port=8899",
        "--no-browser",
        "--ServerApp.token=abc",
    ]
    assert env["LABKIT_BACKEND"] == "embedded"  # passed through
    # a relative data dir is pinned, so every kernel (each in its own folder) shares it
    assert env["LABKIT_DATA_DIR"] == str((tmp_path / "notebooks" / "01-docker" / ".labkit").resolve())


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
