"""Notebook 09: its structure now; its run under `labkit run` once labkit.cache provides the cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.exercises import build_learner_edition, load_notebook, scan

NOTEBOOK = (
    Path(__file__).resolve().parents[2] / "notebooks" / "09-cost-and-caching" / "09-cost-and-caching.ipynb"
)
NAME = "09-cost-and-caching/09-cost-and-caching.ipynb"


def _nb() -> dict:
    return json.loads(NOTEBOOK.read_text("utf-8"))


def test_parameters_kernel_and_stripped_outputs() -> None:
    nb = _nb()
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code[0]["metadata"].get("tags") == ["parameters"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["labkit"]["requires"] == []
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in code)


def test_two_exercises_and_a_promql_checkpoint() -> None:
    found = scan(load_notebook(NOTEBOOK), NAME)
    assert [c.exercise_id for c in found.checks] == ["cache-threshold", "cache-false-hit"]
    assert {"chosen_threshold", "false_hit_fix"} <= set(found.answers)
    source = "\n".join("".join(c["source"]) for c in _nb()["cells"])
    assert "mimir.value(result.queries[phase]" in source and "computed by PromQL in Mimir" in source


def test_the_learner_edition_stubs_both_answers(tmp_path: Path) -> None:
    build_learner_edition([NOTEBOOK.parent], tmp_path / "learner")
    text = (tmp_path / "learner" / NAME).read_text("utf-8")
    assert "chosen_threshold = None" in text and "false_hit_fix = None" in text
    assert "### BEGIN SOLUTION" not in text


def _cache_is_merged() -> bool:
    import labkit.cache

    return all(hasattr(labkit.cache, n) for n in ("SHIPPED_WORKLOAD", "load_workload", "sweep", "replay"))


@pytest.mark.notebook
@pytest.mark.skipif(not _cache_is_merged(), reason="labkit.cache does not provide the semantic cache yet")
def test_the_notebook_passes_every_checkpoint_and_exercise(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labkit.lgtm.server import PORT_SETTINGS
    from labkit.lgtm.testing import running_server
    from labkit.runner import run_notebooks

    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [NOTEBOOK.parent],
            output_dir=tmp_path / "run",
            timeout_s=300,
            settings=srv.settings,
            write_report=False,
            strict=True,
        )
    (run,) = result.notebooks
    assert run.status == "ok", run.error
    failed = [c for c in run.checks if not c["passed"]]
    assert not failed, failed
    assert len([c for c in run.checks if c.get("kind") == "exercise"]) == 2
    assert len(run.checks) >= 7
