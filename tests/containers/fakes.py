"""Fake credentials for the secret-scan tests."""

from __future__ import annotations

__all__ = ["fake_anthropic_key", "fake_aws_key_id"]


def fake_anthropic_key() -> str:
    # Assembled at run time so the repository never contains a key-shaped literal.
    return "sk-ant-" + "api03-" + "LABKITFAKE" + "0" * 84 + "AA"


def fake_aws_key_id() -> str:
    return "AKIA" + "LABKITFAKE234567"
