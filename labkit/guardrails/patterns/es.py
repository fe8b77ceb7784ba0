"""Spanish intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "es",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"\b(?:ignora|ignore|ignorar|ignoren|olvida|olvide|olvidar|olvídate|descarta|omite|omitir|pasa por alto|"
            r"haz caso omiso|no (?:sigas|obedezcas|hagas caso))\b.{0,40}\b(?:instrucciones|indicaciones|reglas|"
            r"normas|órdenes|directrices|prompt|mensajes?|restricciones|lo anterior|todo lo anterior|lo que te dijeron)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"\b(?:ahora eres|a partir de ahora(?:,)? (?:eres|serás|actúa)|actúa como|finge (?:ser|que eres)|"
            r"compórtate como)\b.{0,60}\b(?:sin (?:restricciones|reglas|filtros|límites|censura|ética)|"
            r"DAN|sin filtro|modo desarrollador|libre de (?:reglas|restricciones))",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"\b(?:desactiva|elude|evita|salta|sáltate|ignora|quita|elimina)\b.{0,30}\b(?:filtros?|seguridad|"
            r"restricciones|políticas?|censura|salvaguardas)\b",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"\b(?:nuevas|verdaderas|reales) (?:instrucciones|órdenes|reglas)\s*:",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"\b(?:revela|muestra|muéstrame|imprime|repite|dime|escribe|copia|enséñame|cuál es|cuáles son|comparte|"
            r"dame)\b.{0,40}\b(?:(?:tu|el|las|tus) (?:prompt|mensaje|instrucciones) (?:del? sistema|iniciales|"
            r"ocultas|originales)|tus instrucciones|prompt del sistema|instrucciones (?:del sistema|ocultas|iniciales))",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"\b(?:repite|copia|imprime|muestra|escribe)\b.{0,30}\b(?:el texto|las palabras|todo|lo) (?:de )?"
            r"(?:arriba|anterior|que aparece arriba|desde el principio)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"\b(?:muestra|muéstrame|dame|revela|imprime|dime|envía|lista|cuál es)\b.{0,40}\b(?:la |las |tu |tus |"
            r"el |los )?(?:clave(?:s)? (?:de (?:la )?)?api|api[ _-]?key|contraseñas?|credenciales|tokens? de acceso|"
            r"variables? de entorno|configuración|secretos?)\b",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"\b(?:dale|da|pon|ponle|asigna|califica|puntúa|otorga)\b.{0,40}(?:10\s*/\s*10|10 de 10|(?:una )?"
            r"puntuación (?:perfecta|máxima)|la (?:nota|calificación|puntuación) (?:máxima|más alta)|nota perfecta|"
            r"un 10)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"\b(?:los criterios|el sistema|las reglas|el esquema) de (?:evaluación|calificación|puntuación)\b.{0,20}"
            r"\b(?:ha|han) cambiado",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"\b(?:en (?:lugar|vez) de|no (?:revises|evalúes|traduzcas|resumas|respondas))\b.{0,60}\b(?:solo |"
            r"solamente |simplemente )?(?:di|escribe|imprime|responde(?: con)?|devuelve)\b",
            "replaces the task's answer with dictated text",
        ),
        (
            "output_hijack",
            "respond_only",
            r"\bresponde (?:solo|solamente|únicamente) con\b.{0,20}[\"'“{]",
            "dictates the exact output",
        ),
        (
            "code_execution",
            "run_and_report",
            r"\b(?:ejecuta|corre|lanza)\b.{0,40}\b(?:comando|código|script|programa|consulta)\b.{0,60}\b(?:muestra|"
            r"dime|devuelve|enséñame|pega)\b",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"\b(?:envía|manda|sube|reenvía|publica)\b.{0,60}\b(?:conversación|historial|datos|mensajes|claves?|"
            r"contraseñas?|prompt)\b.{0,40}(?:https?://|\b[\w-]+\.(?:com|net|io|org)\b|servidor|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"\b(?:cómo (?:hacer|fabricar|construir|crear)|fabrica|construye|crea|escribe|programa)\b.{0,40}\b"
            r"(?:bomba|explosivos?|arma química|ransomware|keylogger|malware|virus informático|napalm|"
            r"metanfetamina)\b",
            "requests harmful content",
        ),
    ],
)
