"""The detector layers. Each takes the normalised input and the policy and returns findings.

Layers are plain functions in a fixed order (cheap and decisive first); :mod:`decide`
runs each under a guard so that one that raises blocks the input instead of passing it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from labkit.guardrails._types import Action, Finding
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
    "quoted_printable": "in quoted-printable text",
}
# Scripts a language's patterns need before they are worth running (most inputs are Latin).
# For the Latin-script languages the gate is the union of the words their rules start from:
# a text with none of them cannot match any of that language's rules. The gates are a
# speed-up only; tests/guardrails check that every corpus case still matches with them.
_SCRIPT_GATE = {
    "ru": re.compile(r"[\u0400-\u04ff]"),
    "zh": re.compile(r"[\u4e00-\u9fff]"),
    "ja": re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]"),
    "ko": re.compile(r"[\uac00-\ud7af\u1100-\u11ff]"),
    "es": re.compile(
        r"ignor|olvid|descart|omit|pasa por alto|caso omiso|no (?:sigas|obedezcas|hagas)|ahora|actúa|finge|"
        r"compórtate|desactiv|elud|evita|salta|quita|elimin|nuevas|verdaderas|reales|revel|muestr|imprim|repit|"
        r"dime|escrib|copia|enséñ|cuál|comparte|dame|env[ií]a|lista|dale|\bda\b|pon|asign|califica|puntú|otorga|"
        r"criterios|sistema|reglas|esquema|en (?:lugar|vez)|responde|ejecut|corre|lanza|manda|sube|reenv|"
        r"publica|cómo|fabrica|construye|crea|programa",
        re.I,
    ),
    "fr": re.compile(
        r"ignor|oubli|néglig|tiens pas|tenez pas|abstraction|outre|n'obéis|ne suis|tu es|vous êtes|à partir|"
        r"désormais|semblant|agis|joue|désactiv|contourn|supprim|enlève|nouvelles|vraies|véritables|révél|montr|répè|"
        r"affich|répét|imprim|dis-moi|dites-moi|donne|écri|quel|recopi|envoie|liste|mets|attribu|note|critères|"
        r"barème|système|règles|au lieu|plutôt|ne (?:traduis|résume|évalue|réponds)|exécut|lance|transmet|"
        r"publie|téléverse|comment|fabriqu|construi|crée|code",
        re.I,
    ),
    "de": re.compile(
        r"ignorier|vergiss|vergessen|missacht|übergeh|verwirf|beachte|befolge|alle|die|deine|du bist|"
        r"ab jetzt|ab sofort|tu so|verhalte|spiele|agiere|deaktivier|umgeh|schalte|entfern|neue|echte|"
        r"wirkliche|tatsächliche|zeig|gib|gebe|verrat|wiederhol|druck|schreib|nenne|was ist|was sind|teile|"
        r"kopier|sende|"
        r"liste|vergib|bewerte|setze|bewertungs|benotungs|stattdessen|anstatt|statt|übersetze|fasse|führe|"
        r"starte|schick|übermittle|lade|wie|bau|erstelle|programmier",
        re.I,
    ),
    "pt": re.compile(
        r"ignor|esqueç|esquec|desconsider|descart|não (?:siga|obedeça)|agora|finja|aja|atue|comporte|desativ|"
        r"contorn|burle|remova|novas|verdadeiras|reais|revel|mostr|imprim|repit|diga|escreva|qual|quais|"
        r"compartilh|me dê|\bdê\b|\bdá\b|copie|envi|liste|atribua|coloque|avalie|pontue|critérios|sistema|"
        r"regras|em vez|ao invés|execut|rode|roda|mande|manda|publique|carregue|como|fabrique|construa|crie|"
        r"programe",
        re.I,
    ),
}
# Non-English rules run on the base view only: look-alike, leetspeak and decoded views are
# where English payloads hide, and scanning them with every table is most of the cost.
_BASE_ONLY_VIEWS = frozenset({"text"})
_OPAQUE = frozenset({"base64", "base32", "hex", "morse", "braille", "nato", "quoted_printable"})
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
        gated = (
            {lang: bool(g.search(view.text)) for lang, g in _SCRIPT_GATE.items()}
            if view.name in _BASE_ONLY_VIEWS
            else {}
        )
        for rule in rules:
            if rule.rule in found or rule.category in policy.disabled or rule.rule in policy.skip_rules:
                continue
            if rule.language not in ("", "en") and (
                view.name not in _BASE_ONLY_VIEWS or (rule.language in gated and not gated[rule.language])
            ):
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
    # rot13 and URL-decoding turn any text into "natural language", so they only count when a
    # pattern matched their view (the pattern layer); real encodings count on their own.
    decoded = [v for v in norm.decoded() if v.name in _OPAQUE]
    if not decoded or policy.kind != "prompt":
        return out
    # A prompt that asks to decode a natural-language payload, or is mostly one, smuggles
    # instructions past anyone reading it; a reviewer has no reason to decode it.
    share = norm.encoded_chars / max(1, len(norm.text.strip()))
    words = max((len(v.text.split()) for v in decoded), default=0)
    if (words >= 3 and (_DECODE_ASK.search(norm.text) or share >= 0.3)) or share >= 0.6:
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
    action: Action = "block" if handling == "block" else "redact"
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
