"""What a check enforces for one kind of input: limits, what blocks and what is only masked."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, cast

from labkit.guardrails._types import Finding
from labkit.guardrails.normalise import Normalised

__all__ = ["CODE_SKIP_RULES", "DEFAULT_LIMITS", "Detector", "GuardrailPolicy", "policy_for"]

# A custom detector gets the normalised input and returns findings (or None). It is a
# layer like the built-in ones: if it raises, the check blocks with category ``error``.
Detector = Callable[[Normalised], Iterable[Finding] | Finding | None]
Handling = Literal["block", "redact", "ignore"]

# Code under review is data, not a request: `os.environ["KEY"]`, a reverse shell in a
# malware sample or `DELETE FROM` in a migration are what the critic must read, not attacks
# on it. Injections aimed at the model (comments with instructions, fake turns) still count.
CODE_SKIP_RULES: frozenset[str] = frozenset(
    {
        "en.env_commands",
        "en.curl_exfil",
        "en.reverse_shell",
        "en.sql_injection",
        "en.template_injection",
        "en.execute_command",
    }
)

# kind -> (min_chars, max_chars, max_tokens). A prompt under review is short; code and
# retrieved documents are longer, and their token budget is the agent's business.
DEFAULT_LIMITS: dict[str, tuple[int, int, int | None]] = {
    "prompt": (3, 8_000, 2_000),
    "code": (1, 60_000, None),
    "document": (1, 100_000, None),
}


@dataclass(frozen=True)
class GuardrailPolicy:
    kind: str = "prompt"
    min_chars: int = 3
    max_chars: int = 8_000
    max_tokens: int | None = 2_000
    # Secrets and PII in a prompt are refused: a reviewer has no business forwarding them.
    # In code or a document they are masked and reported, and the text may go on redacted.
    secrets: Handling = "block"
    pii: Handling = "block"
    disabled: frozenset[str] = frozenset()  # categories to skip, e.g. {"pii"}
    skip_rules: frozenset[str] = frozenset()  # rule ids to skip (see CODE_SKIP_RULES)
    detectors: tuple[Detector, ...] = field(default=())
    classifier: bool = False  # the model-based layer; live backend only, off by default

    def with_detectors(self, *detectors: Detector) -> GuardrailPolicy:
        from dataclasses import replace

        return replace(self, detectors=(*self.detectors, *detectors))


def policy_for(kind: str, **overrides: object) -> GuardrailPolicy:
    """The default policy of ``kind`` (prompt | code | document), with overrides."""
    if kind not in DEFAULT_LIMITS:
        raise ValueError(f"kind must be one of {', '.join(DEFAULT_LIMITS)}; got {kind!r}")
    min_chars, max_chars, max_tokens = DEFAULT_LIMITS[kind]
    handling: Handling = "block" if kind == "prompt" else "redact"
    base: dict[str, object] = {
        "kind": kind,
        "min_chars": min_chars,
        "max_chars": max_chars,
        "max_tokens": max_tokens,
        "secrets": handling,
        "pii": handling,
        "skip_rules": CODE_SKIP_RULES if kind == "code" else frozenset(),
    }
    unknown = set(overrides) - set(GuardrailPolicy.__dataclass_fields__)
    if unknown:
        raise ValueError(f"unknown guardrail policy field(s): {', '.join(sorted(unknown))}")
    base.update(overrides)
    for name in ("disabled", "skip_rules"):
        value = base.get(name, frozenset())
        if not isinstance(value, frozenset):
            base[name] = frozenset(cast("Iterable[str]", value))
    return GuardrailPolicy(**base)  # type: ignore[arg-type]
