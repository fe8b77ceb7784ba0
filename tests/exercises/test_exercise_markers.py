"""Solution markers: blocks, hints, stubs, and a clear error for every malformed cell."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.exercises import MarkerError, learner_notebook, parse_source, scan, stub_for
from labkit.exercises.markers import MarkerProblem
from labkit.exercises.stub import stub_lines

SOLUTION = '''x = 1
### BEGIN SOLUTION
error_lines_query = '{service_name="demo-app"} | detected_level="error"'
def detects(prompt: str, *, limit: int = 2) -> bool:
    """True when the prompt is an attack."""
    return "ignore" in prompt
### END SOLUTION
### HINT: start from the stream selector
### HINT: and add a filter on the level.
print(x)'''


def test_a_block_has_its_solution_and_joined_hint() -> None:
    [block] = parse_source(SOLUTION)
    assert (block.begin, block.end, block.hint_end) == (1, 6, 9)
    assert block.solution.startswith("error_lines_query = ")
    assert block.hint == "start from the stream selector and add a filter on the level."


def test_stub_sets_names_to_none_and_keeps_signatures() -> None:
    [block] = parse_source(SOLUTION)
    lines = stub_lines(block)
    text = "\n".join(lines)
    assert lines[0] == "# HINT: start from the stream selector and add a filter on the level."
    assert "error_lines_query = None" in text
    assert "def detects(prompt: str, *, limit: int=2) -> bool:" in text
    assert "True when the prompt is an attack." in text
    assert "NotImplementedError('exercise: write detects')" in text
    assert "demo-app" not in text and '"ignore" in prompt' not in text
    namespace: dict[str, object] = {}
    exec(compile(text, "stub", "exec"), namespace)  # the stub is valid Python
    assert namespace["error_lines_query"] is None
    with pytest.raises(NotImplementedError):
        namespace["detects"]("x")  # type: ignore[operator]


def test_stub_keeps_imports_and_collects_nested_assignments() -> None:
    lines, names = stub_for("import re\nfor i in range(2):\n    total, (a, b) = i, (1, 2)\nboard['x'] = 1\n")
    assert lines[0] == "import re"
    assert names == ["i", "total", "a", "b"]


def test_indented_block_keeps_its_indentation() -> None:
    source = (
        "def f():\n    ### BEGIN SOLUTION\n    answer = 2\n    ### END SOLUTION\n"
        "    ### HINT: two\n    return answer\n"
    )
    [block] = parse_source(source)
    assert stub_lines(block) == ["    # HINT: two", "    answer = None  # your answer here"]


@pytest.mark.parametrize(
    ("source", "line", "problem"),
    [
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n", 4, "no hint"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\nprint(x)\n### HINT: late", 4, "no hint"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\nx = 1\n", 2, "nested or unclosed"),
        ("### BEGIN SOLUTION\nx = 1\n", 1, "never closed"),
        ("x = 1\n### END SOLUTION\n### HINT: h", 2, "without a ### BEGIN SOLUTION"),
        ("### HINT: orphan", 1, "must follow ### END SOLUTION"),
        ("## BEGIN SOLUTION\nx = 1", 1, "looks like a marker"),
        ("### begin solution\nx = 1", 1, "looks like a marker"),
        ("### BEGIN SOLUTION\n# only a comment\n### END SOLUTION\n### HINT: h", 1, "holds no code"),
        ("### BEGIN SOLUTION\nx = 1\n### END SOLUTION\n### HINT:   ", 4, "empty"),
        ("    ### BEGIN SOLUTION\n  x = 1\n    ### END SOLUTION\n    ### HINT: h", 2, "indented less"),
    ],
)
def test_malformed_markers_are_refused_with_the_line(source: str, line: int, problem: str) -> None:
    with pytest.raises(MarkerProblem) as info:
        parse_source(source)
    assert info.value.line == line
    assert problem in info.value.problem


def _nb(*cells: dict[str, object]) -> dict[str, object]:
    return {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": list(cells)}


def _code(source: str, cell_id: str, tags: list[str] | None = None) -> dict[str, object]:
    return {
        "cell_type": "code",
        "id": cell_id,
        "metadata": {"tags": tags or []},
        "source": source,
        "outputs": [{"output_type": "stream", "name": "stdout", "text": "old"}],
        "execution_count": 3,
    }


CHECK = 'labkit.check.exercise("my-query", answer="error_lines_query", verify=v, hint="h")'


def test_notebook_errors_name_file_cell_index_id_and_line() -> None:
    nb = _nb(_code("x = 1", "a"), _code("### BEGIN SOLUTION\ny = 2\n### END SOLUTION\n", "cell-b"))
    with pytest.raises(MarkerError) as info:
        scan(nb, "notebooks/04-x/04-x.ipynb")
    message = str(info.value)
    assert message.startswith("notebooks/04-x/04-x.ipynb, cell 1 (id cell-b), line 4: ")
    assert "no hint" in message
    assert (info.value.cell_index, info.value.cell_id, info.value.line) == (1, "cell-b", 4)


def test_duplicate_exercise_ids_and_unknown_answers_are_refused() -> None:
    solution = _code(SOLUTION, "s")
    with pytest.raises(MarkerError, match="already checked in cell 1"):
        scan(_nb(solution, _code(CHECK, "c1", ["exercise"]), _code(CHECK, "c2", ["exercise"])), "nb.ipynb")
    other = CHECK.replace("error_lines_query", "nobody_sets_this")
    with pytest.raises(MarkerError, match="which no solution block assigns"):
        scan(_nb(solution, _code(other, "c1", ["exercise"])), "nb.ipynb")
    with pytest.raises(MarkerError, match="tagged 'exercise'"):
        scan(_nb(_code(SOLUTION, "c1", ["exercise"])), "nb.ipynb")


def test_learner_notebook_stubs_solutions_and_clears_outputs() -> None:
    nb = _nb(_code(SOLUTION, "s"), _code(CHECK, "c", ["exercise"]))
    before = json.dumps(nb)
    learner = learner_notebook(nb, "nb.ipynb", "04-x/nb.ipynb")
    assert json.dumps(nb) == before  # the solution edition is not touched
    text = "".join(learner["cells"][0]["source"])
    assert "detected_level" not in text and "error_lines_query = None" in text
    assert text.startswith("x = 1\n# HINT: ") and text.endswith("print(x)")
    assert learner["cells"][1]["source"] == CHECK  # the check stays for the learner
    assert all(c["outputs"] == [] and c["execution_count"] is None for c in learner["cells"])
    assert learner["metadata"]["labkit"]["edition"] == {
        "kind": "learner",
        "source": "04-x/nb.ipynb",
        "exercises": 1,
    }


def test_scan_finds_check_calls(tmp_path: Path) -> None:
    found = scan(_nb(_code(SOLUTION, "s"), _code(CHECK, "c", ["exercise"])), tmp_path / "nb.ipynb")
    assert [(c.exercise_id, c.answer, c.cell_index) for c in found.checks] == [
        ("my-query", "error_lines_query", 1)
    ]
    assert found.answers == ["error_lines_query", "detects"]
