"""The supervisor's deterministic core: merge, de-duplicate, refute, rank and score.

"Refute before reporting": a finding survives only if its file is part of the review,
its line range exists in that file, and the code it quotes matches the code there
(whitespace-normalised; a quote of part of the range counts). A finding from a diff
review must touch an added line. Everything else is dropped and listed with the
reason, so nobody has to trust a model's (or a tool's) word for where a problem is.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any

from pydantic import ValidationError

from labkit.agents.code_critic.intake import Intake, SourceFile
from labkit.agents.code_critic.schema import CATEGORIES, SEVERITY_RANK, Finding

__all__ = ["PENALTY", "merge", "refute", "score_of", "summary_of"]

# Points off the 10-point score per finding, by severity; the score never goes below 0.
PENALTY = {"critical": 4.0, "high": 2.0, "medium": 1.0, "low": 0.25, "info": 0.0}


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def refute(finding: Finding, sources: dict[str, SourceFile]) -> str | None:
    """Why ``finding`` must be dropped, or None when it holds."""
    source = sources.get(finding.file)
    if source is None:
        return f"{finding.file} is not part of this review"
    lines = source.lines
    if finding.line_end > max(len(lines), 1):
        return f"{finding.file} has {len(lines)} lines; the finding points at {finding.line_start}-{finding.line_end}"
    actual = _norm("\n".join(lines[finding.line_start - 1 : finding.line_end]))
    quoted = _norm(finding.code)
    if not quoted:
        if actual:
            return "the finding quotes no code"
    elif quoted != actual and (len(quoted) < 3 or quoted not in actual):
        return f"the quoted code does not match line {finding.line_start} of {finding.file}"
    touched = set(range(finding.line_start, finding.line_end + 1))
    if source.changed is not None and finding.rule_id != "E999" and not source.changed & touched:
        return "the finding is outside the lines the diff adds"
    return None


def merge(intake: Intake, reported: list[dict[str, Any]]) -> tuple[list[Finding], list[dict[str, Any]]]:
    """(kept findings worst first, dropped findings with the reason)."""
    sources = {s.path: s for s in (*intake.files, *intake.tests)}
    kept: dict[tuple[str, int, int, str], Finding] = {}
    dropped: list[dict[str, Any]] = []
    candidates: list[Any] = [*intake.findings, *reported]
    for raw in candidates:
        try:
            finding = raw if isinstance(raw, Finding) else Finding.model_validate(raw)
        except ValidationError as exc:
            dropped.append({"finding": raw, "reason": f"breaks the finding schema: {exc.errors()[0]['msg']}"})
            continue
        reason = refute(finding, sources)
        if reason is not None:
            dropped.append({"finding": finding.model_dump(), "reason": reason})
            continue
        key = (finding.file, finding.line_start, finding.line_end, finding.rule_id)
        old = kept.get(key)
        if old is None or SEVERITY_RANK[finding.severity] < SEVERITY_RANK[old.severity]:
            kept[key] = finding
    ordered = sorted(
        kept.values(),
        key=lambda f: (
            SEVERITY_RANK[f.severity],
            CATEGORIES.index(f.category),
            f.file,
            f.line_start,
            f.rule_id,
        ),
    )
    return ordered, dropped


def score_of(findings: list[Finding]) -> int:
    """10 when nothing was found; any finding costs at least the tenth point."""
    if not findings:
        return 10
    return max(0, min(9, math.floor(10 - sum(PENALTY[f.severity] for f in findings))))


def summary_of(findings: list[Finding], files: int) -> str:
    if not findings:
        return f"No findings in {files} file(s): the specialists' tools and the tests found nothing to fix."
    by_sev: Counter[str] = Counter(f.severity for f in findings)
    by_cat = Counter(f.category for f in findings)
    sev = ", ".join(f"{by_sev[s]} {s}" for s in PENALTY if by_sev[s])
    cat = ", ".join(f"{n} {c}" for c, n in by_cat.most_common())
    worst = findings[0]
    return (
        f"{len(findings)} finding(s) in {files} file(s) ({sev}; {cat}). "
        f"Fix first: {worst.file}:{worst.line_start} {worst.rule_id} - {worst.why[:160]}"
    )
