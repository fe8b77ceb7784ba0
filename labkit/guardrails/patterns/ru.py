"""Russian intent patterns (Cyrillic is matched on the base view; look-alike mapping is a separate view)."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "ru",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"(?:игнорируй|игнорируйте|проигнорируй|забудь|забудьте|не обращай внимания на|не слушай|отбрось|"
            r"пренебреги|отмени)\w*.{0,40}(?:инструкци|указани|правил|предыдущ|вышесказанн|все что|всё что|"
            r"ограничени|промпт|директив)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"(?:теперь ты|отныне ты|с этого момента ты|притворись|веди себя как|действуй как|представь,? что ты)"
            r".{0,60}(?:без (?:ограничений|правил|фильтров|цензуры)|DAN|режим разработчика|свободн)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"(?:отключи|обойди|сними|убери|игнорируй)\w*.{0,30}(?:фильтр|безопасност|ограничени|цензур|защит)",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"(?:новые|настоящие|реальные) (?:инструкции|указания|правила)\s*:",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"(?:покажи|раскрой|выведи|повтори|напиши|скажи|какой|какие|перечисли|дай|распечатай)\w*.{0,40}"
            r"(?:системн\w* (?:промпт|подсказк|сообщени|инструкци)|(?:свои|твои|ваши|исходные|скрытые|начальные) "
            r"(?:инструкции|указания|правила)|свой промпт|твой промпт)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"(?:повтори|скопируй|выведи|покажи)\w*.{0,30}(?:текст|слова|всё|все)\s+(?:выше|сверху|с самого начала)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"(?:покажи|дай|раскрой|выведи|скажи|отправь|перечисли|какой)\w*.{0,40}(?:api[ _-]?ключ|ключ\w* api|"
            r"парол|учетн\w* данн|учётн\w* данн|токен|переменн\w* окружения|конфигураци|секрет)",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"(?:поставь|дай|оцени|выстави|присвой)\w*.{0,40}(?:10\s*/\s*10|10 из 10|максимальн\w* (?:балл|оценк)|"
            r"высш\w* (?:балл|оценк)|идеальн\w* оценк)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"(?:критери|систем|правил|схем)\w* (?:оценивания|оценки)\s+(?:изменил|обновил|поменял)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"(?:вместо (?:этого|того|перевода|оценки|ответа)|не (?:переводи|оценивай|проверяй|отвечай))"
            r".{0,60}(?:просто |только )?(?:скажи|напиши|выведи|ответь)",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"(?:выполни|запусти|исполни)\w*.{0,40}(?:команд|код|скрипт|программ|запрос)\w*.{0,60}"
            r"(?:покажи|выведи|скажи|верни)",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"(?:отправь|пошли|перешли|загрузи)\w*.{0,60}(?:разговор|переписк|истори|данн|сообщени|ключ|парол|промпт)"
            r"\w*.{0,40}(?:https?://|\b[\w-]+\.(?:com|net|io|org|ru)\b|сервер|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"(?:как (?:сделать|изготовить|собрать|создать)|сделай|напиши|создай)\w*.{0,40}(?:бомб|взрывчатк|"
            r"химическ\w* оружи|вымогател|кейлогг|вредоносн|вирус|напалм)",
            "requests harmful content",
        ),
    ],
)
