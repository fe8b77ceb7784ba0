"""Checkpoints: named tests of real state that show pass/fail in the notebook and are recorded.

A check is a callable that returns ``True``/``False``, a ``(passed, detail)`` pair, or
nothing (it passed unless it raised). Three ways to run one::

    labkit.check.that("two services traced", len(services) == 2, f"found {services}")
    labkit.check.run("trace is in Tempo", lambda: tempo.has_trace(trace_id))

    @labkit.check.checkpoint("image was built")
    def image_built():
        return docker.images.get("hello:1") is not None, "hello:1 present"

A check that raises is a failed check with the exception as its detail; the notebook
carries on, so one broken service never hides the state of the others.

An exercise is a check of something the learner wrote, found by name::

    labkit.check.exercise("logql-error-lines", answer="error_lines_query",
                          verify=logql_same_lines(reference, since=since), hint="...")

It shows PASS, or FAIL with the hint, is recorded with kind "exercise", and never raises.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from typing import Any

from labkit.results import CHECK_MIME, CheckResult, publish

__all__ = ["CheckResult", "checkpoint", "evaluate", "exercise", "run", "show", "that"]

_STYLE = {
    True: ("PASS", "\u2714", "#e6f4ea", "#1e7b34"),
    False: ("FAIL", "\u2718", "#fce8e6", "#b3261e"),
}


def _bundle(result: CheckResult) -> dict[str, Any]:
    word, mark, background, colour = _STYLE[result.passed]
    detail = f" \u2014 {result.detail}" if result.detail else ""
    html_detail = f" &mdash; {html.escape(result.detail)}" if result.detail else ""
    label = f"exercise {result.name}" if result.kind == "exercise" else result.name
    text_hint = html_hint = ""
    if result.kind == "exercise" and not result.passed and result.hint:
        text_hint = f"\n  hint: {result.hint}"
        html_hint = f"<br><i>hint:</i> {html.escape(result.hint)}"
    return {
        CHECK_MIME: result.to_dict(),
        "text/html": (
            f'<div class="labkit-check" style="background:{background};color:{colour};'
            f'padding:4px 8px;border-radius:4px;font-family:sans-serif">'
            f"<b>{mark} {word}</b> {html.escape(label)}{html_detail}{html_hint}</div>"
        ),
        "text/plain": f"{mark} {word} {label}{detail}{text_hint}",
    }


def show(result: CheckResult) -> CheckResult:
    """Display (and so record) a check result once."""
    if not result._shown:
        result._shown = True
        publish(_bundle(result))
    return result


def _interpret(name: str, outcome: Any) -> CheckResult:
    if outcome is None:
        return CheckResult(name, True, "")
    if isinstance(outcome, CheckResult):
        return CheckResult(name, outcome.passed, outcome.detail)
    if isinstance(outcome, tuple) and len(outcome) == 2 and _is_bool(outcome[0]):
        return CheckResult(name, bool(outcome[0]), str(outcome[1]))
    if _is_bool(outcome):
        return CheckResult(name, bool(outcome), "")
    return CheckResult(
        name,
        False,
        f"check returned {type(outcome).__name__} {outcome!r:.80}; expected bool, (bool, detail) or None",
    )


def _is_bool(value: Any) -> bool:
    # numpy.bool_ is what comparisons on arrays and DataFrames give back.
    kind = type(value)
    return isinstance(value, bool) or (kind.__module__ == "numpy" and kind.__name__ in ("bool", "bool_"))


def evaluate(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> CheckResult:
    """Run a check without displaying it; exceptions become a failed result."""
    validate_name_text(name)
    if not callable(fn):
        raise TypeError(f"check {name!r}: expected a callable, got {type(fn).__name__}")
    try:
        outcome = fn(*args, **kwargs)
    except Exception as exc:  # a broken check is a failed check, never a stopped notebook
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")
    return _interpret(name, outcome)


def run(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> CheckResult:
    """Run ``fn(*args, **kwargs)`` as the check ``name``, display the outcome and return it."""
    return show(evaluate(name, fn, *args, **kwargs))


def that(name: str, condition: Any, detail: str = "") -> CheckResult:
    """Record an already computed condition as the check ``name``."""
    validate_name_text(name)
    if not _is_bool(condition):
        raise TypeError(
            f"check {name!r}: condition must be a bool, got {type(condition).__name__}; "
            "compare explicitly (e.g. `len(x) > 0`)"
        )
    return show(CheckResult(name, bool(condition), str(detail)))


def checkpoint(name: str | None = None) -> Callable[[Callable[[], Any]], CheckResult]:
    """Decorator that runs the function as a check right away and binds its name to the result.

    The check name defaults to the function's name with underscores as spaces.
    """

    def decorate(fn: Callable[[], Any]) -> CheckResult:
        label = name if name is not None else fn.__name__.replace("_", " ")
        return run(label, fn)

    return decorate


def validate_name_text(name: object) -> str:
    """Check names are free text (they are sentences), but must be non-empty single-line strings."""
    if not isinstance(name, str):
        raise TypeError(f"check name must be a str, got {type(name).__name__}")
    if not name.strip() or "\n" in name or len(name) > 200:
        raise ValueError(f"bad check name {name!r}: use one non-empty line of at most 200 characters")
    return name


def exercise(
    exercise_id: str,
    *,
    answer: str,
    verify: Callable[[Any], Any],
    hint: str,
    namespace: Mapping[str, Any] | None = None,
) -> CheckResult:
    """Check the learner's answer ``answer`` with ``verify``; show PASS/FAIL (+ hint) and record it.

    ``answer`` is a name in the notebook's namespace, or ``"file:relative/path"`` (verify
    then gets a Path). ``verify`` returns True/False, ``(passed, detail)`` or None (passed);
    an AssertionError fails with its message, any other error fails too. A missing answer,
    one still None, or a function that still raises NotImplementedError is "not answered
    yet". Never raises: a learner's mistake must not stop the notebook. ``namespace`` is
    for use outside a kernel (tests, scripts).
    """
    from labkit.exercises.answers import NotAnswered, resolve, validate_exercise_id

    hint_text = str(hint) if hint is not None else ""
    name = exercise_id if isinstance(exercise_id, str) and exercise_id.strip() else repr(exercise_id)
    answer_text = str(answer)
    try:
        validate_exercise_id(exercise_id)
        if not callable(verify):
            raise TypeError(f"verify must be a callable, got {type(verify).__name__}")
        found = resolve(answer, namespace)
        try:
            outcome = verify(found.value)
        except NotImplementedError as exc:
            raise NotAnswered(f"{answer} still raises NotImplementedError ({exc})") from exc
        except AssertionError as exc:
            outcome = (False, str(exc) or "assertion failed")
        result = _interpret(name, outcome)
    except NotAnswered as exc:
        result = CheckResult(name, False, f"not answered yet: {exc}")
    except Exception as exc:  # a broken verifier or a wrong answer type: a failed exercise
        result = CheckResult(name, False, f"{type(exc).__name__}: {exc}")
    result.kind, result.hint, result.answer = "exercise", hint_text, answer_text
    try:
        return show(result)
    except Exception:  # displaying can only fail outside a working frontend; still never raise
        result._shown = True
        return result
