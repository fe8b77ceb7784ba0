"""Structure: text that imitates the conversation's own scaffolding.

An agent wraps untrusted text in tags (``<prompt>...</prompt>``, ``<document>``) and the
model sees system/user/assistant turns. Input that closes the wrapper, opens a fake
turn or prints a chat-template token tries to step out of the data and into the
instructions, whatever language the rest is in. Which wrapper tags count depends on
the kind of input: ``</code>`` closes nothing in a prompt review, but HTML in a
document under retrieval legitimately contains ``<code>`` and ``<input>``.
"""

from __future__ import annotations

import re

from labkit.guardrails.patterns._rule import Rule

__all__ = ["WRAPPER_TAGS", "structure_rules"]

_M = re.I | re.M

# Role names no input has a reason to write as a tag, and the tags each kind of agent wraps
# its untrusted input in. Prompt-writing advice recommends <context>, <task>, <instructions>,
# so those stay allowed: a reviewer must be able to review a well-structured prompt.
_ROLE_TAGS = ("system", "system_prompt", "assistant", "human", "admin", "developer", "sys")
WRAPPER_TAGS: dict[str, tuple[str, ...]] = {
    "prompt": ("prompt", "user_input", "user_prompt", "untrusted", "untrusted_input"),
    "code": ("code_under_review", "untrusted", "untrusted_input", "user_input"),
    "document": ("document", "documents", "retrieved", "search_results?", "untrusted", "untrusted_input"),
}

_COMMON: list[tuple[str, str, str]] = [
    (
        "chat_template_tokens",
        r"<\|(?:im_start|im_end|im_sep|system|user|assistant|endoftext|eot_id|start_header_id|end_header_id|"
        r"begin_of_text|end_of_text|fim_\w+|channel|message|start|end|return|constrain)\|>|"
        r"\[/?INST\]|<</?SYS>>|<start_of_turn>|<end_of_turn>|\[/?SYSTEM_PROMPT\]|<\|?\s*(?:system|assistant)"
        r"\s*\|>",
        "contains chat-template tokens that could open a new turn",
    ),
    (
        "fake_turn",
        r"(?:^|\n)\s*(?:#{1,4}\s*)?(?:Human|Assistant|System|SYSTEM|Claude|ChatGPT|GPT-?4|AI Assistant|"
        r"Developer|Admin)\s*:\s*\S",
        "contains a fake conversation turn (Human:/Assistant:/System:)",
    ),
    (
        "fake_system_note",
        r"(?:^|[\n\[(*])\s*(?:\*\*)?\s*(?:system|admin|administrator|developer|root|operator|security|openai|"
        r"anthropic)\s+(?:override|message|note|notice|update|prompt|instruction|command|alert|directive|"
        r"announcement)s?\s*(?:\*\*)?\s*[:\]\-—]",
        "imitates a system or administrator message",
    ),
    (
        "bracket_role",
        r"\[\s*(?:system|admin|developer|assistant|instructions?|sys|root|operator)\s*(?:message|note|prompt)?\s*\]"
        r"(?:\s*\(#\w+\))?",
        "contains a bracketed role marker like [system]",
    ),
    (
        "json_role",
        r"[{,]\s*[\"']role[\"']\s*:\s*[\"'](?:system|assistant|developer)[\"']",
        "contains a JSON chat message with a privileged role",
    ),
    (
        "delimiter_spoof",
        r"(?:[-=#*_~]{3,}|```|\"\"\")\s*(?:end|begin|start|stop|close)\s*(?:of\s+)?(?:the\s+)?(?:user\s+|system\s+|"
        r"original\s+)?(?:input|prompt|document|instructions?|system(?: prompt)?|context|message|data|text|"
        r"conversation|user|untrusted|content)\b|\b(?:end|close) of (?:the )?(?:user |untrusted |original )?"
        r"(?:input|prompt|document|instructions?|system prompt|context|user message)\b.{0,60}\b(?:new|now|"
        r"system|instructions?|begin|start)\b",
        "spoofs a delimiter to end the data section",
    ),
    (
        "fence_role",
        r"```\s*(?:system|assistant|instructions?|prompt)\s*\n",
        "opens a code fence labelled as a system or assistant block",
    ),
    (
        "separator_then_override",
        r"(?:\n\s*[-=*#_]{5,}\s*){2,}.{0,40}\b(?:ignore|disregard|forget|new instructions?|now|instead|"
        r"system|override|important|attention)\b",
        "uses separator lines to start a new instruction block",
    ),
]


def structure_rules(kind: str) -> list[Rule]:
    """The structure rules for inputs of ``kind`` (prompt | code | document)."""
    tags = "|".join(_ROLE_TAGS + WRAPPER_TAGS.get(kind, WRAPPER_TAGS["prompt"]))
    table = [
        *_COMMON,
        (
            "wrapper_tag",
            rf"</?\s*(?:{tags})\s*>",
            "opens or closes the tags that wrap untrusted input",
        ),
    ]
    return [
        Rule("role_spoofing", f"structure.{rule}", re.compile(regex, _M), reason, "")
        for rule, regex, reason in table
    ]
