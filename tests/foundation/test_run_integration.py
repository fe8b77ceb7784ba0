"""``labkit run`` as a learner runs it: a subprocess over real notebooks and real kernels."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import FIXTURE_NOTEBOOKS, REPO, load_results

pytestmark = pytest.mark.notebook

RunCli = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], Path]:
    """One run over all four fixture notebooks (good, broken, slow past its timeout, failing checks)."""
    from .conftest import LABKIT, clean_env

    tmp = tmp_path_factory.mktemp("mixed")
    run_dir = tmp / "run"
    proc = subprocess.run(
        [
            *LABKIT,
            "run",
            str(FIXTURE_NOTEBOOKS),
            "--output-dir",
            str(run_dir),
            "--timeout",
            "8",
            "-p",
            "n",
            "4",
        ],
        cwd=tmp,
        env=clean_env(tmp),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return proc, run_dir


def by_path(results: dict) -> dict[str, dict]:
    return {nb["path"]: nb for nb in results["notebooks"]}


def test_results_json_schema_and_order(mixed_run: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, run_dir = mixed_run
    assert proc.returncode == 1, proc.stdout + proc.stderr
    results = load_results(run_dir)
    assert set(results) == {"run_id", "started", "finished", "backend", "learner", "strict", "notebooks"}
    assert results["strict"] is False and results["learner"]
    assert results["backend"] == "embedded" and results["finished"] >= results["started"]
    assert [nb["path"] for nb in results["notebooks"]] == [
        "01-good/good.ipynb",
        "02-broken/broken.ipynb",
        "03-slow/slow.ipynb",
        "04-checkfail/checkfail.ipynb",
    ]
    for nb in results["notebooks"]:
        assert set(nb) == {"path", "status", "duration_s", "error", "results", "checks"}
        assert nb["duration_s"] > 0


def test_good_notebook_records_results_checks_and_parameters(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    good = by_path(load_results(mixed_run[1]))["01-good/good.ipynb"]
    assert good["status"] == "ok" and good["error"] is None
    assert good["results"] == {
        "n": 4,  # -p n 4, parsed as JSON
        "label": "default",
        "squares": [{"i": 0, "sq": 0}, {"i": 1, "sq": 1}, {"i": 2, "sq": 4}, {"i": 3, "sq": 9}],
    }
    assert good["checks"] == [
        {"name": "has n rows", "passed": True, "detail": "4 rows"},
        {"name": "sum is right", "passed": True, "detail": "sum ok"},
    ]


def test_failing_notebook_reports_type_message_and_cell(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    broken = by_path(load_results(mixed_run[1]))["02-broken/broken.ipynb"]
    assert broken["status"] == "failed"
    assert broken["error"] == {"type": "ValueError", "message": "boom in cell 3", "cell_index": 3}
    assert broken["results"] == {"before_error": 1}  # what it recorded before failing is kept


def test_timeout_kills_the_kernel_and_the_run_continues(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, run_dir = mixed_run
    results = by_path(load_results(run_dir))
    slow = results["03-slow/slow.ipynb"]
    assert slow["status"] == "timeout"
    assert slow["error"]["type"] == "Timeout" and slow["error"]["cell_index"] == 1
    assert slow["results"] == {"started": True}
    assert results["04-checkfail/checkfail.ipynb"]["status"] == "ok"  # ran after the timeout
    assert "timeout" in proc.stdout


def test_failed_checks_fail_the_run_but_not_the_notebook(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    checkfail = by_path(load_results(mixed_run[1]))["04-checkfail/checkfail.ipynb"]
    assert checkfail["status"] == "ok"
    assert checkfail["results"] == {"reached_end": True}
    assert checkfail["checks"] == [
        {"name": "always fails", "passed": False, "detail": "on purpose"},
        {"name": "raises", "passed": False, "detail": "ZeroDivisionError: division by zero"},
    ]


def test_every_executed_notebook_and_the_report_are_kept(
    mixed_run: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    _, run_dir = mixed_run
    for rel in (
        "01-good/good.ipynb",
        "02-broken/broken.ipynb",
        "03-slow/slow.ipynb",
        "04-checkfail/checkfail.ipynb",
    ):
        executed = json.loads((run_dir / rel).read_text(encoding="utf-8"))
        assert "papermill" in executed["metadata"], rel
    good = json.loads((run_dir / "01-good/good.ipynb").read_text(encoding="utf-8"))
    assert any("injected-parameters" in c["metadata"].get("tags", []) for c in good["cells"])
    report = (run_dir / "report.html").read_text(encoding="utf-8")
    assert "02-broken/broken.ipynb" in report and "boom in cell 3" in report and "<svg" in report


def test_kernels_run_in_the_notebook_folder_with_a_pinned_data_dir(run_cli: RunCli, tmp_path: Path) -> None:
    folder = tmp_path / "notebooks" / "01-where"
    folder.mkdir(parents=True)
    (folder / "input.txt").write_text("next to the notebook")
    source = {
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "import os, labkit\nlabkit.record('text', open('input.txt').read())\n"
                "labkit.record('data_dir', os.environ['LABKIT_DATA_DIR'])",
                "outputs": [],
                "execution_count": None,
            }
        ],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "where.ipynb").write_text(json.dumps(source))
    proc = run_cli("run", "--output-dir", "out")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [nb] = load_results(tmp_path / "out")["notebooks"]
    assert nb["path"] == "01-where/where.ipynb"
    assert nb["results"] == {"text": "next to the notebook", "data_dir": str(tmp_path / "data")}
    assert "report:" in proc.stdout


def test_only_good_notebooks_exit_zero_under_the_default_run_dir(run_cli: RunCli, tmp_path: Path) -> None:
    shutil.copytree(FIXTURE_NOTEBOOKS / "01-good", tmp_path / "notebooks" / "01-good")
    proc = run_cli("run", "--stage", "good", "-p", "label", "from-cli")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    [run_dir] = (tmp_path / "runs").iterdir()
    results = load_results(run_dir)
    assert results["run_id"] == run_dir.name
    assert results["notebooks"][0]["results"]["label"] == "from-cli"


def test_usage_errors_exit_2(run_cli: RunCli, tmp_path: Path) -> None:
    assert run_cli("run", "missing-folder").returncode == 2
    proc = run_cli("run", str(FIXTURE_NOTEBOOKS), "--stage", "nope")
    assert proc.returncode == 2 and "no notebooks for stage 'nope'" in proc.stdout
    proc = run_cli("run", str(FIXTURE_NOTEBOOKS), "-p", "only-key")
    assert proc.returncode == 2 and "-p KEY VALUE" in proc.stdout + proc.stderr
    proc = run_cli("run", str(FIXTURE_NOTEBOOKS), "-p", "not-an-identifier", "1")
    assert proc.returncode == 2 and "not a Python identifier" in proc.stdout


def test_start_here_runs_clean_under_labkit_run(run_cli: RunCli, tmp_path: Path) -> None:
    proc = run_cli("run", str(REPO / "notebooks" / "00-start-here"), "--output-dir", "out", timeout=120)
    [nb] = load_results(tmp_path / "out")["notebooks"]
    assert nb["status"] == "ok", nb["error"]
    assert nb["path"] == "00-start-here/00-start-here.ipynb"
    assert all(c["passed"] for c in nb["checks"]), nb["checks"]
    kinds = [c.get("kind", "checkpoint") for c in nb["checks"]]
    # 00 ends with three checkpoints and holds two exercises (solutions run as committed).
    assert kinds.count("exercise") == 2 and len(kinds) == 5, nb["checks"]
    assert nb["results"]["backend"] == "embedded" and nb["results"]["doctor_ok"] is True
    assert len(nb["results"]["stages"]) == 3
    assert proc.returncode == 0, proc.stdout + proc.stderr
