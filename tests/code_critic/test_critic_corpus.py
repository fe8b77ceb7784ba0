"""The evaluation corpus parses, is big enough, and its scorer counts what it should."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.agents.code_critic.evaluate import Label, load_corpus, score_results
from tests.code_critic.conftest import CORPUS, write


def test_the_corpus_has_enough_planted_and_clean_cases_across_categories() -> None:
    cases = load_corpus(CORPUS)
    planted = [c for c in cases if not c.clean]
    assert len(planted) >= 40 and sum(c.clean for c in cases) >= 15
    categories = {lb.category for c in planted for lb in c.labels}
    assert categories == {"style", "bug", "security", "complexity", "tests", "injection"}
    faults = [c for c in planted if any(lb.fault for lb in c.labels)]
    assert len(faults) >= 5 and all(c.tests for c in faults)
    assert all(not c.labels for c in cases if c.clean)


def test_labels_parse_several_categories_and_reject_unknown_words(tmp_path: Path) -> None:
    write(tmp_path / "a_case", {"m.py": "x = '%s' % y  # expect: security style\n"})
    [case] = load_corpus(tmp_path)
    assert case.labels == [Label("m.py", 1, "security"), Label("m.py", 1, "style")]
    write(tmp_path / "b_case", {"n.py": "x = 1  # expect: secuirty\n"})
    with pytest.raises(ValueError, match="unknown label word"):
        load_corpus(tmp_path)


def test_a_planted_case_without_labels_is_an_error(tmp_path: Path) -> None:
    write(tmp_path / "sec_nothing", {"m.py": "x = 1\n"})
    with pytest.raises(ValueError, match="without a single"):
        load_corpus(tmp_path)


def test_scoring_counts_hits_misses_and_extras(tmp_path: Path, make_graph: object) -> None:
    from labkit.agents.code_critic.evaluate import evaluate

    write(
        tmp_path / "sec_eval", {"m.py": "import os\n\n\ndef f(x):\n    return eval(x)  # expect: security\n"}
    )
    write(tmp_path / "clean_ok", {"k.py": "def g(x):\n    return x + 1\n"})
    results = evaluate(load_corpus(tmp_path), make_graph(specialists=["style", "security"]))  # type: ignore[operator]
    scores = score_results(results)
    assert scores.per_category["security"]["tp"] == 1 and scores.per_category["security"]["fn"] == 0
    assert scores.per_category["style"]["fp"] == 1  # the unused import is a finding nobody labelled
    assert scores.clean_with_findings == []
