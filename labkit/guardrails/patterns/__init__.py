"""Intent patterns by language; :data:`ALL_RULES` is every table in one list.

Adding a language is adding a module with a ``RULES`` list and naming it in
:data:`LANGUAGES`; the benchmark then reports it as a column of its own.
"""

from __future__ import annotations

from labkit.guardrails.patterns import de, en, es, fr, ja, ko, pt, ru, zh
from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["ALL_RULES", "LANGUAGES", "Rule", "rules"]

LANGUAGES: tuple[str, ...] = ("en", "es", "fr", "de", "pt", "ru", "zh", "ja", "ko")
ALL_RULES: tuple[Rule, ...] = tuple(
    rule for module in (en, es, fr, de, pt, ru, zh, ja, ko) for rule in module.RULES
)
