"""Notebook 09's verifiers, against a fake cache whose false hits are known (numbers ignored when loose)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pytest

from labkit.exercises import verify_cache as vc
from labkit.llm import Budget, TrackedClient

from .conftest import Stack

WORKLOAD = [
    {"query": "Convert 5 km to miles", "intent": "km-5"},
    {"query": "Convert 50 km to miles", "intent": "km-50"},
    {"query": "convert 5 km into miles", "intent": "km-5"},
    {"query": "Is shipping to Paris free?", "intent": "ship-paris"},
]
LOOSE = {"cache_threshold": 0.5}


class LooseCache:
    """Below threshold 0.9 it ignores digits (5 km hits 50 km); from 0.9, exact match. Scoped by system."""

    def __init__(self, tracked: TrackedClient, threshold: float) -> None:
        self.tracked, self.client, self.records = tracked, tracked.client, tracked.records
        self.threshold = threshold
        self.store: dict[tuple[str, str], Any] = {}

    def call(self, query: str, **kwargs: Any) -> Any:
        key = query.lower().replace("into", "to")
        key = re.sub(r"\d+", "#", key) if self.threshold < 0.9 else key
        scope = str(kwargs.get("system"))
        if (scope, key) not in self.store:
            self.store[(scope, key)] = self.tracked.call(query, **kwargs)
        return self.store[(scope, key)]


@pytest.fixture
def factory(stack: Stack) -> Any:
    def make(settings: Any, telemetry: Any, agent: str) -> LooseCache:
        tracked = TrackedClient(stack.sdk(), agent=agent, budget=Budget(10**7, 100.0), settings=settings)
        return LooseCache(tracked, float(getattr(settings, "cache_threshold", 0.8)))

    return make


@dataclass
class Report:
    hit_rate: float
    false_hit_rate: float
    cost_reduction: float


def fake_replay(workload: Any, *, threshold: float) -> Report:
    # Loose thresholds hit a lot and wrongly; strict ones rarely.
    return (
        Report(0.9, 0.05, 0.85) if threshold < 0.8 else Report(0.8, 0.005, 0.75 if threshold < 0.95 else 0.4)
    )


@pytest.mark.parametrize(("threshold", "passed"), [(0.5, False), (0.85, True), (0.97, False)])
def test_threshold_is_replayed_against_both_targets(threshold: float, passed: bool) -> None:
    ok, detail = vc.threshold_meets_target(WORKLOAD, replay=fake_replay)(threshold)
    assert ok is passed and "false hits" in detail


@pytest.mark.parametrize("bad", [0, 1.5, True, "0.9", None])
def test_a_threshold_must_be_a_number_in_range(bad: Any) -> None:
    with pytest.raises(AssertionError, match="number in"):
        vc.threshold_meets_target(WORKLOAD, replay=fake_replay)(bad)


def test_difference_names_what_differs() -> None:
    assert vc.difference("Convert 5 km", "Convert 50 km") == "number"
    assert vc.difference("Can I pay by card?", "Can I not pay by card?") == "negation"
    assert vc.difference("Is shipping to Paris free?", "Is shipping to Lyon free?") == "entity"
    assert vc.difference("How do I reset it?", "How do I delete it?") == "meaning"


def test_served_from_cache_tells_a_hit_by_the_message_id(stack: Stack, factory: Any) -> None:
    assert vc.served_from_cache(
        "Convert 5 km to miles",
        "Convert 50 km to miles",
        settings=stack.settings,
        overrides=LOOSE,
        client_factory=factory,
    )
    assert not vc.served_from_cache(
        "Convert 5 km to miles",
        "Convert 50 km to miles",
        settings=stack.settings,
        overrides={"cache_threshold": 0.95},
        client_factory=factory,
    )


def test_find_false_hit_finds_the_cross_intent_answer(stack: Stack, factory: Any) -> None:
    found = vc.find_false_hit(WORKLOAD, settings=stack.settings, overrides=LOOSE, client_factory=factory)
    assert found == {
        "query": "Convert 50 km to miles",
        "cached": "Convert 5 km to miles",
        "query_intent": "km-50",
        "cached_intent": "km-5",
    }


def _verify(stack: Stack, factory: Any, answer: Any) -> tuple[bool, str]:
    check = vc.threshold_meets_target(WORKLOAD, replay=fake_replay)
    return vc.false_hit_explained(
        WORKLOAD, settings=stack.settings, loose=LOOSE, threshold_check=check, client_factory=factory
    )(answer)


GOOD = {
    "query": "Convert 50 km to miles",
    "cached": "Convert 5 km to miles",
    "why": "number",
    "fix": {"cache_threshold": 0.9},
}


def test_a_correct_explanation_and_fix_passes(stack: Stack, factory: Any) -> None:
    ok, detail = _verify(stack, factory, GOOD)
    assert ok, detail


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"why": "entity"}, "differ first by 'number'"),
        ({"cached": "convert 5 km into miles", "query": "Convert 5 km to miles"}, "correct hit"),
        ({"query": "Is shipping to Paris free?", "why": "entity"}, "differ first by"),
        ({"fix": {"cache_enabled": False}}, "only change cache_"),
        ({"fix": {}}, "non-empty"),
        ({"query": "not in the workload"}, "queries of the workload"),
    ],
)
def test_wrong_answers_fail_with_the_reason(stack: Stack, factory: Any, change: dict, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        _verify(stack, factory, {**GOOD, **change})


def test_a_fix_that_does_not_fix_fails(stack: Stack, factory: Any) -> None:
    ok, detail = _verify(stack, factory, {**GOOD, "fix": {"cache_threshold": 0.6}})
    assert not ok and "still serves" in detail


def test_a_fix_that_breaks_the_target_fails(stack: Stack, factory: Any) -> None:
    ok, detail = _verify(stack, factory, {**GOOD, "fix": {"cache_threshold": 0.97}})
    assert not ok and "cost reduction 40.0%" in detail


def _real_cache_factory(stack: Stack) -> Any:
    """A real TrackedClient behind a real SemanticCache (word-overlap embedding): hits carry
    ids of their own, which the verifiers must map back to the answer they serve."""
    import hashlib

    import numpy as np

    from labkit.cache import SemanticCache

    def words(texts: Any) -> np.ndarray:
        out = np.zeros((len(texts), 384), dtype=np.float32)  # the index is 384-d
        for row, text in enumerate(texts):
            for word in re.findall(r"[a-z]+", text.lower()):
                out[row, int(hashlib.md5(word.encode()).hexdigest(), 16) % 384] += 1.0
            out[row] /= max(float(np.linalg.norm(out[row])), 1e-9)
        return out

    def make(settings: Any, telemetry: Any, agent: str) -> TrackedClient:
        cache = SemanticCache(threshold=float(settings.cache_threshold), embedder=words)
        return TrackedClient(
            stack.sdk(), agent=agent, budget=Budget(10**7, 100.0), settings=settings, cache=cache
        )

    return make


MEANING = [
    {"query": "how do I reset my account password", "intent": "reset"},
    {"query": "how do I delete my account password", "intent": "delete"},
]


def test_a_real_semantic_hit_is_recognised_although_its_id_is_new(stack: Stack) -> None:
    factory = _real_cache_factory(stack)
    first, second = MEANING[0]["query"], MEANING[1]["query"]
    assert vc.served_from_cache(
        first, second, settings=stack.settings, overrides=LOOSE, client_factory=factory
    )
    strict = {"cache_threshold": 0.95}
    assert not vc.served_from_cache(
        first, second, settings=stack.settings, overrides=strict, client_factory=factory
    )
    found = vc.find_false_hit(MEANING, settings=stack.settings, overrides=LOOSE, client_factory=factory)
    assert found is not None and (found["query"], found["cached"]) == (second, first)
