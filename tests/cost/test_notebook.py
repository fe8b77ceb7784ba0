"""Notebook 09's structure: parameters, stripped outputs, its exercises and their learner stubs."""

from __future__ import annotations

import json
from pathlib import Path

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


# The notebook's run (every checkpoint and exercise) is in tests/workbook.
