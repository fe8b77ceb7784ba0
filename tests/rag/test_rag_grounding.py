"""The groundedness detector on the labelled set, and how answers split into cited claims."""

from __future__ import annotations

import json

from labkit.rag.embeddings import embed
from labkit.rag.grounding import SUPPORT_THRESHOLD, Claim, split_claims, support

from .conftest import DATA


def test_detector_precision_and_recall_on_the_labelled_set() -> None:
    rows = [json.loads(line) for line in (DATA / "grounding.jsonl").read_text().splitlines() if line]
    assert len(rows) >= 100 and {r["supported"] for r in rows} == {True, False}
    tp = fp = fn = 0
    for row in rows:
        verdict = support(row["sentence"], {"c": row["context"]}, ["c"], embed)
        flagged, unsupported = not verdict.supported, not row["supported"]
        tp += flagged and unsupported
        fp += flagged and not unsupported
        fn += unsupported and not flagged
    precision, recall = tp / (tp + fp), tp / (tp + fn)
    assert precision >= 0.9, f"precision {precision:.2f} (tp={tp}, fp={fp})"
    assert recall >= 0.8, f"recall {recall:.2f} (tp={tp}, fn={fn})"


def test_claims_carry_the_citations_that_follow_them() -> None:
    answer = "[offline m] First fact. [a] Second fact. Third fact. [b] [x] Trailing claim."
    assert split_claims(answer, {"a", "b"}) == [
        Claim("First fact.", ("a",)),
        Claim("Second fact.", ()),
        Claim("Third fact.", ("b",)),
        Claim("Trailing claim.", ()),
    ]


def test_uncited_changed_numbers_and_copied_sentences() -> None:
    chunk = {"c": "Retention runs every 5 minutes and deletes rows older than 72 hours."}
    assert support("Retention runs every 5 minutes.", chunk, ["c"], embed).supported
    changed = support("Retention runs every 15 minutes.", chunk, ["c"], embed)
    assert not changed.supported and "15" in changed.reason
    uncited = support("Retention runs every 5 minutes.", chunk, [], embed)
    assert not uncited.supported and uncited.score == 0.0
    assert 0 < SUPPORT_THRESHOLD < 1
