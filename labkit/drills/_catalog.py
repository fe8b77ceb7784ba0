"""The drills: their question, the valid answers, how a seed picks the fault, and the hints."""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass, field

from labkit.drills._replay import Incident
from labkit.drills._scenario import AGENTS, NODES

__all__ = ["DRILLS", "Drill"]


@dataclass(frozen=True)
class Drill:
    name: str
    title: str
    question: str
    subject: str  # the answer field naming where: "agent" or "node"
    subjects: tuple[str, ...]
    causes: Mapping[str, str]  # cause id -> what it means
    hints: Mapping[str, str] = field(default_factory=dict)  # "subject" / "cause" -> hint on a wrong answer
    per_tick: int = 1  # requests per agent per simulated tick
    workers: int = 1  # requests of a tick run concurrently on this many threads

    @property
    def fields(self) -> tuple[str, str]:
        return (self.subject, "cause")

    def incident(self, seed: int) -> Incident:
        """The fault a seed injects. Consecutive seeds take different causes, so any
        ``len(causes)`` consecutive seeds cover every cause; the place is drawn by the seed."""
        causes = tuple(self.causes)
        cause = causes[seed % len(causes)]
        where = random.Random(f"{self.name}:{seed}").choice(self.subjects)
        if self.subject == "agent":
            return Incident(cause, agent=where)
        return Incident(cause, agent=NODES[where].agent, node=where)


COSTS = Drill(
    name="costs-doubled",
    title="LLM costs suddenly doubled",
    question=(
        "Finance says the LLM bill doubled in the last 5 minutes. Which agent is responsible, and why? "
        "Compare the last 5 minutes with the 5 before them in Mimir, Tempo and Loki."
    ),
    subject="agent",
    subjects=tuple(AGENTS),
    causes={
        "prompt_regression": "a prompt change multiplied the agent's input tokens per call",
        "cache_disabled": "prompt caching was turned off: cached input is now billed in full",
        "retry_storm": "429s make the agent retry whole runs, paying again for the steps that succeeded",
        "pricier_model": "the agent switched to a more expensive model",
    },
    hints={
        "subject": (
            "another agent's cost rose more: compare "
            "sum by (agent) (increase(labkit_llm_cost_usd_total[5m])) now with the same expression "
            "5 minutes earlier"
        ),
        "cause": (
            "the agent is right; now ask what changed for it: its model label, its 429 errors (Tempo "
            "error.type, Loki warnings), its cache_read tokens, its input tokens per call"
        ),
    },
)
SLOW = Drill(
    name="responses-slow",
    title="AI agent responses are slow",
    question=(
        "Users say answers got slow in the last 5 minutes. Which node is slow, and what made it slow? "
        "Compare node spans before and after, then look inside the slow one."
    ),
    subject="node",
    subjects=tuple(NODES),
    causes={
        "slow_tool": "the tool the node calls got slower",
        "slow_model": "the model the node calls answers slower",
        "contention": "the node waits for a lock on a resource that concurrent runs share",
    },
    hints={
        "subject": (
            "another node got slower: average the duration of the node spans "
            "({ kind = internal && span.labkit.agent.node != nil }) per node, before and after"
        ),
        "cause": (
            "the node is right; now split its time: its chat span, its execute_tool span, "
            "and the time that is in neither (look for warnings in Loki)"
        ),
    },
    per_tick=2,
    workers=8,
)
DRILLS: dict[str, Drill] = {d.name: d for d in (COSTS, SLOW)}
