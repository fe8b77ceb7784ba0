"""labkit.check.exercise: looks the answer up by name, shows PASS/FAIL with the hint, never raises."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from labkit import check
from labkit.results import CHECK_MIME, CheckResult


@pytest.fixture
def shown(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    bundles: list[dict[str, Any]] = []
    monkeypatch.setattr(check, "publish", bundles.append)
    return bundles


def _exercise(namespace: dict[str, Any], verify: Any, answer: str = "q") -> CheckResult:
    return check.exercise("my-exercise", answer=answer, verify=verify, hint="try two", namespace=namespace)


def test_pass_is_recorded_as_an_exercise(shown: list[dict[str, Any]]) -> None:
    result = _exercise({"q": 2}, lambda value: (value == 2, f"got {value}"))
    assert result.passed and result.detail == "got 2"
    [bundle] = shown
    assert bundle[CHECK_MIME] == {
        "name": "my-exercise",
        "passed": True,
        "detail": "got 2",
        "kind": "exercise",
        "hint": "try two",
        "answer": "q",
    }
    assert "hint" not in bundle["text/plain"]  # the hint is for a failure


@pytest.mark.parametrize(
    ("namespace", "verify", "detail"),
    [
        ({}, lambda v: True, "not answered yet: q is not defined"),
        ({"q": None}, lambda v: True, "not answered yet: q is still None"),
        (
            {"q": lambda: None},
            lambda v: (_ for _ in ()).throw(NotImplementedError("stub")),
            "not answered yet",
        ),
        ({"q": 3}, lambda v: v == 2, ""),
        ({"q": 3}, lambda v: (v == 2, "3 is not 2"), "3 is not 2"),
        ({"q": 3}, lambda v: (_ for _ in ()).throw(AssertionError("wrong series")), "wrong series"),
        ({"q": 3}, lambda v: 1 / 0, "ZeroDivisionError"),
        ({"q": 3}, lambda v: "yes", "check returned str"),
    ],
)
def test_failures_show_the_hint_and_never_raise(
    shown: list[dict[str, Any]], namespace: dict[str, Any], verify: Any, detail: str
) -> None:
    result = _exercise(namespace, verify)
    assert not result.passed and result.kind == "exercise"
    assert detail in result.detail
    assert shown[0]["text/plain"].endswith("\n  hint: try two")
    assert "try two" in shown[0]["text/html"]


def test_bad_arguments_fail_the_exercise_instead_of_raising(shown: list[dict[str, Any]]) -> None:
    assert (
        "kebab-case" in check.exercise("Bad_Id", answer="q", verify=bool, hint="h", namespace={"q": 1}).detail
    )
    assert "callable" in _exercise({"q": 1}, "not callable").detail
    assert "not a Python name" in _exercise({"q": 1}, bool, answer="a b").detail
    assert len(shown) == 3 and not any(b[CHECK_MIME]["passed"] for b in shown)


def test_file_answers_resolve_next_to_the_notebook(
    shown: list[dict[str, Any]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    missing = _exercise({}, lambda p: True, answer="file:fixed/Dockerfile")
    assert "does not exist yet" in missing.detail
    (tmp_path / "fixed").mkdir()
    (tmp_path / "fixed" / "Dockerfile").write_text("FROM scratch\n")
    seen: list[Path] = []
    result = _exercise(
        {}, lambda p: seen.append(p) or p.read_text().startswith("FROM"), answer="file:fixed/Dockerfile"
    )
    assert result.passed and seen == [tmp_path / "fixed" / "Dockerfile"]
    assert "relative" in _exercise({}, bool, answer="file:/etc/passwd").detail


def test_recorded_exercise_round_trips_through_read(tmp_path: Path) -> None:
    import json

    from labkit.results import read

    failed = CheckResult("my-exercise", False, "no", kind="exercise", hint="h", answer="q")
    nb = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {},
        "cells": [
            {
                "cell_type": "code",
                "metadata": {},
                "source": "",
                "outputs": [
                    {"output_type": "display_data", "data": {CHECK_MIME: failed.to_dict()}, "metadata": {}},
                    {
                        "output_type": "display_data",
                        "data": {CHECK_MIME: {"name": "c", "passed": True}},
                        "metadata": {},
                    },
                ],
            }
        ],
    }
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb))
    checks = read(path).checks
    assert checks == [failed, CheckResult("c", True, "")]
    assert checks[0].kind == "exercise" and checks[1].kind == "checkpoint"
    assert checks[1].to_dict() == {"name": "c", "passed": True, "detail": ""}
