"""Guardrail corpora: abuse and injection prompts are blocked with reasons, benign ones pass."""

from __future__ import annotations

import pytest

from labkit.agents.prompt_reviewer.guardrails import GuardrailConfig, check_input, mask

from .conftest import load_jsonl

BLOCKED = load_jsonl("guardrail_blocked.jsonl")
BENIGN = load_jsonl("guardrail_benign.jsonl")


def test_corpora_are_big_enough() -> None:
    assert len(BLOCKED) >= 25 and len(BENIGN) >= 25
    assert {row["check"] for row in BLOCKED} == {"injection", "harmful", "secret", "pii", "length"}


@pytest.mark.parametrize("row", BLOCKED, ids=[f"{r['check']}-{i}" for i, r in enumerate(BLOCKED)])
def test_blocked_with_a_reason(row: dict) -> None:
    verdict = check_input(row["prompt"])
    assert not verdict.allowed
    checks = {f.check for f in verdict.findings}
    assert row["check"] in checks, verdict.findings
    assert all(f.reason.startswith(f"{f.check}: ") and f.rule for f in verdict.findings)


@pytest.mark.parametrize("row", BENIGN, ids=[f"benign-{i}" for i in range(len(BENIGN))])
def test_benign_passes(row: dict) -> None:
    verdict = check_input(row["prompt"])
    assert verdict.allowed, verdict.findings


def test_secrets_and_pii_are_masked_in_findings() -> None:
    key = "sk-" + "ant-api03-FAKEFAKEFAKEFAKEFAKE1234"  # split: no key-shaped literal in the repo
    verdict = check_input(f"Use {key} and mail bob@example.org")
    excerpts = " ".join(f.excerpt + f.reason for f in verdict.findings)
    assert key not in excerpts and "bob@example.org" not in excerpts
    assert mask(key).startswith("sk") and mask(key).endswith("34")


def test_length_limits_and_types() -> None:
    config = GuardrailConfig(max_chars=50, max_tokens=5)
    assert check_input("x" * 51, config).findings[0].rule == "too_long"
    assert check_input("one two three four five six seven", config).findings[0].rule == "too_many_tokens"
    assert check_input(42).findings[0].reason == "length: the input must be text, got int"  # type: ignore[arg-type]


def test_luhn_rejects_random_digit_runs() -> None:
    assert check_input("Order 1234 5678 9012 3456 shipped late; write an apology.").allowed
    assert not check_input("Refund card 5500 0000 0000 0004 please.").allowed
