"""The learning-cycle workflow as a LangGraph graph with a SQLite checkpointer.

    START -> generate_assignment -> review_code -> update_progress -> END

* ``generate_assignment``: the model writes a small Python exercise. It is offered a
  ``draft_exercise`` tool (a draft from :mod:`.catalogue` at the learner's level) and then
  forced to call ``submit_assignment`` whose input schema is :class:`.Assignment`: the
  structured output. An assignment whose code or tests do not parse is replaced by the
  draft (noted), never passed on.
* ``review_code``: the Code Critic (:mod:`labkit.agents.code_critic`) on the learner's
  submission with the assignment's tests, in-process or, when ``CycleConfig.critic_url``
  is set, over HTTP with the W3C trace context (a CLIENT span, the service-graph edge).
* ``update_progress``: one row in the :class:`.ProgressStore` (keyed by run id, so a
  repeat writes nothing new), plus the review's findings.

Checkpoints: LangGraph saves the state after every node in ``checkpoints.sqlite`` under
the data dir, thread id = run id. :func:`run_cycle` with the id of an interrupted run
resumes after its last finished node; a finished run is returned as it is.

Spans (GenAI conventions v1.41): ``invoke_workflow learning_cycle`` > ``invoke_agent
<node>`` (one per node, ``labkit.agent.node`` = node) > ``chat <model>`` /
``execute_tool <tool>``; usage and cost are totalled onto each agent span and counted in
``labkit_llm_tokens_total`` / ``labkit_llm_cost_usd_total`` with ``agent=<node>``.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import urlsplit

import httpx
from opentelemetry import propagate
from opentelemetry.trace import SpanKind, StatusCode
from opentelemetry.trace import Status as SpanStatus
from pydantic import BaseModel, ValidationError

from labkit.agents.learning_cycle.catalogue import REFERENCE_SOLUTIONS, draft
from labkit.agents.learning_cycle.progress import ProgressStore
from labkit.agents.learning_cycle.schema import (
    TOOL_NAME,
    Assignment,
    AssignmentError,
    CycleResult,
    assignment_tool,
)
from labkit.llm.telemetry import NODE_ATTR, LLMTelemetry, default_telemetry
from labkit.llm.tracked import TrackedClient

__all__ = [
    "NODES",
    "WORKFLOW",
    "CycleConfig",
    "Submission",
    "build_graph",
    "default_paths",
    "run_cycle",
]

WORKFLOW = "learning_cycle"
NODES = ("generate_assignment", "review_code", "update_progress")
PASS_SCORE = 7
Submission = str | Callable[[Assignment], str] | None

SYSTEM_PROMPT = """You write small Python exercises for a learner. Call draft_exercise to get a draft
at the learner's level, then call submit_assignment with the final exercise: a short title, clear
instructions, the module name the tests import, starter code that parses, and pytest tests that
import the module and define test_ functions."""

DRAFT_TOOL = {
    "name": "draft_exercise",
    "description": "A draft exercise at the learner's level "
    "(title, instructions, module, starter code, tests).",
    "input_schema": {
        "type": "object",
        "properties": {
            "level": {"type": "integer", "minimum": 0, "description": "assignments passed so far"}
        },
        "additionalProperties": False,
    },
}


class CycleConfig(BaseModel):
    model: str | None = None  # None: labkit.llm.default_model()
    max_tokens: int = 4096
    critic_url: str | None = None  # a Code Critic supervisor service; None: the critic in-process
    test_timeout_s: float = 30.0
    http_timeout_s: float = 180.0


class _State(TypedDict, total=False):
    run_id: str
    learner: str
    level: int
    submission: str | None
    assignment: dict[str, Any]
    review: dict[str, Any]
    progress_id: int
    notes: list[str]


@dataclass
class _Deps:
    llm: TrackedClient
    telemetry: LLMTelemetry
    config: CycleConfig
    store: ProgressStore
    critic_graph: Any = None
    # Per-run submitters (callables cannot live in checkpointed state); run id -> callable.
    submitters: dict[str, Callable[[Assignment], str]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def model(self) -> str:
        from labkit.llm.client import default_model

        return self.config.model or default_model(self.llm.settings)


def default_paths(settings: Any = None) -> tuple[Path, Path]:
    """(progress store, checkpoint database) under the data dir's ``learning_cycle/``."""
    from labkit.config import load_settings

    settings = settings or load_settings()
    return (
        settings.state_path("learning_cycle", "progress.sqlite"),
        settings.state_path("learning_cycle", "checkpoints.sqlite"),
    )


def _sqlite_saver(path: Path) -> Any:
    from langgraph.checkpoint.sqlite import SqliteSaver

    # One connection shared by LangGraph's threads; SqliteSaver serialises access with its own lock.
    conn = sqlite3.connect(path, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    return SqliteSaver(conn)


def build_graph(
    llm: TrackedClient | None = None,
    *,
    config: CycleConfig | None = None,
    telemetry: LLMTelemetry | None = None,
    store: ProgressStore | str | Path | None = None,
    checkpointer: Any = None,
    checkpoints: str | Path | None = None,
) -> Any:
    """The compiled graph; run it with :func:`run_cycle`.

    ``store`` and ``checkpoints`` default to the data dir (:func:`default_paths`);
    ``checkpointer`` may be any LangGraph saver (e.g. ``InMemorySaver()``) instead.
    """
    from langgraph.graph import END, START, StateGraph

    telemetry = telemetry or (llm.telemetry if llm is not None else default_telemetry())
    llm = llm or TrackedClient(agent=WORKFLOW, telemetry=telemetry)
    if store is None or (checkpoints is None and checkpointer is None):
        store_path, checkpoint_path = default_paths(llm.settings)
        store = store if store is not None else store_path
        checkpoints = checkpoints if checkpoints is not None else checkpoint_path
    deps = _Deps(
        llm=llm,
        telemetry=telemetry,
        config=config or CycleConfig(),
        store=store if isinstance(store, ProgressStore) else ProgressStore(store),
    )

    def generate_assignment(state: _State) -> _State:
        with _agent_span(deps, "generate_assignment", "writes a small Python exercise") as span:
            level = deps.store.level(state["learner"])
            assignment, notes = _generate(deps, level)
            span.set_attribute("labkit.assignment.module", assignment.module)
            return {"level": level, "assignment": assignment.model_dump(), "notes": notes}

    def review_code(state: _State) -> _State:
        with _agent_span(deps, "review_code", "the Code Critic on the learner's submission") as span:
            assignment = Assignment.model_validate(state["assignment"])
            submission, note = _submission(deps, state, assignment)
            review = _review(deps, assignment, submission)
            span.set_attribute("labkit.critic.score", int(review["score"]))
            span.set_attribute("labkit.critic.findings", len(review["findings"]))
            notes = [*state.get("notes", []), *([note] if note else [])]
            return {"submission": submission, "review": review, "notes": notes}

    def update_progress(state: _State) -> _State:
        with _agent_span(deps, "update_progress", "records progress and review history") as span:
            review, assignment = state["review"], state["assignment"]
            with telemetry.tool("record_progress"):
                progress_id = deps.store.record(
                    state["run_id"],
                    state["learner"],
                    title=assignment["title"],
                    module=assignment["module"],
                    score=int(review["score"]),
                    passed=bool(review["passed"]),
                    findings=review["findings"],
                )
            span.set_attribute("labkit.progress.id", progress_id)
            return {"progress_id": progress_id}

    graph = StateGraph(_State)
    for name, node in zip(NODES, (generate_assignment, review_code, update_progress), strict=True):
        graph.add_node(name, node)
    graph.add_edge(START, NODES[0])
    graph.add_edge(NODES[0], NODES[1])
    graph.add_edge(NODES[1], NODES[2])
    graph.add_edge(NODES[2], END)
    saver = checkpointer if checkpointer is not None else _sqlite_saver(Path(checkpoints))  # type: ignore[arg-type]
    compiled = graph.compile(checkpointer=saver)
    setattr(compiled, "labkit_deps", deps)  # noqa: B010 - run_cycle needs them
    return compiled


class _agent_span:
    """``invoke_agent <node>`` with ``labkit.agent.node`` and the run id as conversation id."""

    def __init__(self, deps: _Deps, node: str, description: str) -> None:
        self.cm = deps.telemetry.agent(
            node, model=deps.model() if node != "update_progress" else None, description=description
        )
        self.node = node

    def __enter__(self) -> Any:
        span = self.cm.__enter__()
        span.set_attribute(NODE_ATTR, self.node)
        span.set_attribute("labkit.workflow.name", WORKFLOW)
        return span

    def __exit__(self, *exc: Any) -> Any:
        return self.cm.__exit__(*exc)


def _generate(deps: _Deps, level: int) -> tuple[Assignment, list[str]]:
    """Offer the draft tool, then force ``submit_assignment``; validate what comes back."""
    telemetry, model = deps.telemetry, deps.model()
    tools = [DRAFT_TOOL, assignment_tool()]
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": f"Write the next exercise for a learner who passed {level} so far."}
    ]
    base = {"model": model, "max_tokens": deps.config.max_tokens, "system": SYSTEM_PROMPT, "tools": tools}
    message = deps.llm.messages.create(
        **base, messages=messages, tool_choice={"type": "tool", "name": "draft_exercise"}
    )
    call = next((b for b in message.content if getattr(b, "type", "") == "tool_use"), None)
    messages.append(
        {"role": "assistant", "content": [b.model_dump(exclude_none=True) for b in message.content]}
    )
    with telemetry.tool("draft_exercise", call_id=call.id if call else None):
        proposal = draft(level)
    messages.append(
        {
            "role": "user",
            "content": [
                {
                    "type": "tool_result",
                    "tool_use_id": call.id if call else "none",
                    "content": json.dumps(proposal),
                }
            ],
        }
    )
    message = deps.llm.messages.create(
        **base, messages=messages, tool_choice={"type": "tool", "name": TOOL_NAME}
    )
    submitted = next(
        (b for b in message.content if getattr(b, "type", "") == "tool_use" and b.name == TOOL_NAME), None
    )
    with telemetry.tool(TOOL_NAME, call_id=submitted.id if submitted else None) as span:
        try:
            if submitted is None:
                raise AssignmentError(f"the model did not call {TOOL_NAME}")
            assignment = Assignment.model_validate(submitted.input)
            assignment.check()
        except (ValidationError, AssignmentError) as exc:
            span.set_attribute("labkit.validation.ok", False)
            first = str(exc).splitlines()[0]
            fallback = Assignment.model_validate(proposal)
            fallback.check()  # a broken draft is a catalogue bug: raise rather than pass it on
            return fallback, [f"generate_assignment: {first}; the draft is used"]
        span.set_attribute("labkit.validation.ok", True)
    return assignment, []


def _submission(deps: _Deps, state: _State, assignment: Assignment) -> tuple[str, str | None]:
    if state.get("submission"):
        return str(state["submission"]), None
    with deps.lock:
        submit = deps.submitters.get(state["run_id"])
    if submit is not None:
        text = submit(assignment)
        if not isinstance(text, str) or not text.strip():
            raise ValueError("the submission callable must return the module's source as a non-empty string")
        return text, None
    stand_in = REFERENCE_SOLUTIONS.get(assignment.module)
    if stand_in is not None:
        return stand_in, "review_code: no submission given; the reference solution stands in"
    return assignment.starter_code, "review_code: no submission given; the starter code is reviewed"


def _review(deps: _Deps, assignment: Assignment, submission: str) -> dict[str, Any]:
    """The Code Critic's review as plain data (checkpointable): score, passed, findings, tests."""
    files: list[dict[str, object]] = [{"path": f"{assignment.module}.py", "text": submission}]
    tests: list[dict[str, object]] = [{"path": f"test_{assignment.module}.py", "text": assignment.tests}]
    if deps.config.critic_url:
        result = _remote_review(deps, files, tests)
    else:
        from labkit.agents.code_critic.graph import CriticConfig, review_intake
        from labkit.agents.code_critic.graph import build_graph as build_critic
        from labkit.agents.code_critic.intake import from_wire

        with deps.lock:
            if deps.critic_graph is None:
                critic_config = CriticConfig(
                    model=deps.config.model, test_timeout_s=deps.config.test_timeout_s
                )
                critic_llm = TrackedClient(
                    deps.llm.client, agent="code_critic", telemetry=deps.telemetry, settings=deps.llm.settings
                )
                deps.critic_graph = build_critic(critic_llm, config=critic_config, telemetry=deps.telemetry)
        result = review_intake(from_wire(files, tests), deps.critic_graph).model_dump(mode="json")
    review = result["review"]
    failing = [n for n in result.get("notes", []) if n.startswith("tests:") and "failing" in n]
    tests_fail = any(not n.endswith(" 0 failing") for n in failing)
    score = int(review["score"])
    return {
        "score": score,
        "passed": score >= PASS_SCORE and not tests_fail and result.get("status") == "reviewed",
        "summary": review.get("summary", ""),
        "findings": review.get("findings", []),
        "notes": result.get("notes", []),
        "input_tokens": int(result.get("input_tokens", 0)),
        "output_tokens": int(result.get("output_tokens", 0)),
        "cost_usd": float(result.get("cost_usd") or 0.0),
    }


def _remote_review(
    deps: _Deps, files: list[dict[str, object]], tests: list[dict[str, object]]
) -> dict[str, Any]:
    """POST to the Code Critic supervisor under a CLIENT span (its SERVER span is the edge's other half)."""
    target = str(deps.config.critic_url).rstrip("/") + "/review"
    parts = urlsplit(target)
    attributes: dict[str, str | int] = {
        "http.request.method": "POST",
        "url.full": target,
        "server.address": parts.hostname or "",
        "server.port": parts.port or 80,
    }
    with deps.telemetry.tracer.start_as_current_span(
        "POST /review", kind=SpanKind.CLIENT, attributes=attributes
    ) as span:
        headers: dict[str, str] = {}
        propagate.inject(headers)
        body = {"files": files, "tests": tests, "test_timeout_s": deps.config.test_timeout_s}
        response = httpx.post(target, json=body, headers=headers, timeout=deps.config.http_timeout_s)
        span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code != 200:
            span.set_status(SpanStatus(StatusCode.ERROR, f"HTTP {response.status_code}"))
            raise ValueError(
                f"the Code Critic at {deps.config.critic_url} answered {response.status_code}: "
                f"{response.text[:300]}"
            )
        return dict(response.json())


def run_cycle(
    learner: str = "learner",
    submission: Submission = None,
    *,
    run_id: str | None = None,
    graph: Any | None = None,
    on_node: Callable[[str, dict[str, Any]], None] | None = None,
) -> CycleResult:
    """Run one learning cycle under an ``invoke_workflow learning_cycle`` span.

    ``submission`` is the learner's module source, or a callable given the generated
    :class:`Assignment` that returns it; ``None`` lets a stand-in submit (the reference
    solution where the catalogue has one). ``run_id`` names the checkpoint thread: the id
    of an interrupted run resumes it after its last finished node, a finished one is
    returned without running again. ``on_node(name, update)`` is called after each node.
    """
    if not isinstance(learner, str) or not learner.strip():
        raise ValueError("learner must be a non-empty string (a name or an id)")
    graph = graph or build_graph()
    deps: _Deps = graph.labkit_deps
    run_id = run_id or uuid.uuid4().hex[:16]
    config = {"configurable": {"thread_id": run_id}}
    snapshot = graph.get_state(config)
    started = bool(snapshot.values)
    if started and snapshot.values.get("learner") != learner:
        raise ValueError(
            f"run {run_id!r} belongs to learner {snapshot.values.get('learner')!r}, not {learner!r}"
        )
    resumed = started and bool(snapshot.next)
    if callable(submission):
        with deps.lock:
            deps.submitters[run_id] = submission
    records_start = len(deps.llm.records)
    try:
        with deps.telemetry.workflow(WORKFLOW) as span:
            span.set_attribute("gen_ai.conversation.id", run_id)
            span.set_attribute("labkit.workflow.resumed", resumed)
            trace_id = format(span.get_span_context().trace_id, "032x")
            if not started or snapshot.next:
                initial: _State | None = (
                    None
                    if started
                    else {
                        "run_id": run_id,
                        "learner": learner,
                        "notes": [],
                        "submission": submission if isinstance(submission, str) else None,
                    }
                )
                for chunk in graph.stream(initial, config, stream_mode="updates"):
                    for name, update in chunk.items():
                        if on_node is not None:
                            on_node(name, update or {})
            state = graph.get_state(config).values
            span.set_attribute("labkit.progress.id", int(state.get("progress_id", -1)))
    finally:
        with deps.lock:
            deps.submitters.pop(run_id, None)
    review = state["review"]
    records = deps.llm.records[records_start:]
    return CycleResult(
        run_id=run_id,
        learner=learner,
        assignment=Assignment.model_validate(state["assignment"]),
        score=int(review["score"]),
        passed=bool(review["passed"]),
        findings=len(review["findings"]),
        review_summary=str(review.get("summary", "")),
        progress_id=int(state["progress_id"]),
        resumed=resumed,
        input_tokens=sum(r.usage.total_input for r in records) + int(review.get("input_tokens", 0)),
        output_tokens=sum(r.usage.output_tokens for r in records) + int(review.get("output_tokens", 0)),
        cost_usd=round(
            sum(r.cost.usd or 0.0 for r in records if r.cost) + float(review.get("cost_usd", 0.0)), 10
        ),
        trace_id=trace_id,
        notes=list(state.get("notes", [])),
    )
