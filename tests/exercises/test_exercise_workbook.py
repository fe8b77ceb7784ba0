"""The real workbook: every exercise has a stub in the learner edition, the learner edition runs
to the end with its exercises failing and showing hints, and grading a solution passes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labkit.exercises import build_learner_edition, load_notebook, scan
from labkit.lgtm.server import PORT_SETTINGS
from labkit.lgtm.testing import running_server
from labkit.runner import run_notebooks

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
WORKBOOK = [
    "00-start-here",
    "01-docker",
    "02-kubernetes",
    "03-lgtm",
    "04-instrument-an-app",
    "05-first-dashboard",
    "06-prompt-reviewer",
    "07-code-critic",
    "08-rag",
    "09-cost-and-caching",
    "10-workflow-tracing",
    "11-production",
    "12-incident-drills",
]


def _source(nb: dict[str, object]) -> str:
    return "\n".join("".join(c["source"]) for c in nb["cells"])  # type: ignore[index, union-attr]


def _outside_solutions(nb: dict[str, object]) -> str:
    kept, inside = [], False
    for line in _source(nb).splitlines():
        if line.strip() in ("### BEGIN SOLUTION", "### END SOLUTION"):
            inside = line.strip() == "### BEGIN SOLUTION"
        elif not inside:
            kept.append(line)
    return "\n".join(kept)


def test_learner_edition_of_the_workbook_stubs_every_exercise(tmp_path: Path) -> None:
    report = build_learner_edition([NOTEBOOKS], tmp_path / "learner")
    assert sorted(name.split("/")[0] for name in report.written) == WORKBOOK
    assert sum(report.exercises.values()) >= 14
    for name in report.written:
        solution = load_notebook(NOTEBOOKS / name)
        found = scan(solution, name)
        assert len(found.checks) >= 2, name
        learner = json.loads((tmp_path / "learner" / name).read_text())
        text = _source(learner)
        assert "### BEGIN SOLUTION" not in text and "### END SOLUTION" not in text, name
        outside = _outside_solutions(solution)
        for blocks in found.solutions.values():
            for block in blocks:
                # No solution line reaches the learner, unless the notebook shows it elsewhere too.
                for line in block.solution.splitlines():
                    code = line.strip()
                    if len(code) > 12 and not code.startswith(("import ", "from ", "def ", '"""')):
                        assert code not in text or code in outside, (name, code)
                assert f"# HINT: {block.hint[:40]}" in text, (name, block.hint)
        for answer in found.answers:
            assert f"{answer} = None" in text or f"def {answer}(" in text, (name, answer)
        assert learner["metadata"]["labkit"]["edition"]["source"] == name
    # A second build keeps what is there (the learner's work) unless forced.
    again = build_learner_edition([NOTEBOOKS], tmp_path / "learner")
    assert again.written == [] and sorted(again.kept) == sorted(report.written)


def test_a_broken_marker_in_one_notebook_writes_nothing(tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    for name in ("00-start-here", "03-lgtm"):
        (folder / name).mkdir(parents=True)
        (folder / name / f"{name}.ipynb").write_text((NOTEBOOKS / name / f"{name}.ipynb").read_text())
    broken = folder / "03-lgtm" / "03-lgtm.ipynb"
    broken.write_text(broken.read_text().replace("### END SOLUTION", "### END SOLUTON", 1))
    from labkit.exercises import MarkerError

    with pytest.raises(MarkerError) as info:
        build_learner_edition([folder], tmp_path / "out")
    assert str(broken) in str(info.value) and "cell" in str(info.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.notebook
def test_learner_edition_runs_to_the_end_with_exercises_failing_and_hints_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stages = ["00-start-here", "04-instrument-an-app", "09-cost-and-caching", "10-workflow-tracing"]
    build_learner_edition([NOTEBOOKS / s for s in stages], tmp_path / "learner")
    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = run_notebooks(
            [tmp_path / "learner" / s for s in stages],
            output_dir=tmp_path / "run",
            timeout_s=300,
            settings=srv.settings,
            write_report=False,
        )
    assert [run.status for run in result.notebooks] == ["ok"] * len(stages), [
        run.error for run in result.notebooks
    ]
    for run in result.notebooks:
        exercises = [c for c in run.checks if c.get("kind") == "exercise"]
        assert len(exercises) >= 2
        assert all(not c["passed"] and c["detail"].startswith("not answered yet") for c in exercises), (
            exercises
        )
        # Checkpoints of the notebook itself still pass: the stubs break nothing else.
        assert all(c["passed"] for c in run.checks if c.get("kind") != "exercise")
        executed = json.loads((tmp_path / "run" / run.path).read_text())
        shown = "".join(
            "".join(o.get("data", {}).get("text/plain", ""))
            for c in executed["cells"]
            for o in c.get("outputs", [])
        )
        assert shown.count("\n  hint: ") == len(exercises)


@pytest.mark.notebook
def test_grade_a_folder_of_real_submissions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.exercises.grade import grade

    build_learner_edition([NOTEBOOKS / "03-lgtm"], tmp_path / "learner")
    learner = (tmp_path / "learner" / "03-lgtm" / "03-lgtm.ipynb").read_text()
    subs = tmp_path / "submissions"
    for who in ("right", "wrong", "broken"):
        (subs / who).mkdir(parents=True)
    # right: the solution; wrong: Loki's port answered with Tempo's, the rest left as stubs.
    (subs / "right" / "03-lgtm.ipynb").write_text((NOTEBOOKS / "03-lgtm" / "03-lgtm.ipynb").read_text())
    wrong = learner.replace(
        "loki_port = None  # your answer here", "loki_port = urlsplit(settings.tempo_url).port"
    )
    assert wrong != learner
    (subs / "wrong" / "03-lgtm.ipynb").write_text(wrong)
    (subs / "broken" / "03-lgtm.ipynb").write_text(learner[: len(learner) // 2])
    with running_server(tmp_path / "server") as srv:
        monkeypatch.setenv("LABKIT_BACKEND", "embedded")
        monkeypatch.setenv("LABKIT_DATA_DIR", str(srv.settings.data_dir))
        for field in PORT_SETTINGS.values():
            monkeypatch.setenv(f"LABKIT_{field.upper()}", getattr(srv.settings, field))
        result = grade([subs], reference_dir=NOTEBOOKS, output=tmp_path / "graded", settings=srv.settings)
    entries = {nb.learner: nb for nb in result.notebooks}
    assert {c["name"]: c["passed"] for c in entries["right"].exercises} == {
        "loki-port": True,
        "promql-hello-by-notebook": True,
        "traceql-hello-traces": True,
    }
    wrong_results = {c["name"]: c for c in entries["wrong"].exercises}
    assert not any(c["passed"] for c in wrong_results.values())
    assert "is not the port of loki_url" in wrong_results["loki-port"]["detail"]
    assert wrong_results["traceql-hello-traces"]["detail"].startswith("not answered yet")
    assert entries["broken"].status == "error" and "not a notebook" in entries["broken"].error["message"]
    assert all(
        c["passed"] for nb in (entries["right"], entries["wrong"]) for c in nb.checks if "kind" not in c
    )


def test_no_reference_query_is_visible_in_the_learner_edition(tmp_path: Path) -> None:
    import ast

    build_learner_edition([NOTEBOOKS], tmp_path / "learner")
    for path in sorted((tmp_path / "learner").rglob("*.ipynb")):
        name = path.relative_to(tmp_path / "learner").as_posix()
        text = _source(json.loads(path.read_text()))
        for blocks in scan(load_notebook(NOTEBOOKS / name), name).solutions.values():
            for block in blocks:
                for node in ast.walk(ast.parse(block.solution)):
                    # Query strings the solution assigns (PromQL, LogQL, TraceQL) must not be given away
                    # anywhere in the learner edition, check cells included.
                    if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
                        value = node.value.value
                        if isinstance(value, str) and "{" in value:
                            assert value not in text, (name, value)
