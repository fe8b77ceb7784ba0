"""Evaluate the Code Critic on a labelled corpus: precision/recall per category, fault localisation.

Corpus format (``tests/code_critic/corpus``): one folder per case. Every ``*.py`` file
in it is reviewed, except ``test_*.py`` files, which are run as its tests. A label is a
comment at the end of the line the finding must point at::

    return eval(expression)  # expect: security
    return "C"  # expect: bug fault        <- also the known faulty line (fault localisation)
    query = "... '%s'" % name  # expect: security style   <- two findings on one line
    def test_b():  # expect: tests

A case whose folder name starts with ``clean_`` has no labels and must get no finding.
A finding matches a label when the file and category agree and the labelled line is in
the finding's line range; an unmatched finding is a false positive of its category.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.agents.code_critic.graph import CriticResult, review
from labkit.agents.code_critic.schema import CATEGORIES

__all__ = ["Case", "CaseResult", "Label", "Scores", "evaluate", "load_corpus", "score_results"]

_MARK = re.compile(r"#\s*expect:\s*([a-z ]+?)\s*$")


@dataclass(frozen=True)
class Label:
    file: str
    line: int
    category: str
    fault: bool = False


@dataclass
class Case:
    name: str
    folder: Path
    sources: list[Path]
    tests: list[Path]
    labels: list[Label]

    @property
    def clean(self) -> bool:
        return self.name.startswith("clean_")


@dataclass
class CaseResult:
    case: Case
    result: CriticResult
    matched: list[Label] = field(default_factory=list)
    missed: list[Label] = field(default_factory=list)
    false_positives: list[dict[str, Any]] = field(default_factory=list)
    fault_rank: int | None = None  # 0-based rank of the faulty line among the suspects


@dataclass
class Scores:
    per_category: dict[str, dict[str, float]]
    clean_cases: int
    clean_with_findings: list[str]
    fault_cases: int
    top1: float
    top3: float


def load_corpus(folder: Path) -> list[Case]:
    cases = []
    for case_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(case_dir.glob("*.py"))
        labels = []
        for path in files:
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                match = _MARK.search(line)
                if match:
                    words = match.group(1).split()
                    unknown = [w for w in words if w not in CATEGORIES and w != "fault"]
                    if unknown:
                        raise ValueError(f"{path}:{number}: unknown label word(s) {unknown}")
                    labels += [
                        Label(path.name, number, w, fault="fault" in words) for w in words if w in CATEGORIES
                    ]
        tests = [p for p in files if p.name.startswith("test_")]
        sources = [p for p in files if p not in tests]
        if not labels and not case_dir.name.startswith("clean_"):
            raise ValueError(f"{case_dir.name}: a planted case without a single '# expect:' label")
        cases.append(Case(case_dir.name, case_dir, sources, tests, labels))
    return cases


def _score_case(case: Case, result: CriticResult) -> CaseResult:
    out = CaseResult(case, result)
    findings = [f.model_dump() for f in result.review.findings]
    used: set[int] = set()
    for label in case.labels:
        hit = next(
            (
                i
                for i, f in enumerate(findings)
                if i not in used
                and f["file"] == label.file
                and f["category"] == label.category
                and f["line_start"] <= label.line <= f["line_end"]
            ),
            None,
        )
        if hit is None:
            out.missed.append(label)
        else:
            used.add(hit)
            out.matched.append(label)
    out.false_positives = [f for i, f in enumerate(findings) if i not in used]
    fault = next((lb for lb in case.labels if lb.fault), None)
    if fault is not None:
        ranks = [
            i for i, s in enumerate(result.suspects) if s["file"] == fault.file and s["line"] == fault.line
        ]
        out.fault_rank = ranks[0] if ranks else None
    return out


def evaluate(
    cases: list[Case], graph: Any, progress: Callable[[str], None] | None = None
) -> list[CaseResult]:
    """Review every case (one graph, so one client and one offline server) and score it."""
    out = []
    for case in cases:
        result = review(case.sources, tests=case.tests or None, root=case.folder, graph=graph)
        scored = _score_case(case, result)
        out.append(scored)
        if progress is not None:
            progress(
                f"{case.name}: {len(scored.matched)}/{len(case.labels)} found, {len(scored.false_positives)} extra"
            )
    return out


def score_results(results: list[CaseResult]) -> Scores:
    per: dict[str, dict[str, float]] = {}
    for category in CATEGORIES:
        tp = sum(1 for r in results for lb in r.matched if lb.category == category)
        fn = sum(1 for r in results for lb in r.missed if lb.category == category)
        fp = sum(1 for r in results for f in r.false_positives if f["category"] == category)
        per[category] = {
            "tp": tp,
            "fp": fp,
            "fn": fn,
            "precision": tp / (tp + fp) if tp + fp else 1.0,
            "recall": tp / (tp + fn) if tp + fn else 1.0,
        }
    clean = [r for r in results if r.case.clean]
    faults = [r for r in results if any(lb.fault for lb in r.case.labels)]
    return Scores(
        per_category=per,
        clean_cases=len(clean),
        clean_with_findings=[r.case.name for r in clean if r.result.review.findings],
        fault_cases=len(faults),
        top1=sum(r.fault_rank == 0 for r in faults) / len(faults) if faults else 0.0,
        top3=sum(r.fault_rank is not None and r.fault_rank < 3 for r in faults) / len(faults)
        if faults
        else 0.0,
    )
