"""Drills against an embedded server this module starts: the solution paths find the injected
cause for several seeds, answers are checked against the hashed truth, bad input is refused."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit import drills
from labkit.lgtm.testing import running_server


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    with running_server(tmp_path_factory.mktemp("drills")) as srv:
        yield srv.settings


@pytest.mark.parametrize("name", ["costs-doubled", "responses-slow"])
def test_solution_path_identifies_the_injected_cause_for_five_seeds(settings: Any, name: str) -> None:
    drill = drills.get(name)
    causes = set()
    for seed in range(5):
        injected = drill.incident(seed)
        causes.add(injected.cause)
        run = drills.run(name, seed, settings=settings)
        solution = drills.solve(name, settings=settings)
        where = injected.agent if drill.subject == "agent" else injected.node
        assert solution.answer == {drill.subject: where, "cause": injected.cause}, (seed, solution.answer)
        assert solution.matches_truth is True
        assert run.stats is not None and run.stats.spans > 0 and run.stats.log_lines > 0
        assert {lang for _, lang, _ in solution.queries} == {"promql", "traceql", "logql"}
    assert causes == set(drill.causes)  # five consecutive seeds cover every cause


def test_two_seeds_inject_different_causes() -> None:
    for drill in drills.DRILLS.values():
        assert drill.incident(1).cause != drill.incident(2).cause


def test_answers_wrong_malformed_and_right(settings: Any) -> None:
    name = "costs-doubled"
    run = drills.run(name, 2, settings=settings)
    truth = drills.get(name).incident(2)
    state_file = Path(settings.data_dir) / "drills" / "runs" / f"{name}.json"
    text = state_file.read_text()
    # The truth is neither on the run object nor in plain text in the state file.
    assert truth.cause not in text and f'"{truth.agent}"' not in text
    shown = {k: v for k, v in vars(run).items() if k not in ("choices", "question")}
    assert truth.cause not in repr(shown)  # only the list of valid choices names causes

    with pytest.raises(drills.MalformedAnswer, match="valid agents: prompt_reviewer, code_critic"):
        drills.answer(name, settings=settings, agent="billing_bot", cause=truth.cause)
    with pytest.raises(drills.MalformedAnswer, match="retry_storm"):
        drills.answer(name, settings=settings, agent=truth.agent, cause="cosmic_rays")
    with pytest.raises(drills.MalformedAnswer, match="takes agent= and cause="):
        drills.answer(name, settings=settings, node="lint", cause=truth.cause)
    assert json.loads(state_file.read_text())["attempts"] == 0  # malformed answers never count

    other_agent = next(a for a in drills.get(name).subjects if a != truth.agent)
    wrong = drills.answer(name, settings=settings, agent=other_agent, cause=truth.cause)
    assert not wrong.correct and wrong.attempts == 1 and "another agent" in wrong.hint
    other_cause = next(c for c in drills.get(name).causes if c != truth.cause)
    wrong = drills.answer(name, settings=settings, agent=truth.agent, cause=other_cause)
    assert not wrong.correct and wrong.attempts == 2 and "the agent is right" in wrong.hint

    right = drills.answer(name, settings=settings, agent=truth.agent, cause=truth.cause)
    assert right.correct and right.attempts == 3 and right.time_to_find_s is not None
    lines = (Path(settings.data_dir) / "drills" / "results.jsonl").read_text().splitlines()
    results = [json.loads(line) for line in lines]
    mine = [r for r in results if r["run_id"] == run.run_id]
    assert [r["correct"] for r in mine] == [False, False, True]
    assert mine[-1]["attempts"] == 3 and mine[-1]["time_to_find_s"] >= 0

    verify = drills.answer_verifier(name, settings=settings)
    assert verify({"agent": "billing_bot", "cause": truth.cause})[0] is False
    assert verify({"agent": truth.agent, "cause": truth.cause})[0] is True


def test_unknown_drill_and_bad_seed_list_the_drills(settings: Any) -> None:
    with pytest.raises(drills.DrillError, match=r"costs-doubled .*responses-slow"):
        drills.run("costs-tripled", 1, settings=settings)
    with pytest.raises(drills.DrillError, match=r"seed must be an integer >= 0.*costs-doubled"):
        drills.run("costs-doubled", -1, settings=settings)
    with pytest.raises(drills.DrillError, match="the drills are"):
        drills.answer("nope", agent="rag", cause="retry_storm")


def test_answer_before_any_run_says_how_to_start(tmp_path: Path) -> None:
    from labkit.config import load_settings

    fresh = load_settings().model_copy(update={"data_dir": tmp_path})
    with pytest.raises(drills.DrillError, match="labkit drills run responses-slow --seed N"):
        drills.answer("responses-slow", settings=fresh, node="lint", cause="slow_tool")


def test_exported_names() -> None:
    assert set(drills.__all__) == {
        "COSTS_QUERIES",
        "DRILLS",
        "SLOW_QUERIES",
        "Drill",
        "DrillError",
        "DrillRun",
        "MalformedAnswer",
        "Solution",
        "Step",
        "Verdict",
        "answer",
        "answer_verifier",
        "compare",
        "current",
        "get",
        "list_drills",
        "run",
        "solve",
        "span_durations",
    }
