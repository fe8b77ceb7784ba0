"""The intent categories a finding can carry, each with the reason a learner reads.

A category names *what the input tries to do*, not which detector saw it: a fake
``<|im_start|>system`` turn and "ignore the above" both try to replace the
instructions, but they are caught by different layers, so the structure layer has
its own category (``role_spoofing``) and the reason says which trick was used.
"""

from __future__ import annotations

__all__ = [
    "ATTACK_CATEGORIES",
    "CATEGORIES",
    "LEGACY_CHECK",
    "describe",
]

# category -> what the input tries to do (the start of every reason in that category)
CATEGORIES: dict[str, str] = {
    "instruction_override": "tries to override or replace the model's instructions or role",
    "prompt_extraction": "tries to extract the system prompt or hidden instructions",
    "secret_exfiltration": "asks for secrets, credentials or the configuration",
    "data_exfiltration": "tries to send data to an external URL or address",
    "code_execution": "asks the model to execute code or shell commands",
    "output_hijack": "tries to dictate the output instead of the task's format",
    "score_manipulation": "tries to manipulate the score or the grading",
    "harmful": "requests harmful content (malware, weapons, fraud)",
    "role_spoofing": "spoofs chat roles, turns or delimiters",
    "obfuscation": "hides instructions behind an encoding or invisible characters",
    "secret": "contains a secret (key, token, password); masked",
    "pii": "contains personal data; masked",
    "length": "is outside the length limits",
    "classifier": "was flagged by the model-based classifier",
    "canary_leak": "leaks the system prompt's canary token",
    "schema": "does not match the expected output schema",
    "url": "links to a URL outside the allowed hosts",
    "error": "could not be checked (a detector failed), so it is blocked",
}

# Categories that count as attacks in the benchmark (the rest are hygiene checks).
ATTACK_CATEGORIES: tuple[str, ...] = (
    "instruction_override",
    "prompt_extraction",
    "secret_exfiltration",
    "data_exfiltration",
    "code_execution",
    "output_hijack",
    "score_manipulation",
    "harmful",
    "role_spoofing",
    "obfuscation",
)

# The Prompt Reviewer's original checks, which its compatibility layer still reports.
LEGACY_CHECK: dict[str, str] = {
    **{c: "injection" for c in ATTACK_CATEGORIES if c != "harmful"},
    "classifier": "injection",
    "harmful": "harmful",
    "secret": "secret",
    "pii": "pii",
    "length": "length",
    "error": "error",
}


def describe(category: str) -> str:
    """The reason text of a category; unknown categories are a programming error."""
    try:
        return CATEGORIES[category]
    except KeyError:
        raise ValueError(f"unknown guardrail category {category!r}; known: {', '.join(CATEGORIES)}") from None
