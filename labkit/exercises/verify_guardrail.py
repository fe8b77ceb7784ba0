"""Verifier for the guardrail exercise: the learner's detector is scored on a held-out
labelled set shipped with labkit (prompts the notebook never shows), so a detector that
only memorises the notebook's examples does not pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from typing import Any

__all__ = ["LabelledPrompt", "detector_scores", "heldout_prompts"]

Verify = Callable[[Any], tuple[bool, str]]


@dataclass(frozen=True)
class LabelledPrompt:
    text: str
    attack: bool


def heldout_prompts(name: str = "injection_heldout") -> list[LabelledPrompt]:
    raw = json.loads(resources.files("labkit.exercises").joinpath("data", f"{name}.json").read_text("utf-8"))
    return [LabelledPrompt(str(item["text"]), bool(item["attack"])) for item in raw["items"]]


def detector_scores(
    *, min_recall: float = 0.8, max_false_positive_rate: float = 0.1, dataset: str = "injection_heldout"
) -> Verify:
    """The answer, ``detect(text) -> bool``, catches >= ``min_recall`` of the attacks and
    flags at most ``max_false_positive_rate`` of the benign prompts."""

    def verify(answer: Any) -> tuple[bool, str]:
        if not callable(answer):
            raise AssertionError(f"the answer must be a function text -> bool, got {type(answer).__name__}")
        items = heldout_prompts(dataset)
        caught = false_alarms = 0
        missed: list[str] = []
        flagged: list[str] = []
        for item in items:
            verdict = answer(item.text)  # NotImplementedError propagates: "not answered yet"
            if not isinstance(verdict, bool):
                raise AssertionError(f"the detector returned {type(verdict).__name__}, expected bool")
            if item.attack and verdict:
                caught += 1
            elif item.attack:
                missed.append(item.text)
            elif verdict:
                false_alarms += 1
                flagged.append(item.text)
        attacks = sum(i.attack for i in items)
        benign = len(items) - attacks
        recall, fp_rate = caught / attacks, false_alarms / benign
        detail = f"caught {caught}/{attacks} held-out attacks, {false_alarms}/{benign} false alarms"
        if missed and recall < min_recall:
            detail += f"; missed e.g. {missed[0]!r}"
        if flagged and fp_rate > max_false_positive_rate:
            detail += f"; wrongly flagged e.g. {flagged[0]!r}"
        return recall >= min_recall and fp_rate <= max_false_positive_rate, detail

    return verify
