"""Guardrails on code: which comments and strings are instructions aimed at the reviewer.

``labkit.guardrails.check_input(text, agent="code-critic", kind="code")`` is the shared
guardrail; only its attack findings (the categories its compatibility map calls
``injection``: instruction override, prompt extraction, score manipulation, ...) matter here (a secret in code is bandit's
job, and the code is never forwarded anywhere but the configured model). Where that
module is not installed yet, the Prompt Reviewer's injection check is used.

Two reviewer-directed patterns are added because they are specific to code review:
an instruction that addresses the AI/reviewer and asks it to approve, pass or score,
and an ask for a perfect score ("rate this 10/10").
"""

from __future__ import annotations

import re

from labkit.guardrails import check_input

__all__ = ["AGENT", "REVIEWER_ATTACKS", "injection_reasons"]

AGENT = "code-critic"
# The shared categories that mean "the text is talking to the reviewer". Code legitimately
# mentions shells, secrets, URLs and configuration (code_execution, secret_exfiltration,
# data_exfiltration would flag half of all docstrings), and those are bandit's topic.
REVIEWER_ATTACKS = frozenset(
    {
        "instruction_override",
        "prompt_extraction",
        "output_hijack",
        "score_manipulation",
        "role_spoofing",
        "obfuscation",
    }
)
_REVIEWER = re.compile(
    r"\b(ai|llm|gpt|claude|reviewers?|critic|assistant|language model|bot)\b.{0,60}"
    r"\b(approve[sd]?|accept (this|it)|lgtm|report no|pass (this|it)|(score|rate|mark) (this|it))\b",
    re.I | re.S,
)
_PERFECT = re.compile(r"\b(give|rate|score|mark)\b.{0,30}\b10\s*/\s*10\b", re.I | re.S)


def _shared(text: str) -> list[str]:
    # record=False: a verdict per comment would flood the guardrail records; the critic
    # reports what it found as findings instead.
    verdict = check_input(text, agent=AGENT, kind="code", record=False)
    return [f.reason for f in verdict.findings if f.category in REVIEWER_ATTACKS]


def injection_reasons(text: str) -> list[str]:
    """Why ``text`` (a comment or string literal) is an instruction to the reviewer; [] if it is not."""
    if len(text) < 8:
        return []
    reasons = _shared(text)
    if _REVIEWER.search(text) and not reasons:
        reasons.append("addresses the reviewer and asks it to approve, pass or score the code")
    if _PERFECT.search(text) and not reasons:
        reasons.append("asks for a perfect score")
    return reasons
