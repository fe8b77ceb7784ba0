"""The Prompt Reviewer's guardrail API, now a thin layer over :mod:`labkit.guardrails`.

Kept for the notebooks and tests written against it: findings carry the original
``check`` names (length | injection | harmful | secret | pii | error) beside the shared
layer's ``category``, reasons start with the check, and ``GuardrailConfig`` maps onto a
:class:`labkit.guardrails.GuardrailPolicy`. Every detector lives in the shared package;
nothing here decides anything on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit import guardrails as shared
from labkit.guardrails import LEGACY_CHECK, GuardrailPolicy, mask, policy_for

__all__ = [
    "AGENT",
    "Finding",
    "GuardrailConfig",
    "Verdict",
    "check_input",
    "from_shared",
    "mask",
    "to_policy",
]

AGENT = "prompt_reviewer"


@dataclass(frozen=True)
class Finding:
    check: str  # length | injection | harmful | secret | pii | error
    rule: str
    reason: str
    excerpt: str
    category: str = ""  # the shared layer's category (instruction_override, prompt_extraction, ...)

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    findings: tuple[Finding, ...] = ()

    @property
    def reasons(self) -> list[str]:
        return [f.reason for f in self.findings]

    def as_dict(self) -> dict[str, object]:
        return {"allowed": self.allowed, "findings": [f.as_dict() for f in self.findings]}


@dataclass(frozen=True)
class GuardrailConfig:
    min_chars: int = 3
    max_chars: int = 8000
    max_tokens: int = 2000
    checks: tuple[str, ...] = field(default=("length", "injection", "harmful", "secret", "pii"))


def to_policy(config: GuardrailConfig | None = None) -> GuardrailPolicy:
    """The shared policy that enforces ``config`` (checks left out become disabled categories)."""
    config = config or GuardrailConfig()
    disabled = {category for category, check in LEGACY_CHECK.items() if check not in config.checks}
    disabled.discard("error")  # failing closed is not optional
    return policy_for(
        "prompt",
        min_chars=config.min_chars,
        max_chars=config.max_chars,
        max_tokens=config.max_tokens,
        disabled=frozenset(disabled),
    )


def from_shared(verdict: shared.Verdict) -> Verdict:
    """The legacy view of a shared verdict."""
    findings = []
    for f in verdict.findings:
        check = LEGACY_CHECK.get(f.category, "injection")
        detail = f.reason.split(": ", 1)[1] if ": " in f.reason else f.reason
        findings.append(Finding(check, f.rule, f"{check}: {detail}", f.excerpt, f.category))
    return Verdict(verdict.allowed, tuple(findings))


def check_input(prompt: object, config: GuardrailConfig | None = None, *, record: bool = False) -> Verdict:
    """Run every configured check; the input is allowed only without findings.

    ``record=False`` by default: the graph records its own verdicts, and a notebook cell
    trying prompts out should not add guardrail events to the agent's logs.
    """
    return from_shared(
        shared.check_input(prompt, agent=AGENT, kind="prompt", policy=to_policy(config), record=record)
    )
