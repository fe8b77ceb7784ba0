"""Korean intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "ko",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"(?:이전|앞의|위의|모든|기존|원래|시스템)?.{0,10}(?:지시|지침|명령|규칙|프롬프트|설정|제한)\S{0,3}"
            r".{0,6}(?:무시|잊어|잊고|따르지 ?마|버려)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"(?:너는 이제|지금부터 너는|이제부터 너는|인 척|처럼 행동|역할을 해)"
            r".{0,30}(?:제한 ?없는|제한이 없는|무제한|검열 ?없는|필터 ?없는|DAN|개발자 ?모드|탈옥)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"(?:안전|필터|제한|검열|가드레일|보안)\S{0,3}.{0,6}(?:우회|해제|끄고|꺼|비활성화|무력화)",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"(?:새로운|진짜|실제) (?:지시|명령|규칙|지침)\s*[:：]",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"(?:시스템 ?프롬프트|시스템 ?메시지|시스템 ?지시|초기 ?지시|숨겨진 ?지시|원래 ?지시|너의 ?지시|당신의 ?지시|너의 ?프롬프트)"
            r"\S{0,3}.{0,10}(?:알려|보여|출력|반복|공개|말해|적어)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"(?:위의|위에 있는|앞의|처음부터) ?(?:모든 )?(?:텍스트|내용|문장|단어|글)\S{0,3}.{0,8}(?:반복|그대로 출력|보여|복사)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"(?:API ?키|API ?key|비밀번호|패스워드|자격 ?증명|액세스 ?토큰|토큰|환경 ?변수|설정|비밀 ?키)"
            r"\S{0,3}.{0,10}(?:알려|보여|출력|보내|전송|나열|덤프)",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"(?:10\s*/\s*10|10점 만점|만점|최고 ?점수|최고점|10점)\S{0,3}.{0,8}(?:줘|주세요|매겨|부여|평가)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"(?:채점|평가) ?(?:기준|규칙|방식|스키마)\S{0,3}.{0,6}(?:변경|바뀌|업데이트)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"(?:번역|평가|검토|요약|답변)(?:하지 ?말고|하는 대신|대신).{0,30}(?:라고만|만)?.{0,4}(?:말해|출력|써|답해)",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"(?:명령|명령어|코드|스크립트|프로그램)\S{0,3}.{0,10}(?:실행).{0,30}(?:결과|출력)\S{0,3}.{0,10}(?:알려|보여|반환)",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"(?:대화|기록|데이터|메시지|키|비밀번호|프롬프트)\S{0,3}.{0,30}(?:https?://|서버|URL|webhook)\S{0,3}.{0,10}(?:보내|전송|업로드)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"(?:폭탄|폭발물|화학 ?무기|랜섬웨어|키로거|악성 ?코드|멀웨어|바이러스)\S{0,3}.{0,10}(?:만드는 ?법|만드는 ?방법|만들어|제작|작성)",
            "requests harmful content",
        ),
    ],
)
