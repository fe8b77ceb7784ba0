"""Secrets and personal data in the input: found on the original text, always masked.

These run on the original text (not the NFKC view) because normalisation would change
a key, and the mask must keep the real shape: first and last two characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["PII_RULES", "SECRET_RULES", "SecretRule", "mask", "redact", "scan_pii", "scan_secrets"]


@dataclass(frozen=True)
class SecretRule:
    rule: str
    pattern: re.Pattern[str]
    reason: str
    accept: Callable[[re.Match[str]], bool] | None = None


def mask(text: str) -> str:
    """Keep the shape, hide the value: first 2 and last 2 characters at most."""
    text = text.strip()
    if len(text) <= 6:
        return "*" * len(text)
    return f"{text[:2]}{'*' * min(12, len(text) - 4)}{text[-2:]}"


SECRET_RULES: tuple[SecretRule, ...] = (
    SecretRule("anthropic_key", re.compile(r"\bsk-ant-[A-Za-z0-9_-]{10,}"), "contains an Anthropic API key"),
    SecretRule(
        "openai_key", re.compile(r"\bsk-(?:proj-)?[A-Za-z0-9]{20,}"), "contains an OpenAI-style API key"
    ),
    SecretRule(
        "aws_access_key", re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), "contains an AWS access key id"
    ),
    SecretRule(
        "github_token",
        re.compile(r"\b(?:ghp|gho|ghs|ghu|github_pat)_[A-Za-z0-9_]{20,}"),
        "contains a GitHub token",
    ),
    SecretRule("slack_token", re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}"), "contains a Slack token"),
    SecretRule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), "contains a Google API key"),
    SecretRule("stripe_key", re.compile(r"\b(?:sk|rk)_live_[0-9A-Za-z]{16,}"), "contains a Stripe live key"),
    SecretRule(
        "private_key",
        re.compile(r"-----BEGIN (?:RSA |EC |OPENSSH |DSA |PGP |ENCRYPTED )?PRIVATE KEY(?: BLOCK)?-----"),
        "contains a private key",
    ),
    SecretRule(
        "jwt",
        re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        "contains a JSON web token",
    ),
    SecretRule(
        "url_credentials",
        re.compile(r"\b[a-z][a-z0-9+.-]{1,15}://[^\s:/@]{1,64}:[^\s/@]{3,64}@[\w.-]+"),
        "contains a URL with a password in it",
    ),
    SecretRule(
        "password_assignment",
        re.compile(
            r"\b(?:password|passwd|pwd|secret|api[_-]?key|token|access[_-]?key)\s*[:=]\s*['\"]?"
            r"(?!\s|\$\{|\{\{|<|os\.|process\.|env\b|getenv|None\b|null\b|\*{3,}|x{4,}|\.\.\.)[^\s'\"]{6,}",
            re.I,
        ),
        "contains a password or secret assignment",
    ),
)


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


PII_RULES: tuple[SecretRule, ...] = (
    SecretRule(
        "email",
        re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b"),
        "contains an email address",
    ),
    SecretRule(
        "credit_card", re.compile(r"\b(?:\d[ -]?){12,18}\d\b"), "contains a payment card number", _card
    ),
    SecretRule(
        "us_ssn",
        re.compile(r"\b(?!000|666|9\d\d)\d{3}-(?!00)\d{2}-(?!0000)\d{4}\b"),
        "contains a US social security number",
    ),
    SecretRule(
        "phone",
        # International (+CC ...), (area) 555-0100 or 555-555-0100: bare digit groups are too ambiguous.
        re.compile(
            r"(?<![\w.])\+\d{1,3}(?:[ .-]?\(?\d{1,4}\)?){1,2}(?:[ .-]?\d{2,4}){2,3}\b"
            r"|\(\d{3}\)\s?\d{3}-\d{4}\b|\b\d{3}-\d{3}-\d{4}\b"
        ),
        "contains a phone number",
    ),
    SecretRule(
        "iban",
        re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){3,7}(?: ?[A-Z0-9]{1,3})?\b"),
        "contains an IBAN",
    ),
)


def _scan(text: str, table: tuple[SecretRule, ...]) -> list[tuple[SecretRule, re.Match[str]]]:
    found = []
    for rule in table:
        for match in rule.pattern.finditer(text):
            if rule.accept is None or rule.accept(match):
                found.append((rule, match))
                break  # one finding per rule is enough to decide; redaction re-scans all matches
    return found


def scan_secrets(text: str) -> list[tuple[SecretRule, re.Match[str]]]:
    return _scan(text, SECRET_RULES)


def scan_pii(text: str) -> list[tuple[SecretRule, re.Match[str]]]:
    return _scan(text, PII_RULES)


def redact(text: str, tables: tuple[tuple[SecretRule, ...], ...] = (SECRET_RULES, PII_RULES)) -> str:
    """``text`` with every secret and PII match replaced by its mask."""
    for table in tables:
        for rule in table:

            def sub(match: re.Match[str], rule: SecretRule = rule) -> str:
                if rule.accept is not None and not rule.accept(match):
                    return match.group(0)
                return mask(match.group(0))

            text = rule.pattern.sub(sub, text)
    return text
