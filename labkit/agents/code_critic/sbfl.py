"""Spectrum-based fault localisation: rank lines by how much failing tests prefer them.

Ochiai's score of a line ``s`` is ``ef / sqrt(F * (ef + ep))`` where ``ef``/``ep`` are
the failing/passing tests that execute ``s`` and ``F`` is the number of failing tests.
A line run only by failing tests scores 1; a line every test runs scores
``sqrt(F / T)``; a line no failing test runs scores 0 and is not ranked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Suspect", "ochiai"]


@dataclass(frozen=True)
class Suspect:
    file: str
    line: int
    score: float
    failed: int  # failing tests that run it
    passed: int  # passing tests that run it


def ochiai(coverage: Mapping[str, Mapping[str, set[int]]], outcomes: Mapping[str, bool]) -> list[Suspect]:
    """Suspicious lines, most suspicious first.

    ``coverage``: test id -> file -> lines it executed; ``outcomes``: test id -> passed.
    Ties keep file/line order so the ranking is deterministic.
    """
    failing = {t for t, ok in outcomes.items() if not ok}
    total_failed = len(failing)
    if total_failed == 0:
        return []
    counts: dict[tuple[str, int], list[int]] = {}
    for test, files in coverage.items():
        if test not in outcomes:
            continue
        slot = 0 if test in failing else 1
        for file, lines in files.items():
            for line in lines:
                counts.setdefault((file, line), [0, 0])[slot] += 1
    out = []
    for (file, line), (ef, ep) in counts.items():
        if ef == 0:
            continue
        out.append(Suspect(file, line, ef / math.sqrt(total_failed * (ef + ep)), ef, ep))
    out.sort(key=lambda s: (-round(s.score, 12), s.file, s.line))
    return out
