"""The detector layers. Each takes the normalised input and the policy and returns findings.

Layers are plain functions in a fixed order (cheap and decisive first); :mod:`decide`
runs each under a guard so that one that raises blocks the input instead of passing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labkit.guardrails._types import Finding
from labkit.guardrails.normalise import Normalised
from labkit.guardrails.patterns import ALL_RULES, Rule
from labkit.guardrails.policy import GuardrailPolicy
from labkit.guardrails.secrets import mask, redact, scan_pii, scan_secrets
from labkit.guardrails.structure import structure_rules

__all__ = ["layer_obfuscation", "layer_patterns", "layer_pii", "layer_secrets", "layer_structure"]

_STRUCTURE = {kind: structure_rules(kind) for kind in ("prompt", "code", "document")}
_VIEW_PHRASE = {
    "homoglyphs": "after mapping look-alike characters",
    "leetspeak": "after undoing leetspeak",
    "spaced": "after joining spaced-out letters",
    "tags": "in invisible Unicode tag characters",
    "base64": "in a base64-encoded payload",
    "base32": "in a base32-encoded payload",
    "hex": "in a hex-encoded payload",
    "url": "in URL-encoded text",
    "rot13": "in rot13-encoded text",
    "morse": "in Morse code",
    "braille": "in Braille",
    "nato": "in NATO-alphabet spelling",
}
# Scripts a language's patterns need before they are worth running (most inputs are Latin).
_SCRIPT_GATE = {
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"),
}
_DECODE_ASK = re.compile(
    r"\b(?:decod\w*|decrypt\w*|decipher\w*|encod\w*|base ?64|base ?32|hex(?:adecimal)?|rot-?13|morse|braille|"
    r"nato|cipher|ascii85|what does (?:this|it) (?:mean|say)|translate (?:this|it|from)|read this|"
    r"interpret)\b|[:：]\s*$",
    re.I | re.M,
)


def _excerpt(text: str, match: re.Match[str]) -> str:
    # Secrets never appear in an excerpt, not even inside an injection match.
    return redact(match.group(0).strip())[:80]


def _reason(rule: Rule, view: str) -> str:
    where = f" ({_VIEW_PHRASE[view]})" if view in _VIEW_PHRASE else ""
    lang = f" [{rule.language}]" if rule.language and rule.language != "en" else ""
    return f"{rule.category}: the input {rule.reason}{where}{lang}"


def _run_rules(norm: Normalised, rules: Iterable[Rule], policy: GuardrailPolicy) -> list[Finding]:
    found: dict[str, Finding] = {}
    english: set[tuple[str, str]] = set()  # (category, view) already explained by an English rule
    for view in norm.views:
        gated = {lang: bool(g.search(view.text)) for lang, g in _SCRIPT_GATE.items()}
        for rule in rules:
            if rule.rule in found or rule.category in policy.disabled:
                continue
            if rule.language in gated and not gated[rule.language]:
                continue
            # "ignore ... instructions" is French too; one reason per category and view is enough.
            if rule.language not in ("", "en") and (rule.category, view.name) in english:
                continue
            match = rule.pattern.search(view.text)
            if match:
                layer = "structure" if rule.rule.startswith("structure.") else "pattern"
                found[rule.rule] = Finding(
                    rule.category,
                    rule.rule,
                    _reason(rule, view.name),
                    _excerpt(view.text, match),
                    layer=layer,
                    view=view.name,
                    language=rule.language,
                )
                if rule.language == "en":
                    english.add((rule.category, view.name))
    return list(found.values())


def layer_structure(norm: Normalised, policy: GuardrailPolicy) -> list[Finding]:
    return _run_rules(norm, _STRUCTURE.get(policy.kind, _STRUCTURE["prompt"]), policy)


def layer_patterns(norm: Normalised, policy: GuardrailPolicy) -> list[Finding]:
    return _run_rules(norm, ALL_RULES, policy)


def layer_obfuscation(norm: Normalised, policy: GuardrailPolicy) -> list[Finding]:
    """Hidden content that matched nothing on its own: smuggled tag text, decode-me payloads."""
    if "obfuscation" in policy.disabled:
        return []
    out: list[Finding] = []
    for view in norm.views:
        if view.name == "tags" and len(view.text.strip()) >= 4:
            out.append(
                Finding(
                    "obfuscation",
                    "normalise.tag_smuggling",
                    "obfuscation: the input hides text in invisible Unicode tag characters",
                    view.text.strip()[:80],
                    layer="normalise",
                    view="tags",
                )
            )
            break
    decoded = [v for v in norm.decoded() if v.name != "tags"]
    if not decoded or policy.kind != "prompt":
        return out
    # A prompt that asks to decode a natural-language payload, or is mostly one, smuggles
    # instructions past anyone reading it; a reviewer has no reason to decode it.
    hidden = sum(len(v.text) for v in decoded)
    words = max((len(v.text.split()) for v in decoded), default=0)
    if words >= 3 and (_DECODE_ASK.search(norm.text) or hidden >= 0.4 * max(1, len(norm.text))):
        names = ", ".join(sorted({v.name for v in decoded}))
        out.append(
            Finding(
                "obfuscation",
                "normalise.encoded_payload",
                f"obfuscation: the input carries an encoded natural-language payload ({names}) to be decoded",
                decoded[0].text.strip()[:80],
                layer="normalise",
                view=decoded[0].name,
            )
        )
    return out


def _hits(kind: str, hits: list, handling: str) -> list[Finding]:  # type: ignore[type-arg]
    action = "block" if handling == "block" else "redact"
    return [
        Finding(
            kind,
            rule.rule,
            f"{kind}: the input {rule.reason}" + ("" if action == "block" else " (masked)"),
            mask(match.group(0)),
            layer="secrets",
            action=action,
        )
        for rule, match in hits
    ]


def layer_secrets(norm: Normalised, policy: GuardrailPolicy) -> list[Finding]:
    if policy.secrets == "ignore" or "secret" in policy.disabled:
        return []
    return _hits("secret", scan_secrets(norm.original), policy.secrets)


def layer_pii(norm: Normalised, policy: GuardrailPolicy) -> list[Finding]:
    if policy.pii == "ignore" or "pii" in policy.disabled:
        return []
    return _hits("pii", scan_pii(norm.original), policy.pii)
