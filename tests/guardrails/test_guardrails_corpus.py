"""Corpus-driven thresholds: the guardrails measured like a detector, on both splits."""

from __future__ import annotations

import json

import pytest

from labkit.guardrails import ATTACK_CATEGORIES, LANGUAGES, check_input, detect
from labkit.guardrails.corpus import CorpusError, load_corpus, read_cases
from labkit.guardrails.evaluate import evaluate

ATTACKS = load_corpus("attacks")
BENIGN = load_corpus("benign")


def test_corpora_cover_every_category_language_and_kind() -> None:
    assert len(BENIGN) >= 300 and len(ATTACKS) >= 200
    assert {c.category for c in ATTACKS} == set(ATTACK_CATEGORIES)
    for cases in (ATTACKS, BENIGN):
        assert {c.language for c in cases} == set(LANGUAGES)
        assert {c.kind for c in cases} == {"prompt", "code", "document"}
        assert {c.split for c in cases} == {"tune", "holdout"}
    texts = [c.text for c in ATTACKS + BENIGN]
    assert len(texts) == len(set(texts))  # no case is in two places


@pytest.fixture(scope="module")
def report():  # type: ignore[no-untyped-def]
    return evaluate(ATTACKS + BENIGN)


@pytest.mark.parametrize(("split", "detection", "fpr"), [("tune", 0.98, 0.02), ("holdout", 0.9, 0.02)])
def test_detection_and_false_positive_rates(report, split: str, detection: float, fpr: float) -> None:  # type: ignore[no-untyped-def]
    row = report.summary().set_index("split").loc[split]
    assert row["detection"] >= detection, report.misses()
    assert row["false_positive_rate"] <= fpr, report.misses()


def test_every_category_is_mostly_blocked(report) -> None:  # type: ignore[no-untyped-def]
    per = report.by_category()
    tune = per[per["split"] == "tune"]
    assert (tune["rate"] >= 0.9).all(), tune


def test_every_block_has_a_category_and_a_reason() -> None:
    for case in ATTACKS:
        verdict = check_input(case.text, agent="t", kind=case.kind)
        for f in verdict.blocking:
            assert f.category and f.reason.startswith(f.category + ": ") and f.rule


def test_language_gates_only_save_time(monkeypatch: pytest.MonkeyPatch) -> None:
    before = [check_input(c.text, agent="t", kind=c.kind).categories for c in ATTACKS]
    always = {lang: __import__("re").compile("") for lang in detect._SCRIPT_GATE}
    monkeypatch.setattr(detect, "_SCRIPT_GATE", always)
    after = [check_input(c.text, agent="t", kind=c.kind).categories for c in ATTACKS]
    assert [bool(b) for b in before] == [bool(a) for a in after]


def test_bad_corpus_lines_are_named(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "c.jsonl"
    path.write_text(json.dumps({"text": "hi", "category": "benign"}) + "\n{oops\n", encoding="utf-8")
    with pytest.raises(CorpusError, match=r"c.jsonl:2: not JSON"):
        read_cases(path)
    path.write_text(
        json.dumps({"text": "hi", "category": "benign", "kind": "tweet"}) + "\n", encoding="utf-8"
    )
    with pytest.raises(CorpusError, match="kind must be prompt, code or document"):
        read_cases(path)
