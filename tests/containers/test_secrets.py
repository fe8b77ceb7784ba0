"""Secret patterns: each kind of key is found, redacted, and look-alikes are not."""

from __future__ import annotations

import pytest

from labkit.containers.secrets import SECRET_PATTERNS, redact, scan_bytes

from .fakes import fake_anthropic_key, fake_aws_key_id

GITHUB = "ghp_" + "LabkitFake" * 4
FINE_GRAINED = "github_pat_" + "A" * 22 + "_" + "b" * 59
PRIVATE = "-----BEGIN " + "OPENSSH PRIVATE KEY-----\nabc\n"
AWS_SECRET = "aws_secret_access_key = " + "wJalrXUtnFEMI/K7MDENG/bPxRfiCYLABKITFAKE"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        (f"export ANTHROPIC_API_KEY={fake_anthropic_key()}", "anthropic-api-key"),
        (f"key={fake_aws_key_id()}\n", "aws-access-key-id"),
        (AWS_SECRET, "aws-secret-access-key"),
        (f"token: {GITHUB}", "github-token"),
        (FINE_GRAINED, "github-fine-grained-token"),
        (PRIVATE, "private-key"),
    ],
)
def test_each_kind_is_found(text: str, kind: str) -> None:
    findings = scan_bytes(text.encode(), "somewhere")
    assert [f.kind for f in findings] == [kind]
    assert findings[0].where == "somewhere"


def test_every_pattern_has_a_case() -> None:
    assert set(SECRET_PATTERNS) == {
        "anthropic-api-key",
        "aws-access-key-id",
        "aws-secret-access-key",
        "github-token",
        "github-fine-grained-token",
        "private-key",
    }


@pytest.mark.parametrize(
    "text",
    [
        "AKIAIOSFODNN7EXAMPLE",  # AWS's documentation example, allow-listed
        "sk-ant-api03-short",  # too short to be a key
        "ghp_short",
        "-----BEGIN PUBLIC KEY-----",
        "-----BEGIN CERTIFICATE-----",
        "MAKIALABKITFAKE234567X",  # embedded in a longer token
        "print('hello world')",
    ],
)
def test_look_alikes_are_not_flagged(text: str) -> None:
    assert scan_bytes(text.encode(), "x") == []


def test_redaction_hides_the_secret_part() -> None:
    key = fake_anthropic_key()
    shown = redact(key.encode())
    assert shown.startswith("sk-ant-api")
    assert key[12:40] not in shown
    assert f"({len(key)} chars)" in shown
