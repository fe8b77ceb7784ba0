"""Secret patterns: what a leaked credential looks like in an image's history or files.

Pure functions over bytes so the patterns are unit-tested without an engine. The values
reported are redacted: a scan report must not become the next leak.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["ALLOWLIST", "SECRET_PATTERNS", "SecretFinding", "redact", "scan_bytes"]

SECRET_PATTERNS: dict[str, re.Pattern[bytes]] = {
    "anthropic-api-key": re.compile(rb"sk-ant-(?:api|admin)\d{2}-[A-Za-z0-9_\-]{80,}"),
    "aws-access-key-id": re.compile(rb"(?<![A-Z0-9])(?:AKIA|ASIA|ABIA|ACCA)[A-Z2-7]{16}(?![A-Z0-9])"),
    "aws-secret-access-key": re.compile(
        rb"(?i:aws_secret_access_key|aws-secret-access-key|secretaccesskey)[\"']?\s*[:=]\s*[\"']?"
        rb"[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+])"
    ),
    "github-token": re.compile(rb"(?<![A-Za-z0-9_])gh[pousr]_[A-Za-z0-9]{36,255}(?![A-Za-z0-9])"),
    "github-fine-grained-token": re.compile(rb"github_pat_[A-Za-z0-9]{22}_[A-Za-z0-9]{59}"),
    "private-key": re.compile(
        rb"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"
    ),
}
# Values published in vendors' documentation as examples; they never grant access.
ALLOWLIST: frozenset[bytes] = frozenset({b"AKIAIOSFODNN7EXAMPLE", b"ASIAIOSFODNN7EXAMPLE"})
_COMBINED = re.compile(
    b"|".join(b"(?P<g%d>%s)" % (i, p.pattern) for i, p in enumerate(SECRET_PATTERNS.values()))
)
_KINDS = list(SECRET_PATTERNS)


@dataclass(frozen=True)
class SecretFinding:
    kind: str
    where: str  # "history step 3", "layer 2: /app/.env", "env", "label x"
    excerpt: str  # redacted
    note: str = ""


def redact(value: bytes) -> str:
    """Keep enough to recognise the key (its prefix), hide the rest."""
    text = value.decode("ascii", errors="replace")
    if text.startswith("-----BEGIN"):
        return text
    keep = 10 if text.startswith(("sk-ant-", "github_pat_")) else 4
    return text[:keep] + "*" * 8 + f" ({len(text)} chars)"


def scan_bytes(data: bytes, where: str, note: str = "") -> list[SecretFinding]:
    """Every secret-looking value in ``data``."""
    found: list[SecretFinding] = []
    for match in _COMBINED.finditer(data):
        value = match.group(0)
        if value in ALLOWLIST:
            continue
        kind = _KINDS[int(match.lastgroup[1:])] if match.lastgroup else "secret"
        found.append(SecretFinding(kind, where, redact(value), note))
    return found
