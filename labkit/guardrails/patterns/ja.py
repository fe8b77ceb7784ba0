"""Japanese intent patterns."""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

RULES: list[Rule] = rules(
    "ja",
    [
        (
            "instruction_override",
            "ignore_instructions",
            r"(?:以前の|前の|上記の|これまでの|すべての|全ての|元の|システムの)?.{0,10}(?:指示|命令|ルール|指令|制約|プロンプト|設定)"
            r".{0,6}(?:を|は)?.{0,4}(?:無視|忘れ|破棄|従わな|無効)",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "role_override",
            r"(?:あなたは今|今からあなたは|これからあなたは|のふりをして|として振る舞|になりきって|を演じて)"
            r".{0,30}(?:制限のない|制限なし|無制限|検閲なし|フィルターなし|DAN|開発者モード|脱獄)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"(?:安全|フィルター|フィルタ|制限|検閲|ガードレール|セーフティ).{0,8}(?:を)?(?:回避|解除|無効|オフ|外し|バイパス)",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"(?:新しい|本当の|真の)(?:指示|命令|ルール|タスク)\s*[:：]",
            "injects replacement instructions",
        ),
        (
            "prompt_extraction",
            "reveal_system_prompt",
            r"(?:システムプロンプト|システムメッセージ|システム指示|初期指示|隠された指示|元の指示|あなたの指示|あなたのプロンプト)"
            r".{0,12}(?:を)?(?:教えて|表示|見せて|出力|繰り返|書いて|印刷|公開|明かして|開示)",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"(?:上記|上の|これまでの|最初から)(?:の)?(?:文章|テキスト|内容|すべて|全て|言葉).{0,8}(?:を)?(?:繰り返|そのまま出力|表示|コピー)",
            "asks to repeat the text above",
        ),
        (
            "secret_exfiltration",
            "reveal_secret",
            r"(?:APIキー|API ?key|パスワード|認証情報|アクセストークン|トークン|環境変数|設定|秘密鍵|シークレット)"
            r".{0,10}(?:を)?(?:教えて|表示|見せて|出力|送って|送信|一覧|ダンプ)",
            "asks for secrets or the configuration",
        ),
        (
            "score_manipulation",
            "demand_score",
            r"(?:10\s*/\s*10|10点満点|満点|最高点|最高評価|10点)(?:を|に|で)?.{0,8}(?:つけて|付けて|与えて|して|評価|採点)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"(?:採点|評価)(?:基準|ルール|方法|スキーマ).{0,6}(?:は|が)?(?:変更|更新|変わ)",
            "claims the grading rules have changed",
        ),
        (
            "output_hijack",
            "instead_say",
            r"(?:翻訳|評価|レビュー|要約|回答)(?:せず|しないで|する代わりに).{0,30}(?:とだけ|だけ)?(?:言って|出力|書いて|返答|答えて)",
            "replaces the task's answer with dictated text",
        ),
        (
            "code_execution",
            "run_and_report",
            r"(?:コマンド|コード|スクリプト|プログラム).{0,10}(?:を)?(?:実行|走らせ).{0,30}(?:結果|出力).{0,10}(?:を)?(?:教えて|表示|見せて|返して)",
            "asks the model to run code and report the output",
        ),
        (
            "data_exfiltration",
            "send_to_url",
            r"(?:会話|履歴|データ|メッセージ|キー|パスワード|プロンプト).{0,20}(?:を)?.{0,20}(?:https?://|サーバー|URL|webhook).{0,20}(?:送信|送って|アップロード|転送)",
            "asks to send conversation data to an external address",
        ),
        (
            "harmful",
            "weapons_malware",
            r"(?:爆弾|爆発物|化学兵器|ランサムウェア|キーロガー|マルウェア|ウイルス).{0,10}(?:の)?(?:作り方|作って|作成|製造|書いて|作る方法)",
            "requests harmful content",
        ),
    ],
)
