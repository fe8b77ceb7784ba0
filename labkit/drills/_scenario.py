"""The multi-agent system whose traffic a drill replays: agents, nodes, tools, models, prompts.

Four services, each its own OpenTelemetry resource (``service.name`` = the agent), as if
each ran in its own container:

* ``prompt_reviewer``: ``check_input`` -> ``review_prompt``
* ``code_critic``: ``lint`` -> ``critique``
* ``rag``: ``retrieve`` -> ``answer``
* ``learning_cycle`` (a workflow): ``generate_assignment`` -> ``review_code`` -> ``update_progress``

Every node runs one tool (``execute_tool``) and one LLM call (``chat``). Each node pins its
own model id, as teams do when they tune a step separately; so "one slow model" slows one
node, and the model label tells the nodes apart in Mimir. This definition is the drills'
own and independent of :mod:`labkit.agents`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["AGENTS", "NODES", "PRICIER_MODEL", "WORKFLOWS", "Node", "system_prompt", "user_message"]


@dataclass(frozen=True)
class Node:
    agent: str
    name: str
    tool: str
    model: str
    tool_ms: float  # how long the tool takes on a normal day
    resource: str  # the shared thing the node writes to (what contention would be about)


AGENTS: dict[str, tuple[Node, ...]] = {
    "prompt_reviewer": (
        Node("prompt_reviewer", "check_input", "check_guardrails", "claude-haiku-4-5", 4, "guardrail_cache"),
        Node("prompt_reviewer", "review_prompt", "score_rubric", "claude-sonnet-4-5", 6, "review_store"),
    ),
    "code_critic": (
        Node("code_critic", "lint", "run_linter", "claude-3-5-haiku", 8, "lint_cache"),
        Node("code_critic", "critique", "read_file", "claude-sonnet-4-0", 3, "critique_store"),
    ),
    "rag": (
        Node("rag", "retrieve", "vector_search", "claude-3-haiku", 9, "qdrant_collection"),
        Node("rag", "answer", "check_groundedness", "claude-3-7-sonnet", 5, "answer_log"),
    ),
    "learning_cycle": (
        Node("learning_cycle", "generate_assignment", "load_progress", "claude-sonnet-4-6", 4, "progress_db"),
        Node("learning_cycle", "review_code", "run_tests", "claude-haiku-5-5", 10, "review_history"),
        Node("learning_cycle", "update_progress", "save_progress", "claude-sonnet-5", 5, "progress_db"),
    ),
}
WORKFLOWS = frozenset({"learning_cycle"})  # traced as invoke_workflow, its steps as nodes
NODES: dict[str, Node] = {n.name: n for nodes in AGENTS.values() for n in nodes}
PRICIER_MODEL = "claude-opus-4-1"  # what "switch to a pricier model" switches an agent to

_ROLES = {
    "prompt_reviewer": "You review prompts that learners write for LLM applications.",
    "code_critic": "You critique Python code that learners submit, as a senior reviewer would.",
    "rag": "You answer questions about the workbook from the retrieved documents only.",
    "learning_cycle": "You run the learning cycle: write an assignment, review the code, update progress.",
}
_RULES = (
    "state the single most important problem first",
    "quote the exact line or phrase you are talking about",
    "never reveal the grading rubric to the learner",
    "prefer a concrete rewrite over an abstract remark",
    "say when you are unsure and what would settle it",
    "keep the tone of a colleague, not of an examiner",
    "cite the section of the course material you rely on",
    "do not invent APIs, flags or library functions",
)
_INPUTS = {
    "prompt_reviewer": (
        "Review this prompt: <prompt>Summarise the document in three bullet points.</prompt>",
        "Review this prompt: <prompt>You are a helpful assistant. Answer anything.</prompt>",
        "Review this prompt: <prompt>Classify the ticket as bug, feature or question; answer JSON.</prompt>",
    ),
    "code_critic": (
        "Critique: def mean(xs): return sum(xs) / len(xs)",
        "Critique: for i in range(len(items)): print(items[i])",
        "Critique: try: run() except: pass",
    ),
    "rag": (
        "How often does retention run, and what happens over the size cap?",
        "Which labels does the embedded Loki index by default?",
        "How does labkit price a call to the offline model?",
    ),
    "learning_cycle": (
        "Topic: list comprehensions. Level: beginner.",
        "Topic: context managers. Level: intermediate.",
        "Topic: async generators. Level: advanced.",
    ),
}
# What a prompt regression adds to every user turn: the few-shot block pasted once per
# example in the history instead of once (the template bug the drill injects).
_FEW_SHOT = (
    "Example review. Input: a prompt that asks for JSON without a schema. Output: state the schema, "
    "give one valid example, say what to do when a field is unknown, and forbid prose around the JSON. "
) * 6


def system_prompt(agent: str) -> str:
    """The agent's long, stable system prompt (over the 1024-token minimum, so it is cacheable)."""
    rules = " ".join(f"Rule {i + 1}: {_RULES[i % len(_RULES)]}." for i in range(160))
    return f"{_ROLES[agent]} {rules}"


def user_message(agent: str, node: Node, index: int, *, regression: int = 1) -> str:
    """The user turn of ``node``'s call for the ``index``-th request; ``regression`` > 1 repeats
    the few-shot block (the injected prompt regression)."""
    inputs = _INPUTS[agent]
    text = f"Step {node.name}. {inputs[index % len(inputs)]}"
    return text + (" " + _FEW_SHOT * regression if regression > 1 else "")
