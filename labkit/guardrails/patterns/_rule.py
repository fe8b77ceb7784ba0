"""One pattern rule: a category, an id, a compiled expression and the specific reason."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["FLAGS", "Rule", "rules"]

FLAGS = re.I | re.S


@dataclass(frozen=True)
class Rule:
    category: str
    rule: str
    pattern: re.Pattern[str]
    reason: str  # what this rule saw, e.g. "asks to ignore the previous instructions"
    language: str = ""


def rules(language: str, table: list[tuple[str, str, str, str]]) -> list[Rule]:
    """Compile ``(category, rule, regex, reason)`` rows; rule ids get the language as prefix."""
    return [
        Rule(category, f"{language}.{rule}", re.compile(regex, FLAGS), reason, language)
        for category, rule, regex, reason in table
    ]
