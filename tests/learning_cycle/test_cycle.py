"""The workflow end to end on the offline model: nodes, structured output, progress, spans, cost."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.agents import learning_cycle
from labkit.agents.learning_cycle import NODES, Assignment, AssignmentError, ProgressStore, run_cycle
from labkit.agents.learning_cycle.catalogue import DRAFTS, REFERENCE_SOLUTIONS


def test_exported_names() -> None:
    assert sorted(learning_cycle.__all__) == sorted(
        [
            "NODES",
            "WORKFLOW",
            "Assignment",
            "AssignmentError",
            "CycleConfig",
            "CycleResult",
            "ProgressEntry",
            "ProgressStore",
            "Submission",
            "assignment_tool",
            "build_graph",
            "default_paths",
            "run_cycle",
        ]
    )
    assert NODES == ("generate_assignment", "review_code", "update_progress")


def test_a_correct_submission_passes_and_is_recorded(make_graph: Any, telemetry: Any) -> None:
    graph = make_graph()
    seen: list[str] = []
    result = run_cycle(
        "ada", lambda a: REFERENCE_SOLUTIONS[a.module], graph=graph, on_node=lambda n, _u: seen.append(n)
    )
    assert seen == list(NODES)
    assert result.assignment.module == DRAFTS[0]["module"]  # a new learner gets the first draft
    assert result.passed and result.score == 10 and result.findings == 0
    assert result.input_tokens > 0 and result.output_tokens > 0
    store: ProgressStore = graph.labkit_deps.store
    [entry] = store.entries("ada")
    assert (entry.run_id, entry.passed, entry.score) == (result.run_id, True, 10)
    # The next cycle of the same learner is one level up: another exercise.
    second = run_cycle("ada", lambda a: REFERENCE_SOLUTIONS[a.module], graph=graph)
    assert second.assignment.module == DRAFTS[1]["module"]
    assert [e.run_id for e in store.entries("ada")] == [result.run_id, second.run_id]


def test_starter_code_fails_and_findings_are_kept(make_graph: Any) -> None:
    graph = make_graph()
    result = run_cycle("bo", lambda a: a.starter_code, graph=graph)
    assert not result.passed
    [entry] = graph.labkit_deps.store.entries("bo")
    assert not entry.passed
    assert graph.labkit_deps.store.level("bo") == 0


def test_spans_follow_the_genai_conventions(make_graph: Any, telemetry: Any) -> None:
    run_cycle("cy", graph=make_graph())
    spans = telemetry.finished()
    by_name: dict[str, list[Any]] = {}
    for s in spans:
        by_name.setdefault(s.name, []).append(s)
    [workflow] = by_name["invoke_workflow learning_cycle"]
    assert workflow.attributes["gen_ai.operation.name"] == "invoke_workflow"
    for node in NODES:
        [agent] = by_name[f"invoke_agent {node}"]
        assert agent.parent.span_id == workflow.context.span_id
        assert agent.attributes["gen_ai.agent.name"] == node
        assert agent.attributes["labkit.agent.node"] == node
    gen = by_name["invoke_agent generate_assignment"][0]
    assert gen.attributes["gen_ai.usage.input_tokens"] > 0
    assert gen.attributes["labkit.llm.calls"] == 2
    chats = [s for s in spans if s.name.startswith("chat ") and s.parent.span_id == gen.context.span_id]
    assert len(chats) == 2
    tools = {s.name for s in spans if s.name.startswith("execute_tool ")}
    assert {
        "execute_tool draft_exercise",
        "execute_tool submit_assignment",
        "execute_tool record_progress",
    } <= tools
    # The Code Critic runs inside review_code, in the same trace.
    review = by_name["invoke_agent review_code"][0]
    critic = by_name["invoke_workflow code_critic"][0]
    assert critic.parent.span_id == review.context.span_id
    assert {s.context.trace_id for s in spans} == {workflow.context.trace_id}


def test_tokens_and_cost_are_counted_per_node(make_graph: Any, telemetry: Any) -> None:
    run_cycle("di", graph=make_graph())
    data = telemetry.reader.get_metrics_data()
    agents: set[str] = set()
    for rm in data.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == "labkit.llm.tokens":
                    agents |= {str(p.attributes["agent"]) for p in metric.data.data_points}
    assert "generate_assignment" in agents
    assert any(a.startswith("code_critic") for a in agents)


def test_a_finished_run_is_returned_not_rerun(make_graph: Any) -> None:
    graph = make_graph()
    first = run_cycle("ed", graph=graph)
    calls = len(graph.labkit_deps.llm.records)
    seen: list[str] = []
    again = run_cycle("ed", run_id=first.run_id, graph=graph, on_node=lambda n, _u: seen.append(n))
    assert seen == [] and len(graph.labkit_deps.llm.records) == calls
    assert again.progress_id == first.progress_id and not again.resumed
    assert len(graph.labkit_deps.store.entries("ed")) == 1


def test_bad_input_is_named(make_graph: Any) -> None:
    graph = make_graph()
    with pytest.raises(ValueError, match="learner"):
        run_cycle("  ", graph=graph)
    done = run_cycle("fa", graph=graph)
    with pytest.raises(ValueError, match="belongs to learner 'fa'"):
        run_cycle("gu", run_id=done.run_id, graph=graph)
    with pytest.raises(ValueError, match="non-empty string"):
        run_cycle("ha", lambda a: "", graph=graph)


def test_assignment_check_names_the_broken_part() -> None:
    good = {k: DRAFTS[0][k] for k in ("title", "instructions", "module", "starter_code", "tests")}
    Assignment.model_validate(good).check()
    with pytest.raises(AssignmentError, match="starter_code line 1"):
        Assignment.model_validate({**good, "starter_code": "def (:\n"}).check()
    with pytest.raises(AssignmentError, match="no test_ function"):
        Assignment.model_validate({**good, "tests": "x = 1\n"}).check()


def test_a_broken_assignment_is_never_passed_on(make_graph: Any, monkeypatch: Any) -> None:
    from labkit.agents.learning_cycle import graph as graph_module

    # The offline model fills the schema from the draft, so a broken draft yields a broken
    # assignment: the check rejects it, and the fallback (the draft) is rejected too.
    monkeypatch.setattr(graph_module, "draft", lambda level: dict(DRAFTS[0], tests="def (:\n"))
    graph = make_graph()
    with pytest.raises(AssignmentError, match="tests line 1"):
        graph_module._generate(graph.labkit_deps, 0)
