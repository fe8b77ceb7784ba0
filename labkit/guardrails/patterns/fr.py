"""French intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "fr",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"\b(?:ignore|ignorez|ignorer|oublie|oubliez|oublier|néglige|négligez|ne tiens pas compte|ne tenez pas "
            r"compte|fais abstraction|faites abstraction|passe outre|passez outre|n'obéis plus|ne suis plus)\b.{0,40}"
            r"\b(?:instructions|consignes|règles|directives|ordres|prompt|messages?|restrictions|(?:tout )?ce qui "
            r"précède|ce qu'on t'a dit)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"\b(?:tu es (?:maintenant|désormais)|vous êtes (?:maintenant|désormais)|à partir de maintenant|"
            r"désormais,? tu|fais semblant d'être|agis comme|agissez comme|joue le rôle)\b.{0,60}\b(?:sans "
            r"(?:restrictions?|règles|filtres?|limites|censure|éthique)|DAN|non filtré|mode développeur|libéré)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"\b(?:désactive|désactivez|contourne|contournez|ignore|supprime|enlève)\b.{0,30}\b(?:filtres?|sécurité|"
            r"restrictions|politiques?|censure|garde-fous)\b",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"\b(?:nouvelles|vraies|véritables) (?:instructions|consignes|règles)\s*:",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"\b(?:révèle|révélez|montre|montrez|affiche|affichez|répète|répétez|imprime|dis-moi|dites-moi|donne-moi|"
            r"donnez-moi|écris|quel(?:le)?s? (?:est|sont))\b.{0,40}\b(?:(?:ton|votre|le|tes|vos|les) (?:prompt|"
            r"message|instructions?|consignes) (?:système|initiales?|cachées?|d'origine)|tes instructions|vos "
            r"instructions|prompt système|invite système)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"\b(?:répète|répétez|recopie|recopiez|affiche|imprime)\b.{0,30}\b(?:le texte|les mots|tout) "
            r"(?:ci-dessus|au-dessus|précédent|depuis le début)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"\b(?:montre|donne|révèle|affiche|imprime|dis|envoie|liste|quelle est)\b.{0,40}\b(?:la |les |ta |tes |"
            r"votre |vos )?(?:clés? (?:d'?)?api|api[ _-]?key|mots? de passe|identifiants|jetons? d'accès|"
            r"variables? d'environnement|configuration|secrets?)\b",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"\b(?:donne|donnez|mets|mettez|attribue|attribuez|note|notez)\b.{0,40}(?:10\s*/\s*10|10 sur 10|"
            r"(?:une |la )?note (?:parfaite|maximale)|le score maximal|un score parfait)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"\b(?:les critères|le barème|le système|les règles) (?:de notation|d'évaluation)\b.{0,20}\b(?:a|ont) "
            r"changé",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"\b(?:au lieu de|plutôt que de|ne (?:traduis|résume|évalue|réponds) pas)\b.{0,60}\b(?:dis|écris|"
            r"affiche|réponds(?: par)?|imprime)\b",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"\b(?:exécute|exécutez|lance|lancez)\b.{0,40}\b(?:commande|code|script|programme|requête)\b.{0,60}\b"
            r"(?:montre|donne|affiche|renvoie|dis)\b",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"\b(?:envoie|envoyez|transmets|transmettez|publie|téléverse)\b.{0,60}\b(?:conversation|historique|"
            r"données|messages|clés?|mots de passe|prompt)\b.{0,40}(?:https?://|\b[\w-]+\.(?:com|net|io|org|fr)\b|"
            r"serveur|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"\b(?:comment (?:fabriquer|faire|construire)|fabrique|construis|écris|crée|code)\b.{0,40}\b(?:bombe|"
            r"explosifs?|arme chimique|rançongiciel|ransomware|keylogger|enregistreur de frappe|logiciel malveillant|"
            r"napalm)\b",
            "requests harmful content",
        ),
    ],
)
