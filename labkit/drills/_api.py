"""run / answer / solve: what the CLI and the notebook call."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from labkit.drills import _state
from labkit.drills._catalog import DRILLS, Drill
from labkit.drills._replay import NAMESPACE, ReplayStats, replay
from labkit.drills._solution import Solution, solve_costs, solve_slow

__all__ = [
    "DrillError",
    "DrillRun",
    "MalformedAnswer",
    "Verdict",
    "answer",
    "answer_verifier",
    "current",
    "get",
    "list_drills",
    "run",
    "solve",
]


class DrillError(ValueError):
    """Unknown drill or seed, no run to answer, or a backend that cannot run a drill."""


class MalformedAnswer(DrillError):
    """An answer naming something that does not exist; it never counts as an attempt."""


def _listing() -> str:
    return "; ".join(f"{d.name} ({d.title})" for d in DRILLS.values())


def get(name: str) -> Drill:
    """The drill called ``name``; an unknown name is an error listing the drills."""
    if not isinstance(name, str) or name not in DRILLS:
        raise DrillError(f"unknown drill {name!r}; the drills are: {_listing()}")
    return DRILLS[name]


def list_drills() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "drill": d.name,
                "title": d.title,
                "answer": f"--{d.subject} X --cause Y",
                d.subject + "s": ", ".join(d.subjects),
                "causes": ", ".join(d.causes),
            }
            for d in DRILLS.values()
        ]
    )


def _settings(settings: Any) -> Any:
    from labkit.config import load_settings

    return settings or load_settings()


@dataclass
class DrillRun:
    """A replayed drill as the learner sees it: the question and where to look, not the answer."""

    drill: str
    seed: int
    run_id: str
    question: str
    start: pd.Timestamp
    incident_start: pd.Timestamp
    end: pd.Timestamp
    choices: dict[str, tuple[str, ...]]
    stats: ReplayStats | None = None
    namespace: str = NAMESPACE
    attempts: int = 0  # answers counted so far (malformed ones never count)
    time_to_find_s: float | None = None  # from the question to the first correct answer

    @property
    def instance(self) -> str:
        """The run's ``service.instance.id``: PromQL ``instance``, TraceQL
        ``resource.service.instance.id``, Loki ``service_instance_id``."""
        return self.run_id

    def __str__(self) -> str:
        choices = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.choices.items())
        return (
            f"drill {self.drill} (seed {self.seed}), run {self.run_id}\n{self.question}\n"
            f"traffic: {self.start:%H:%M:%S} .. {self.end:%H:%M:%S} UTC, incident from "
            f'{self.incident_start:%H:%M:%S}; select it with instance="{self.run_id}"\n'
            f"answer with {choices}"
        )

    def _repr_markdown_(self) -> str:
        return "\n\n".join(f"`{line}`" if i == 0 else line for i, line in enumerate(str(self).splitlines()))


def _public(drill: Drill, state: Mapping[str, Any], stats: ReplayStats | None = None) -> DrillRun:
    def ts(ns: int) -> pd.Timestamp:
        return pd.Timestamp(int(ns), unit="ns", tz="UTC")

    return DrillRun(
        drill=drill.name,
        seed=int(state["seed"]),
        run_id=str(state["run_id"]),
        question=drill.question,
        start=ts(state["start_ns"]),
        incident_start=ts(state["incident_ns"]),
        end=ts(state["end_ns"]),
        choices={drill.subject: drill.subjects, "cause": tuple(drill.causes)},
        stats=stats,
        attempts=int(state.get("attempts", 0)),
        time_to_find_s=state.get("time_to_find_s"),
    )


def run(
    name: str,
    seed: int,
    *,
    settings: Any = None,
    progress: Callable[[int, int], None] | None = None,
) -> DrillRun:
    """Inject the fault ``seed`` picks and replay the last 10 minutes of traffic with it."""
    from labkit.llm.client import choose_backend

    drill = get(name)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DrillError(f"seed must be an integer >= 0, got {seed!r}; the drills are: {_listing()}")
    settings = _settings(settings)
    if choose_backend(settings).backend != "embedded":
        raise DrillError(
            "drills inject faults into the local offline model; set backend=embedded "
            "(the live backend is Claude)"
        )
    incident = drill.incident(seed)
    run_id = f"{drill.name.split('-')[0]}-{uuid.uuid4().hex[:8]}"
    timeline, stats = replay(
        run_id, incident, seed, settings, per_tick=drill.per_tick, workers=drill.workers, progress=progress
    )
    salt = _state.new_salt()
    where = incident.agent if drill.subject == "agent" else incident.node
    state = {
        "drill": drill.name,
        "seed": seed,
        "run_id": run_id,
        "start_ns": timeline.start_ns,
        "incident_ns": timeline.incident_ns,
        "end_ns": timeline.end_ns,
        "asked_at": time.time(),
        "salt": salt,
        "truth": {
            drill.subject: _state.digest(salt, drill.subject, str(where)),
            "cause": _state.digest(salt, "cause", incident.cause),
        },
        "attempts": 0,
        "solved": False,
    }
    _state.save_run(settings, drill.name, state)
    return _public(drill, state, stats)


def _load(drill: Drill, settings: Any) -> dict[str, Any]:
    state = _state.load_run(settings, drill.name)
    if state is None:
        raise DrillError(f"no run of {drill.name} yet: run `labkit drills run {drill.name} --seed N` first")
    return state


def current(name: str, *, settings: Any = None) -> DrillRun:
    """The latest run of a drill (from the data dir)."""
    drill = get(name)
    return _public(drill, _load(drill, _settings(settings)))


@dataclass
class Verdict:
    drill: str
    correct: bool
    message: str
    attempts: int
    time_to_find_s: float | None = None
    hint: str = ""
    fields: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        head = "correct" if self.correct else "not yet"
        extra = f" in {self.time_to_find_s:.0f} s" if self.time_to_find_s is not None else ""
        return f"{head}{extra} (attempt {self.attempts}): {self.message}" + (
            f"\nhint: {self.hint}" if self.hint else ""
        )


def _validate(drill: Drill, given: Mapping[str, Any]) -> dict[str, str]:
    unknown = sorted(set(given) - set(drill.fields))
    if unknown:
        raise MalformedAnswer(
            f"{drill.name} takes {drill.subject}= and cause=, not {', '.join(unknown)}; "
            f"valid {drill.subject}s: {', '.join(drill.subjects)}; causes: {', '.join(drill.causes)}"
        )
    out: dict[str, str] = {}
    for name, valid in ((drill.subject, drill.subjects), ("cause", tuple(drill.causes))):
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MalformedAnswer(f"{drill.name}: {name} is missing; valid {name}s: {', '.join(valid)}")
        text = str(value).strip()
        if text not in valid:
            raise MalformedAnswer(
                f"{drill.name}: {name} {text!r} does not exist; valid {name}s: {', '.join(valid)}"
            )
        out[name] = text
    return out


def answer(name: str, *, settings: Any = None, **given: Any) -> Verdict:
    """Check an answer (``agent=``/``node=`` and ``cause=``) against the injected truth.

    A malformed answer raises :class:`MalformedAnswer` listing the valid choices and is not
    counted; a wrong one is counted and answered with a hint; the first correct one records
    the time to find it (from the end of the replay) and the attempts.
    """
    drill = get(name)
    settings = _settings(settings)
    fields = _validate(drill, given)
    state = _load(drill, settings)
    salt, truth = state["salt"], state["truth"]
    right = {k: _state.digest(salt, k, v) == truth[k] for k, v in fields.items()}
    state["attempts"] = int(state.get("attempts", 0)) + 1
    correct = all(right.values())
    elapsed = round(time.time() - float(state["asked_at"]), 1)
    if correct:
        message = (
            f"{drill.subject} {fields[drill.subject]} and cause {fields['cause']}: that is what was injected"
        )
        hint = ""
    else:
        which = drill.subject if not right[drill.subject] else "cause"
        message = f"the {which} is not the injected one"
        hint = drill.hints.get("subject" if which == drill.subject else "cause", "")
    first_solve = correct and not state.get("solved")
    if first_solve:
        state["solved"] = True
        state["time_to_find_s"] = elapsed
    _state.save_run(settings, drill.name, state)
    _state.record_result(
        settings,
        {
            "drill": drill.name,
            "run_id": state["run_id"],
            "seed": state["seed"],
            "correct": correct,
            "attempts": state["attempts"],
            "time_to_find_s": elapsed if correct else None,
        },
    )
    return Verdict(
        drill.name,
        correct,
        message,
        state["attempts"],
        state.get("time_to_find_s") if correct else None,
        hint,
        fields,
    )


def solve(name: str, *, settings: Any = None) -> Solution:
    """Run the drill's shipped solution path on the backends; say whether it found the truth
    (compared by digest, without recording an attempt)."""
    drill = get(name)
    settings = _settings(settings)
    state = _load(drill, settings)
    solution = (solve_costs if drill.subject == "agent" else solve_slow)(settings, state)
    salt, truth = state["salt"], state["truth"]
    solution.matches_truth = all(_state.digest(salt, k, v) == truth[k] for k, v in solution.answer.items())
    return solution


def answer_verifier(name: str, *, settings: Any = None) -> Callable[[Any], tuple[bool, str]]:
    """For ``check.exercise``: the answer is a dict ``{subject: ..., "cause": ...}``."""

    def verify(value: Any) -> tuple[bool, str]:
        if not isinstance(value, Mapping):
            return False, f"the answer must be a dict with the keys {', '.join(get(name).fields)}"
        try:
            verdict = answer(name, settings=settings, **dict(value))
        except MalformedAnswer as exc:
            return False, f"not counted: {exc}"
        return verdict.correct, str(verdict)

    return verify
