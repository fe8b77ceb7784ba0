"""The Prompt Reviewer as a LangGraph graph.

    START -> guardrails --blocked--> result -> END
                 |
                 +--allowed--> review -> validate --invalid, attempts left--> review
                                            |
                                            +--valid or out of attempts--> result -> END

* ``guardrails`` runs the shared :func:`labkit.guardrails.check_input` (normalisation,
  structure, multilingual intent patterns, secrets, PII), which logs each blocking finding
  on this agent's logger (Loki) and counts it (Mimir); the result keeps the legacy view.
* ``review`` asks the model for a forced ``submit_prompt_review`` tool call whose
  schema is :class:`PromptReview`'s; on a retry the previous tool call and a
  ``tool_result`` with ``is_error`` explaining the validation errors are sent back,
  which is how the Messages API expects a model to be corrected.
* ``validate`` parses the tool input with pydantic (an ``execute_tool`` span) and
  checks each issue's quote against the prompt: a quote that is not in the prompt is
  dropped with a warning (a paraphrase is not worth a retry; a schema break is).
* ``result`` assembles :class:`ReviewResult`.

Every node runs inside a span (``prompt_reviewer.<node>``) under one
``invoke_agent prompt_reviewer`` span, and every LLM call is tracked (budget,
tokens, cost per node).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

import anthropic
from langgraph.graph import END, START, StateGraph
from pydantic import BaseModel, ValidationError

from labkit import guardrails as shared_guardrails
from labkit.agents.prompt_reviewer.guardrails import GuardrailConfig, Verdict, from_shared, to_policy
from labkit.agents.prompt_reviewer.schema import TOOL_NAME, PromptReview, review_tool
from labkit.llm.offline import OFFLINE_MODEL
from labkit.llm.telemetry import LLMTelemetry, default_telemetry
from labkit.llm.tracked import TrackedClient

__all__ = ["AGENT_NAME", "ReviewResult", "ReviewerConfig", "build_graph", "review"]

AGENT_NAME = "prompt_reviewer"
# Guardrail decisions are logged on this logger by labkit.guardrails (WARNING when blocked),
# so they reach Loki beside the trace.
_log = logging.getLogger("labkit.agents.prompt_reviewer")
_log.addHandler(logging.NullHandler())  # a library: no stderr noise unless the app configures logging
Status = Literal["reviewed", "blocked", "failed"]

SYSTEM_PROMPT = """You review prompts that people intend to send to a language model.
Score the prompt from 0 to 10 on each rubric dimension:
- clarity: one plainly stated task, readable sentences, no vague words
- specificity: concrete details (numbers, names, scope) instead of vague words
- context: role, audience, purpose and background
- output_format: the expected format of the answer
- examples: an example of a good answer
- constraints: limits on length and scope, and what to avoid
List the issues you find; each issue quotes the prompt verbatim. Suggest a rewrite.
Answer only by calling the submit_prompt_review tool."""


class ReviewerConfig(BaseModel):
    model: str | None = None  # None: labkit.llm.default_model()
    max_tokens: int = 2048
    max_attempts: int = 3  # review attempts in total (1 + retries on schema failure)
    # Forced tool use is the structured-output mechanism. Newer models answer 400 to it;
    # the review node then falls back to {"type": "auto"} (and validation retries if no
    # tool call comes back).
    tool_choice: dict[str, Any] = {"type": "tool", "name": TOOL_NAME}


class ReviewResult(BaseModel):
    """What one review returns; ``status`` says which path the graph took."""

    status: Status
    prompt_chars: int
    review: PromptReview | None = None
    overall: float | None = None
    guardrail: dict[str, Any]
    attempts: int = 0
    model: str | None = None
    offline: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float | None = 0.0
    live_equivalent_usd: float | None = None
    errors: list[str] = []
    warnings: list[str] = []


class _State(TypedDict, total=False):
    prompt: str
    verdict: Verdict
    attempts: int
    history: list[dict[str, Any]]
    tool_input: Any
    tool_call_id: str | None
    review: PromptReview | None
    errors: list[str]
    warnings: list[str]
    model: str | None
    result: ReviewResult


@dataclass
class _Deps:
    llm: TrackedClient
    telemetry: LLMTelemetry
    config: ReviewerConfig
    guardrails: GuardrailConfig
    guardrail_telemetry: shared_guardrails.GuardrailTelemetry
    records_start: int = 0
    stats: dict[str, Any] = field(default_factory=dict)


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def build_graph(
    llm: TrackedClient | None = None,
    *,
    config: ReviewerConfig | None = None,
    guardrails: GuardrailConfig | None = None,
    telemetry: LLMTelemetry | None = None,
) -> Any:
    """The compiled graph; ``graph.invoke({"prompt": ...})["result"]`` is a ReviewResult."""
    telemetry = telemetry or (llm.telemetry if llm is not None else default_telemetry())
    deps = _Deps(
        llm=llm or TrackedClient(agent=AGENT_NAME, telemetry=telemetry),
        telemetry=telemetry,
        config=config or ReviewerConfig(),
        guardrails=guardrails or GuardrailConfig(),
        guardrail_telemetry=shared_guardrails.GuardrailTelemetry(telemetry.meter_provider),
    )
    policy = to_policy(deps.guardrails)
    if deps.llm.agent is None:
        deps.llm.agent = AGENT_NAME

    def guardrails_node(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "guardrails") as span:
            # The shared layer logs each blocking finding (masked excerpt, never the prompt) and
            # adds a guardrail.blocked event to this span; the graph keeps the legacy view.
            shared = shared_guardrails.check_input(
                state.get("prompt"),
                agent=AGENT_NAME,
                kind="prompt",
                policy=policy,
                telemetry=deps.guardrail_telemetry,
            )
            verdict = from_shared(shared)
            span.set_attribute("labkit.guardrail.allowed", verdict.allowed)
            span.set_attribute("labkit.guardrail.checks", sorted({f.check for f in verdict.findings}))
            span.set_attribute("labkit.guardrail.categories", shared.categories)
            return {"verdict": verdict, "attempts": 0, "history": [], "errors": [], "warnings": []}

    def review_node(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "review") as span:
            attempt = state.get("attempts", 0) + 1
            span.set_attribute("labkit.attempt", attempt)
            from labkit.llm.client import default_model

            model = deps.config.model or default_model(deps.llm.settings)
            first = {
                "role": "user",
                "content": (
                    "Review the prompt inside the prompt tags.\n<prompt>\n" + state["prompt"] + "\n</prompt>"
                ),
            }
            messages = [first, *state.get("history", [])]
            request = {
                "model": model,
                "max_tokens": deps.config.max_tokens,
                "system": SYSTEM_PROMPT,
                "tools": [review_tool()],
                "messages": messages,
                "tool_choice": deps.stats.get("tool_choice", deps.config.tool_choice),
            }
            try:
                message = deps.llm.messages.create(**request)
            except anthropic.BadRequestError as exc:
                # Newer models refuse forced tool use: fall back to "auto" once and remember it.
                if "tool_choice" not in str(exc) or request["tool_choice"].get("type") == "auto":
                    raise
                deps.stats["tool_choice"] = {"type": "auto"}
                span.add_event("tool_choice.fallback", {"reason": str(exc)[:200]})
                message = deps.llm.messages.create(**{**request, "tool_choice": {"type": "auto"}})
            call = next(
                (b for b in message.content if getattr(b, "type", "") == "tool_use" and b.name == TOOL_NAME),
                None,
            )
            return {
                "attempts": attempt,
                "model": message.model,
                "tool_input": call.input if call is not None else None,
                "tool_call_id": call.id if call is not None else None,
                "history": [
                    *state.get("history", []),
                    {
                        "role": "assistant",
                        "content": [b.model_dump(exclude_none=True) for b in message.content],
                    },
                ],
            }

    def validate_node(state: _State) -> _State:
        with (
            telemetry.node(AGENT_NAME, "validate") as span,
            telemetry.tool(TOOL_NAME, call_id=state.get("tool_call_id")) as tool_span,
        ):
            errors: list[str] = []
            review: PromptReview | None = None
            warnings = list(state.get("warnings", []))
            if state.get("tool_input") is None:
                errors.append(f"the model did not call {TOOL_NAME}")
            else:
                try:
                    review = PromptReview.model_validate(state["tool_input"])
                except ValidationError as exc:
                    errors = [
                        f"{'.'.join(str(p) for p in e['loc']) or '(root)'}: {e['msg']}" for e in exc.errors()
                    ]
            if review is not None:
                prompt = _normalise(state["prompt"])
                kept = [i for i in review.issues if _normalise(i.quote) in prompt]
                for issue in review.issues:
                    if issue not in kept:
                        warnings.append(
                            f"dropped an issue whose quote is not in the prompt: {issue.quote[:60]!r}"
                        )
                review = review.model_copy(update={"issues": kept})
            span.set_attribute("labkit.validation.ok", not errors)
            tool_span.set_attribute("labkit.validation.errors", len(errors))
            history = list(state.get("history", []))
            if errors and state.get("tool_call_id"):
                history.append(
                    {
                        "role": "user",
                        "content": [
                            {
                                "type": "tool_result",
                                "tool_use_id": state["tool_call_id"],
                                "is_error": True,
                                "content": "The review does not match the schema: " + "; ".join(errors[:10]),
                            }
                        ],
                    }
                )
            elif errors:
                history = history[:-1]  # no tool call to answer: retry the original request
            return {"review": review, "errors": errors, "warnings": warnings, "history": history}

    def result_node(state: _State) -> _State:
        with telemetry.node(AGENT_NAME, "result") as span:
            verdict: Verdict = state["verdict"]
            records = deps.llm.records[deps.records_start :]
            usd_values = [r.cost.usd for r in records if r.cost is not None]
            equivalent = [r.cost.live_equivalent_usd for r in records if r.cost is not None]
            review = state.get("review")
            status: Status = (
                "blocked" if not verdict.allowed else "reviewed" if review is not None else "failed"
            )
            result = ReviewResult(
                status=status,
                prompt_chars=len(state.get("prompt") or ""),
                review=review,
                overall=review.scores.overall if review is not None else None,
                guardrail=verdict.as_dict(),
                attempts=state.get("attempts", 0),
                model=state.get("model"),
                offline=state.get("model") == OFFLINE_MODEL,
                input_tokens=sum(r.usage.total_input for r in records),
                output_tokens=sum(r.usage.output_tokens for r in records),
                cost_usd=_sum_or_none(usd_values),
                live_equivalent_usd=_sum_or_none(equivalent) if equivalent else None,
                errors=list(state.get("errors", [])) if review is None else [],
                warnings=list(state.get("warnings", [])),
            )
            span.set_attribute("labkit.review.status", status)
            if result.overall is not None:
                span.set_attribute("labkit.review.overall", result.overall)
            return {"result": result}

    def after_guardrails(state: _State) -> str:
        return "review" if state["verdict"].allowed else "result"

    def after_validate(state: _State) -> str:
        if state.get("review") is not None or state.get("attempts", 0) >= deps.config.max_attempts:
            return "result"
        return "review"

    graph = StateGraph(_State)
    graph.add_node("guardrails", guardrails_node)
    graph.add_node("review", review_node)
    graph.add_node("validate", validate_node)
    graph.add_node("result", result_node)
    graph.add_edge(START, "guardrails")
    graph.add_conditional_edges("guardrails", after_guardrails, {"review": "review", "result": "result"})
    graph.add_edge("review", "validate")
    graph.add_conditional_edges("validate", after_validate, {"review": "review", "result": "result"})
    graph.add_edge("result", END)
    compiled = graph.compile()
    # review() needs the client and telemetry; LangGraph's compiled graph takes attributes.
    setattr(compiled, "labkit_deps", deps)  # noqa: B010
    return compiled


def _sum_or_none(values: list[float | None]) -> float | None:
    """The total, or None when any call had no price (an unknown total is not a smaller one)."""
    known = [v for v in values if v is not None]
    return None if len(known) != len(values) else round(sum(known), 10)


def review(prompt: str, graph: Any | None = None) -> ReviewResult:
    """Review one prompt under an ``invoke_agent prompt_reviewer`` span."""
    graph = graph or build_graph()
    deps: _Deps = graph.labkit_deps
    deps.records_start = len(deps.llm.records)
    model = deps.config.model
    with deps.telemetry.agent(
        AGENT_NAME, model=model, description="reviews prompts against a rubric"
    ) as span:
        state = graph.invoke({"prompt": prompt})
        result: ReviewResult = state["result"]
        span.set_attribute("labkit.review.status", result.status)
        return result
