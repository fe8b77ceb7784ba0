"""German intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "de",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"\b(?:ignoriere|ignorieren|ignorier|vergiss|vergessen|missachte|missachten|übergehe|verwirf|"
            r"beachte nicht|befolge nicht mehr)\b.{0,40}\b(?:anweisungen|anweisung|instruktionen|regeln|vorgaben|"
            r"befehle|richtlinien|prompt|nachrichten|einschränkungen|alles (?:vorherige|bisherige|obige)|"
            r"das obige|was dir gesagt)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "ignore_instructions_v2",
            r"\b(?:alle|die|deine)\s+(?:vorherigen|bisherigen|obigen|vorigen)\s+(?:anweisungen|regeln|instruktionen|"
            r"vorgaben)\b.{0,30}\b(?:ignorieren|vergessen|gelten nicht|sind (?:ungültig|aufgehoben))",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"\b(?:du bist (?:jetzt|nun|ab sofort)|ab (?:jetzt|sofort) bist du|tu so,? als|verhalte dich wie|"
            r"spiele die rolle|agiere als)\b.{0,60}\b(?:ohne (?:einschränkungen|regeln|filter|grenzen|zensur|ethik)|"
            r"DAN|ungefiltert|entwicklermodus|unzensiert)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"\b(?:deaktiviere|umgehe|schalte|entferne|ignoriere)\b.{0,30}\b(?:filter|sicherheits\w*|"
            r"einschränkungen|richtlinien|zensur|schutzmaßnahmen)\b",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"\b(?:neue|echte|wirkliche|tatsächliche) (?:anweisungen|anweisung|regeln|aufgabe)\s*:",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"\b(?:zeige|zeig|gib|verrate|wiederhole|drucke|schreibe|nenne|was (?:ist|sind)|teile)\b.{0,40}\b"
            r"(?:(?:deinen|den|deine|die|ihren|ihre) (?:system-?prompt|systemnachricht|systemanweisungen?|"
            r"versteckten anweisungen|ursprünglichen anweisungen|anfänglichen anweisungen)|deine anweisungen|"
            r"system-?prompt)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"\b(?:wiederhole|kopiere|zeige|gib)\b.{0,30}\b(?:den text|die wörter|alles) (?:oben|darüber|von "
            r"anfang an|über dieser nachricht)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"\b(?:zeige|zeig|gib|verrate|nenne|drucke|sende|liste|was ist)\b.{0,40}\b(?:den |die |deinen |deine |"
            r"alle )?(?:api-?schlüssel|api[ _-]?key|passw(?:ö|oe)rter?|passwort|zugangsdaten|anmeldedaten|"
            r"tokens?|umgebungsvariablen?|konfiguration|geheimnisse?)\b",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"\b(?:gib|gebe|vergib|bewerte|setze)\b.{0,40}(?:10\s*/\s*10|10 von 10|(?:die |eine )?(?:höchste|"
            r"perfekte|maximale) (?:punktzahl|bewertung|note)|volle punktzahl|die bestnote)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"\b(?:bewertungs|benotungs)(?:schema|kriterien|regeln|system)\b.{0,20}\b(?:hat|haben|wurde|wurden)\s+"
            r"(?:sich )?(?:geändert|aktualisiert)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"\b(?:stattdessen|anstatt|statt zu|übersetze nicht|fasse nicht zusammen|bewerte nicht)\b.{0,60}\b"
            r"(?:sag|sage|schreibe|schreib|gib aus|antworte(?: mit)?|drucke)\b",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"\b(?:führe|starte)\b.{0,40}\b(?:befehl|code|skript|programm|abfrage)\b.{0,40}\b(?:aus|ab)\b.{0,40}"
            r"\b(?:zeige|gib|sag|nenne)\b",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"\b(?:sende|schicke|schick|übermittle|lade)\b.{0,60}\b(?:unterhaltung|verlauf|daten|nachrichten|"
            r"schlüssel|passwörter|prompt|chat)\b.{0,40}(?:https?://|\b[\w-]+\.(?:com|net|io|org|de)\b|server|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"\b(?:wie (?:baue|mache|stelle) ich|baue|bau|schreibe|erstelle|programmiere)\b.{0,40}\b(?:bombe|"
            r"sprengstoff|chemische waffe|ransomware|keylogger|schadsoftware|malware|napalm)\b",
            "requests harmful content",
        ),
    ],
)
