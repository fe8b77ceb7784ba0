"""Portuguese intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "pt",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"\b(?:ignore|ignora|ignorar|ignorem|esqueça|esquece|esquecer|desconsidere|desconsidera|descarte|"
            r"não (?:siga|obedeça))\b.{0,40}\b(?:instruções|instrucoes|regras|diretrizes|ordens|orientações|prompt|"
            r"mensagens?|restrições|tudo (?:o que foi dito|acima|anterior)|o que (?:foi dito|te disseram))",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"\b(?:agora você é|a partir de agora(?:,)? você|finja (?:ser|que é)|aja como|atue como|comporte-se como)"
            r"\b.{0,60}\b(?:sem (?:restrições|regras|filtros|limites|censura|ética)|DAN|sem filtro|modo desenvolvedor)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"\b(?:desative|desativa|contorne|burle|ignore|remova)\b.{0,30}\b(?:filtros?|segurança|restrições|"
            r"políticas?|censura)\b",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"\b(?:novas|verdadeiras|reais) (?:instruções|ordens|regras)\s*:",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"\b(?:revele|revela|mostre|mostra|imprima|repita|diga|me diga|escreva|qual é|quais são|compartilhe|me dê)"
            r"\b.{0,40}\b(?:(?:seu|o|suas|as) (?:prompt|mensagem|instruções) (?:do sistema|iniciais|ocultas|"
            r"originais)|suas instruções|prompt do sistema|instruções (?:do sistema|ocultas|iniciais))",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"\b(?:repita|copie|imprima|mostre)\b.{0,30}\b(?:o texto|as palavras|tudo) (?:acima|anterior|desde o "
            r"início)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"\b(?:mostre|mostra|me dê|dê|revele|imprima|diga|envie|liste|qual é)\b.{0,40}\b(?:a |as |sua |suas |"
            r"o |os )?(?:chaves? (?:da |de )?api|api[ _-]?key|senhas?|credenciais|tokens? de acesso|variáveis? de "
            r"ambiente|configuração|segredos?)\b",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"\b(?:dê|dá|atribua|coloque|avalie com|pontue)\b.{0,40}(?:10\s*/\s*10|10 de 10|nota (?:máxima|perfeita|"
            r"10)|pontuação (?:máxima|perfeita))",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"\b(?:os critérios|o sistema|as regras) de (?:avaliação|pontuação)\b.{0,20}\b(?:mudou|mudaram|foi "
            r"alterado|foram alterad[oa]s)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"\b(?:em vez de|ao invés de|não (?:revise|avalie|traduza|resuma))\b.{0,60}\b(?:apenas |só |somente )?"
            r"(?:diga|escreva|imprima|responda(?: com)?|retorne)\b",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"\b(?:execute|executa|rode|roda)\b.{0,40}\b(?:comando|código|script|programa|consulta)\b.{0,60}\b"
            r"(?:mostre|diga|retorne|me dê|cole)\b",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"\b(?:envie|envia|mande|manda|publique|carregue)\b.{0,60}\b(?:conversa|histórico|dados|mensagens|"
            r"chaves?|senhas?|prompt)\b.{0,40}(?:https?://|\b[\w-]+\.(?:com|net|io|org|br)\b|servidor|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"\b(?:como (?:fazer|fabricar|construir|criar)|fabrique|construa|crie|escreva|programe)\b.{0,40}\b"
            r"(?:bomba|explosivos?|arma química|ransomware|keylogger|malware|vírus de computador|napalm)\b",
            "requests harmful content",
        ),
    ],
)
