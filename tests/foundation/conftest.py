"""Fixtures for the foundation tests: the fixture notebooks and a clean environment for subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from labkit.lgtm.testing import isolated_environ

HERE = Path(__file__).parent
FIXTURE_NOTEBOOKS = HERE / "notebooks"
REPO = HERE.parent.parent
LABKIT = [str(Path(sys.executable).parent / "labkit")]


def clean_env(tmp_path: Path) -> dict[str, str]:
    """The caller's environment without LABKIT_* (a developer's settings must not leak into tests)."""
    # Private data dir and free ports: a background server started by `labkit run` never
    # meets a developer's server, and tests/conftest.py stops it when the test ends.
    env = isolated_environ(tmp_path / "data")
    env["COLUMNS"] = "200"
    return env


@pytest.fixture
def run_cli(tmp_path: Path) -> Callable[..., subprocess.CompletedProcess[str]]:
    def run(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*LABKIT, *args],
            cwd=cwd or tmp_path,
            env=clean_env(tmp_path),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    return run


def load_results(run_dir: Path) -> dict:
    return json.loads((run_dir / "results.json").read_text(encoding="utf-8"))


@pytest.fixture(autouse=True)
def _wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    # rich wraps at the terminal width; keep CLI messages on one line for assertions.
    monkeypatch.setenv("COLUMNS", "300")
