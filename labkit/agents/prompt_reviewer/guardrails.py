"""Input guardrails: length, prompt injection, harmful requests, secrets and PII.

Each check returns findings with a ``check`` name, a human ``reason`` and a masked
``excerpt`` (secrets and PII are never echoed in full, not even in the reason). Any
finding blocks the input: a prompt reviewer has no business forwarding a live key or
someone's card number to a model, and an injection attempt aimed at the reviewer
itself is exactly what the lesson teaches to stop.

The patterns are deliberately explicit regular expressions so learners can read,
test and extend them; the corpora in ``tests/llm/data`` pin their behaviour.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from labkit.llm.tokenizer import count_tokens

__all__ = ["Finding", "GuardrailConfig", "Verdict", "check_input", "mask"]


@dataclass(frozen=True)
class Finding:
    check: str  # length | injection | harmful | secret | pii
    rule: str
    reason: str
    excerpt: str

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


def mask(text: str) -> str:
    """Keep the shape, hide the value: first 2 and last 2 characters at most."""
    text = text.strip()
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:2]}{'*' * min(12, len(text) - 4)}{text[-2:]}"


_I = re.I | re.S
_INJECTION: list[tuple[str, re.Pattern[str], str]] = [
    (
        "ignore_instructions",
        re.compile(
            r"\b(ignore|disregard|forget|skip|override)\b.{0,40}\b(previous|prior|above|earlier|all|any|"
            r"your|the|system|original)\b.{0,30}\b(instructions?|prompts?|rules|directions|guidelines|"
            r"messages?|context)\b",
            _I,
        ),
        "asks the model to ignore its instructions",
    ),
    (
        "reveal_system_prompt",
        re.compile(
            r"\b(reveal|print|show|repeat|output|leak|display|dump|tell me|what (is|are))\b.{0,40}"
            r"\b(system prompt|hidden (prompt|instructions)|initial instructions|your (instructions|prompt|"
            r"rules)|developer (message|prompt))",
            _I,
        ),
        "tries to extract the system prompt",
    ),
    (
        "role_override",
        re.compile(
            r"\b(you are now|from now on,? you are|pretend (to be|you are)|act as)\b.{0,60}"
            r"\b(DAN|unfiltered|uncensored|jailbr\w*|no (rules|restrictions|limits|filters)|evil|"
            r"without (any )?(rules|restrictions|limits|filters))",
            _I,
        ),
        "tries to replace the model's role with an unrestricted one",
    ),
    (
        "jailbreak_terms",
        re.compile(
            r"\b(jailbreak|do anything now|developer mode|god mode|sudo mode|DAN mode|"
            r"unrestricted mode)\b",
            _I,
        ),
        "uses a known jailbreak phrase",
    ),
    (
        "bypass_safety",
        re.compile(
            r"\b(bypass|disable|turn off|circumvent|get around|evade)\b.{0,30}"
            r"\b(safety|filters?|guardrails?|content polic\w*|moderation|restrictions)\b",
            _I,
        ),
        "asks to bypass safety measures",
    ),
    (
        "fake_delimiters",
        re.compile(
            r"(</?prompt>|<\|im_(start|end)\|>|<\|system\|>|\[/?(system|INST)\]|^\s*#{2,}\s*system\b|"
            r"\n\s*(Human|Assistant|System)\s*:)",
            re.I | re.M,
        ),
        "contains chat-template or delimiter tokens that could hijack the conversation",
    ),
    (
        "new_instructions",
        re.compile(r"\b(new|updated|real|actual) (instructions|system prompt|task)\s*:", _I),
        "injects replacement instructions",
    ),
    (
        "encoded_payload",
        re.compile(r"\b(decode|base64|rot13|hex)\b.{0,40}\b(follow|execute|run|obey|do what it says)\b", _I),
        "asks to decode and obey a hidden payload",
    ),
]
_HARMFUL: list[tuple[str, re.Pattern[str], str]] = [
    (
        "malware",
        re.compile(
            r"\b(write|create|build|code|make|generate)\b.{0,40}\b(ransomware|keylogger|malware|"
            r"computer virus|trojan|botnet|rootkit|credential stealer|info ?stealer)\b",
            _I,
        ),
        "requests malicious software",
    ),
    (
        "weapons",
        re.compile(
            r"\b(make|build|synthesi[sz]e|assemble|instructions? (for|to))\b.{0,40}\b(bomb|explosive|"
            r"nerve agent|bioweapon|chemical weapon|pipe bomb|ghost gun)\b",
            _I,
        ),
        "requests weapons instructions",
    ),
    (
        "fraud",
        re.compile(
            r"\b(write|create|craft|draft)\b.{0,30}\b(phishing|scam)\b.{0,20}\b(email|message|sms|page|site)"
            r"|\b(steal|harvest|exfiltrate)\b.{0,30}\b(passwords?|credentials|credit cards?|identities)\b",
            _I,
        ),
        "requests fraud or credential theft",
    ),
]
_SECRETS: list[tuple[str, re.Pattern[str], str]] = [
    ("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}"), "contains an Anthropic API key"),
    ("openai_key", re.compile(r"\bsk-(proj-)?[A-Za-z0-9]{20,}"), "contains an OpenAI-style API key"),
    ("aws_access_key", re.compile(r"\b(AKIA|ASIA)[0-9A-Z]{16}\b"), "contains an AWS access key id"),
    (
        "github_token",
        re.compile(r"\b(ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"),
        "contains a GitHub token",
    ),
    ("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "contains a Slack token"),
    (
        "private_key",
        re.compile(r"-----BEGIN (RSA |EC |OPENSSH |DSA |PGP )?PRIVATE KEY( BLOCK)?-----"),
        "contains a private key",
    ),
    (
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        "contains a JSON web token",
    ),
    (
        "password_assignment",
        re.compile(r"\b(password|passwd|pwd|secret|api[_-]?key|token)\s*[:=]\s*['\"]?[^\s'\"]{6,}", re.I),
        "contains a password or secret assignment",
    ),
]


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _card(match: re.Match[str]) -> bool:
    digits = re.sub(r"\D", "", match.group(0))
    return 13 <= len(digits) <= 19 and _luhn_ok(digits)


_PII: list[tuple[str, re.Pattern[str], str, Callable[[re.Match[str]], bool] | None]] = [
    (
        "email",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
        "contains an email address",
        None,
    ),
    ("credit_card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "contains a payment card number", _card),
    (
        "us_ssn",
        re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
        "contains a US social security number",
        None,
    ),
    (
        "phone",
        # International (+CC ...), (area) 555-0100 or 555-555-0100: bare digit groups are too ambiguous.
        re.compile(
            r"(?<![\w.])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){1,2}(?:[ .-]?\d{2,4}){2,3}\b"
            r"|\(\d{3}\)\s?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b"
        ),
        "contains a phone number",
        None,
    ),
    (
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
        "contains an IBAN",
        None,
    ),
]


def _scan(
    text: str, check: str, rules: list[tuple[str, re.Pattern[str], str]], secret: bool
) -> list[Finding]:
    found = []
    for rule, pattern, reason in rules:
        match = pattern.search(text)
        if match:
            excerpt = mask(match.group(0)) if secret else match.group(0).strip()[:80]
            found.append(Finding(check, rule, f"{check}: the input {reason}", excerpt))
    return found


def check_input(prompt: object, config: GuardrailConfig | None = None) -> Verdict:
    """Run every configured check; the input is allowed only without findings."""
    config = config or GuardrailConfig()
    if not isinstance(prompt, str):
        finding = Finding(
            "length", "type", f"length: the input must be text, got {type(prompt).__name__}", ""
        )
        return Verdict(False, (finding,))
    findings: list[Finding] = []
    if "length" in config.checks:
        stripped = prompt.strip()
        if len(stripped) < config.min_chars:
            findings.append(
                Finding(
                    "length",
                    "too_short",
                    f"length: the input has {len(stripped)} characters, fewer than {config.min_chars}",
                    stripped[:20],
                )
            )
        elif len(prompt) > config.max_chars:
            findings.append(
                Finding(
                    "length",
                    "too_long",
                    f"length: the input has {len(prompt)} characters, more than {config.max_chars}",
                    prompt[:20],
                )
            )
        else:
            tokens = count_tokens(prompt)
            if tokens > config.max_tokens:
                findings.append(
                    Finding(
                        "length",
                        "too_many_tokens",
                        f"length: the input has ~{tokens} tokens, more than {config.max_tokens}",
                        prompt[:20],
                    )
                )
    if "injection" in config.checks:
        findings += _scan(prompt, "injection", _INJECTION, secret=False)
    if "harmful" in config.checks:
        findings += _scan(prompt, "harmful", _HARMFUL, secret=False)
    if "secret" in config.checks:
        findings += _scan(prompt, "secret", _SECRETS, secret=True)
    if "pii" in config.checks:
        for rule, pattern, reason, accept in _PII:
            for match in pattern.finditer(prompt):
                if accept is None or accept(match):
                    findings.append(Finding("pii", rule, f"pii: the input {reason}", mask(match.group(0))))
                    break
    return Verdict(not findings, tuple(findings))
