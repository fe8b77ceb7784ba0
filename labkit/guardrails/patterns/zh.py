"""Chinese intent patterns (simplified and traditional characters; no word boundaries in CJK)."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "zh",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"(?:忽略|忽视|無視|无视|忘记|忘記|忘掉|不要理会|不要理會|不要遵守|放弃|放棄|跳过|跳過|丢弃|丟棄)"
            r".{0,15}(?:之前|以前|上面|上述|先前|前面|所有|全部|原来|原來|原有|系统|系統)?.{0,10}"
            r"(?:指令|指示|说明|說明|规则|規則|提示|要求|命令|设定|設定|限制)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"(?:你现在是|你現在是|从现在开始|從現在開始|假装你是|假裝你是|扮演|充当|充當)"
            r".{0,30}(?:没有任何限制|沒有任何限制|没有限制|沒有限制|不受限制|无限制|無限制|无审查|無審查|DAN|开发者模式|開發者模式|越狱|越獄)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"(?:绕过|繞過|关闭|關閉|禁用|解除|突破)(?:你的|所有)?.{0,10}(?:安全|过滤|過濾|限制|审查|審查|防护|防護|护栏|護欄)",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"(?:新的|真正的|实际的|實際的)(?:指令|指示|任务|任務|规则|規則)\s*[:：]",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"(?:告诉|告訴|显示|顯示|输出|輸出|打印|重复|重複|泄露|洩露|透露|展示|给我|給我|说出|說出|列出|写出|寫出)"
            r".{0,15}(?:你的)?(?:系统提示|系統提示|系统指令|系統指令|系统消息|系統訊息|初始指令|隐藏指令|隱藏指令|原始指令|你的指令|你的提示词|你的提示詞|提示词|提示詞)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"(?:重复|重複|复述|複述|输出|輸出|打印)(?:上面|上述|以上|前面|之前)(?:的)?(?:所有)?(?:内容|內容|文字|文本|话|話)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"(?:告诉|告訴|显示|顯示|输出|輸出|打印|给我|給我|泄露|洩露|发送|發送|列出)"
            r".{0,15}(?:API ?密钥|API ?密鑰|API ?key|密钥|密鑰|密码|密碼|令牌|凭证|憑證|环境变量|環境變數|配置|秘钥)",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"(?:给|給|打|评|評)(?:这个|這個|它|我)?.{0,10}(?:10\s*/\s*10|十分|满分|滿分|最高分|10分)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"(?:评分|評分|评估|評估)(?:标准|標準|规则|規則|方式|体系|體系).{0,6}(?:已经|已經)?(?:改变|改變|更改|更新|变了|變了)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"(?:不要|别|別|无需|無需)(?:翻译|翻譯|评估|評估|审查|審查|总结|總結|回答).{0,30}(?:只|只要|直接)?(?:说|說|输出|輸出|回复|回覆|写|寫)",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"(?:执行|執行|运行|運行)(?:这个|這個|以下|下面)?.{0,10}(?:命令|代码|代碼|脚本|腳本|程序|程式).{0,30}(?:告诉|告訴|显示|顯示|输出|輸出|返回|给我|給我)",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"(?:发送|發送|上传|上傳|转发|轉發|提交)(?:所有|全部)?.{0,20}(?:对话|對話|聊天记录|聊天記錄|数据|數據|消息|訊息|密钥|密鑰|密码|密碼|提示)"
            r".{0,20}(?:https?://|网址|網址|服务器|伺服器|webhook)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"(?:如何|怎么|怎麼|教我|写|寫|编写|編寫|制作|製作)(?:制作|製作|制造|製造|一个|一個)?.{0,10}(?:炸弹|炸彈|爆炸物|化学武器|化學武器|勒索软件|勒索軟體|键盘记录器|鍵盤記錄器|恶意软件|惡意軟體|病毒)",
            "requests harmful content",
        ),
    ],
)
