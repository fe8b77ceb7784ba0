"""The result types every layer shares: a finding says what, why and where (masked); a verdict decides."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["Action", "Finding", "Kind", "Verdict"]

Kind = Literal["prompt", "code", "document"]
# block: the input must not reach the model. redact: it may go on with the excerpt masked
# (a secret inside a document under review is worth flagging, not worth refusing the document).
Action = Literal["block", "redact"]


@dataclass(frozen=True)
class Finding:
    """One detector hit. ``excerpt`` never holds a secret or PII in clear."""

    category: str
    rule: str
    reason: str
    excerpt: str
    layer: str = "pattern"  # normalise | pattern | structure | secrets | length | classifier | output | error
    view: str = "text"  # which normalised view matched: text, homoglyphs, leetspeak, base64, ...
    language: str = ""  # the pattern's language, when it is language specific
    action: Action = "block"

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    """The decision on one input (or output). ``allowed`` is False as soon as one finding blocks."""

    allowed: bool
    findings: tuple[Finding, ...] = ()
    agent: str = ""
    kind: str = "prompt"
    redacted: str | None = None  # the text with secrets/PII masked, when something was redacted
    elapsed_ms: float = 0.0
    notes: tuple[str, ...] = field(default=())  # what normalisation saw (mixed scripts, invalid UTF-8 ...)

    @property
    def categories(self) -> list[str]:
        """Distinct categories of the blocking findings, in order of appearance."""
        seen: list[str] = []
        for f in self.findings:
            if f.action == "block" and f.category not in seen:
                seen.append(f.category)
        return seen

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.action == "block"]

    def as_dict(self) -> dict[str, object]:
        return {
            "allowed": self.allowed,
            "agent": self.agent,
            "kind": self.kind,
            "categories": self.categories,
            "findings": [f.as_dict() for f in self.findings],
            "notes": list(self.notes),
        }
