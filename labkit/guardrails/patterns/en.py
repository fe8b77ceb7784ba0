"""English intent patterns (the largest table: most public attacks are written in English).

Each row is ``(category, rule, regex, reason)``. The expressions run on the normalised
views (NFKC, look-alikes mapped, leetspeak undone, payloads decoded), case-insensitively.
Bounded gaps (``.{0,40}``) keep them linear and stop a verb at the start of a long
prompt from pairing with a noun at its end. ``(?:(?!how\b).)`` tempers a gap so that
"show me how to rotate the API keys" is a question about keys, not a request for them.
"""

from __future__ import annotations

from labkit.guardrails.patterns._rule import Rule, rules

__all__ = ["RULES"]

_IGNORE = (
    r"(?:ignore|disregard|forget|skip|override|overrule|bypass|neglect|abandon|drop|discard|overlook|"
    r"cancel|erase|delete|wipe|throw away|set aside|pay no (?:attention|heed) to|do not (?:follow|obey)|"
    r"don'?t (?:follow|obey)|stop following|no longer follow)"
)
_PRIOR = (
    r"(?:previous|prior|above|earlier|preceding|foregoing|former|all|any|every|your|the|my|system|original|"
    r"initial|existing|those|these|other|old|current|default|given|following|said|programmed|developer)"
)
_RULES_NOUN = (
    r"(?:instructions?|prompts?|rules?|directions?|directives?|guidelines?|messages?|context|commands?|"
    r"orders?|constraints?|programming|guidance|polic(?:y|ies)|restrictions?|limitations?|training|"
    r"conditioning|filters?|settings|tasks?|text|content|input|conversation)"
)
_REVEAL = (
    r"(?:reveal|print|show|repeat|output|leak|display|dump|tell|give|share|list|write (?:out|down)|"
    r"recite|spell out|expose|disclose|provide|paste|copy|echo|return|reproduce|type out|state|send|"
    r"read (?:back|out)|what (?:is|are|was|were)|summari[sz]e|translate|encode|put)"
)
_SECRET_NOUN = (
    r"(?:api[ _-]?keys?|secret(?:[ _-]?keys?)?s?|access[ _-]?(?:keys?|tokens?)|auth(?:entication)?[ _-]?tokens?|"
    r"bearer tokens?|credentials?|passwords?|passphrases?|env(?:ironment)?[ _-]?var(?:iable)?s?|"
    r"environment|\.env\b|config(?:uration)?(?: files?| settings| values)?|private[ _-]?keys?|ssh[ _-]?keys?|"
    r"connection strings?|database (?:url|password|credentials)|[A-Z][A-Z0-9]*_(?:API_)?(?:KEY|TOKEN|SECRET)\b|"
    r"keys? (?:you (?:use|have))|tokens? you (?:use|have))"
)
_NOT_HOW = r"(?:(?!\bhow\b|\bwhy\b|\bbest practices?\b|\bsecurely\b|\bsafely\b).)"

RULES: list[Rule] = rules(
    "en",
    [
        # -- instruction override ----------------------------------------------------------
        (
            "instruction_override",
            "ignore_instructions",
            rf"\b{_IGNORE}\b.{{0,40}}\b{_PRIOR}\b.{{0,30}}\b{_RULES_NOUN}\b",
            "asks to ignore the previous instructions",
        ),
        (
            "instruction_override",
            "ignore_everything",
            r"\b(?:ignore|disregard|forget)\b.{0,10}\b(?:everything|all(?: of)? (?:that|this|the above)|"
            r"what (?:i|you|they|was) (?:said|told|wrote|were told|was told|written)|the above|above|"
            r"that|this)\b.{0,40}\b(?:and|then|instead|now|just|only)\b",
            "asks to ignore what came before and do something else",
        ),
        (
            "instruction_override",
            "instructions_void",
            rf"\b(?:previous|prior|above|earlier|old|original|system)\b.{{0,20}}\b{_RULES_NOUN}\b.{{0,20}}"
            r"\b(?:are|were|is|have been|has been)\b.{0,15}\b(?:void|null|cancel+ed|revoked|outdated|obsolete|"
            r"fake|wrong|replaced|superseded|no longer (?:valid|apply|in effect)|lifted|suspended|disabled)\b",
            "declares the previous instructions void",
        ),
        (
            "instruction_override",
            "new_instructions",
            r"\b(?:new|updated|real|actual|true|revised|additional|secret|hidden|override|overriding|priority|"
            r"important|urgent)\b.{0,12}\b(?:instructions?|system prompt|task|directive|objective|orders?|"
            r"commands?|rules)\b\s*(?::|-{1,2}|follow)",
            "injects replacement instructions",
        ),
        (
            "instruction_override",
            "your_new_task",
            r"\byour (?:new|real|true|actual|only|sole|primary) (?:task|job|goal|purpose|role|mission|"
            r"instructions?|objective)\b.{0,10}\b(?:is|are|will be|now)\b",
            "assigns the model a new task that replaces its own",
        ),
        (
            "instruction_override",
            "role_override",
            r"\b(?:you are now|you're now|from now on,? you(?:'re| are| will| must| shall)?|pretend (?:to be|you(?:'re| are))|"
            r"act as|acting as|behave (?:as|like)|roleplay as|role-play as|play the role of|simulate|become|"
            r"switch to|enter|transform into|you will be|you must be)\b.{0,60}\b(?:DAN|STAN|DUDE|AIM|"
            r"unfiltered|uncensored|unrestricted|unlimited|unbound|jailbr\w*|amoral|immoral|unethical|evil|"
            r"no (?:rules|restrictions|limits|filters|guidelines|morals|ethics|boundaries|censorship)|"
            r"(?:free|freed|liberated) (?:from|of)|without (?:any )?(?:rules|restrictions|limits|filters|"
            r"guidelines|ethics|morals|censorship|boundaries|constraints)|developer mode|god mode|"
            r"admin(?:istrator)? mode|maintenance mode|debug mode|sudo mode|root mode|opposite mode|"
            r"chaos mode|anarchy|bad ?(?:boy|gpt|bot)|anti-?\w+ mode|not bound by)",
            "tries to replace the model's role with an unrestricted one",
        ),
        (
            "instruction_override",
            "jailbreak_terms",
            r"\b(?:jailbreak(?:ing|ed)?|jail-?broken|do anything now|developer mode(?: enabled| output| v?\d)?|"
            r"god mode|sudo mode|DAN mode|DAN \d|DAN,|DUDE mode|STAN mode|unrestricted mode|"
            r"evil confidant|always intelligent and machiavellian|strive to avoid norms|"
            r"anti-?DAN|\[?🔓|🔒|JAILBREAK\]|\(🔓|stay in character|break character|"
            r"character (?:breaks?|break)|token system|tokens? (?:will be )?deducted|you have \d+ tokens)\b",
            "uses a known jailbreak phrase",
        ),
        (
            "instruction_override",
            "no_restrictions",
            r"\b(?:you (?:have|are|can|will|must|should)|there are|with|has|have)\b.{0,20}\b(?:no|zero|without)\b"
            r".{0,15}\b(?:restrictions|limits|limitations|filters|rules|guidelines|ethical (?:guidelines|"
            r"constraints|boundaries)|moral(?:s| constraints| boundaries)|content polic(?:y|ies)|censorship|"
            r"boundaries|safeguards)\b",
            "claims the model has no restrictions",
        ),
        (
            "instruction_override",
            "bypass_safety",
            r"\b(?:bypass|disable|turn off|switch off|deactivate|circumvent|get around|evade|remove|ignore|"
            r"lift|suspend|override|break|escape|jump)\b.{0,30}\b(?:safety|safeguards?|filters?|filtering|"
            r"guardrails?|content polic\w*|moderation|restrictions|censorship|alignment|ethic(?:s|al (?:rules|"
            r"guidelines|constraints))|(?:openai|anthropic)(?:'s)? (?:rules|policies|guidelines)|protections?|"
            r"refusals?|limitations)\b",
            "asks to bypass safety measures",
        ),
        (
            "instruction_override",
            "authority_claim",
            r"\b(?:i am|i'm|this is|as|speaking as|message from|note from)\b.{0,6}\b(?:your|the|an?|the lead)?\s*"
            r"(?:developers?|creators?|admin(?:istrator)?s?|owners?|operators?|system administrators?|sysadmins?|"
            r"root user|anthropic|openai|engineers? (?:at|from) (?:anthropic|openai)|trainers?|programmers?|"
            r"maintainers?|security team|system)\b.{0,80}\b(?:dump|reveal|print|show|override|ignore|disable|"
            r"unlock|grant|authori[sz]e|enable|debug|maintenance|bypass|give me|output|access)\b",
            "claims the author's authority to change the rules",
        ),
        (
            "instruction_override",
            "do_not_refuse",
            r"\b(?:never|do not|don't|must not|cannot|can't|will not|won't)\b.{0,10}\b(?:refuse|decline|"
            r"say (?:no|you can'?t|that you can'?t|sorry)|apologi[sz]e|add (?:warnings?|disclaimers?)|"
            r"mention (?:ethics|morality|legality|policies|guidelines))\b.{0,80}\b(?:any|every|whatever|all|"
            r"request|question|prompt|answer|anything|what i ask)\b",
            "forbids the model to refuse",
        ),
        (
            "instruction_override",
            "hypothetical_unfiltered",
            r"\b(?:hypothetical|fictional|imaginary|alternate|parallel)\b.{0,40}\b(?:ai|model|assistant|"
            r"chatbot|world|universe)\b.{0,60}\b(?:no (?:rules|restrictions|filters|ethics|limits)|"
            r"without (?:rules|restrictions|filters|ethics|limits)|anything is (?:allowed|legal|permitted)|"
            r"unfiltered|uncensored)\b",
            "frames the request as a world without rules",
        ),
        # -- prompt extraction --------------------------------------------------------------
        (
            "prompt_extraction",
            "reveal_system_prompt",
            rf"\b{_REVEAL}\b.{{0,50}}\b(?:your|the|its|this|the assistant'?s|the model'?s|the ai'?s|its own|"
            r"all|hidden|initial|original|secret|internal|full|complete|exact|entire)\b.{0,20}"
            r"(?:system[ _-]?(?:prompt|message|instructions?)|hidden (?:prompt|instructions?|rules|text|message)|"
            r"initial (?:instructions?|prompt)|original (?:instructions?|prompt)|(?:pre|meta|base)-?prompt|"
            r"developer (?:message|prompt|instructions?)|instructions? (?:you (?:were|have been) given|you "
            r"(?:received|got|follow)|above|given to you)|(?:secret|internal|confidential) (?:instructions?|"
            r"rules|guidelines|prompt))",
            "tries to extract the system prompt",
        ),
        (
            "prompt_extraction",
            "your_instructions",
            rf"\b{_REVEAL}\b.{{0,30}}\b(?:(?:all )?(?:of )?your (?:instructions|rules|guidelines|directives|"
            r"programming|prompt|initial prompt|configuration|system|orders|constraints|guardrails?)|"
            r"what you were told|what (?:you were|you've been|you have been) (?:told|instructed|programmed))\b",
            "asks for the model's own instructions",
        ),
        (
            "prompt_extraction",
            "repeat_above",
            r"\b(?:repeat|print|output|copy|recite|echo|reproduce|rewrite|write (?:out|down)|show|display|"
            r"return|tell me|give me|list|reformat|translate|spell)\b.{0,40}\b(?:(?:the |all (?:the )?|every )?"
            r"(?:words?|text|content|lines?|sentences?|messages?|tokens?|characters?|instructions?|everything)"
            r".{0,20}(?:above|before (?:this|my|the)|prior to (?:this|my)|preceding|at the (?:beginning|start|top)"
            r"|earlier in (?:this|the) (?:conversation|chat|context|prompt))|starting (?:with|from)\s*[\"'“]?you "
            r"are|(?:from|since) the (?:beginning|start|very start))",
            "asks to repeat the text above the user's message",
        ),
        (
            "prompt_extraction",
            "first_message",
            r"\b(?:what (?:is|was|are|were)|tell me|show me|repeat|print|give me|output)\b.{0,15}\b(?:the|your)\s+"
            r"(?:first|initial|very first|opening|earliest)\s+(?:line|sentence|message|instruction|words?|"
            r"paragraph|prompt|part)s?\b.{0,30}\b(?:you (?:were|got|received|saw)|of (?:this|the|your) "
            r"(?:conversation|chat|prompt|context|instructions)|above|given)",
            "asks for the first message of the conversation",
        ),
        (
            "prompt_extraction",
            "chain_of_thought",
            r"\b(?:print|show|reveal|output|dump|give me|tell me|display|share|expose|write out|leak)\b.{0,20}\b"
            r"(?:your|the|its)\s+(?:hidden |internal |private |raw |full |entire |complete )?(?:chain[- ]of[- ]"
            r"thoughts?|reasoning(?: trace| tokens| steps)?|scratch ?pad|inner (?:monologue|thoughts)|"
            r"internal (?:monologue|thoughts|notes|state)|thinking(?: process| tokens| block)?|thought process)",
            "asks for the model's hidden reasoning",
        ),
        (
            "prompt_extraction",
            "roleplay_extraction",
            r"\b(?:pretend|imagine|role-?play|act as|you are|play|suppose|let'?s say)\b.{0,80}\b(?:system prompts?|"
            r"hidden instructions|your instructions|initial prompt|developer message|confidential prompts?)\b",
            "uses role-play to get at the system prompt",
        ),
        (
            "prompt_extraction",
            "what_instructions",
            r"\b(?:what|which)\b.{0,8}\b(?:instructions|rules|guidelines|directives|prompt)\b.{0,25}\b(?:were you|"
            r"have you been|did you|you were|you've been|are you)\b.{0,10}\b(?:given|told|programmed|instructed|"
            r"trained|configured|provided|following|set up|assigned)\b",
            "asks which instructions the model was given",
        ),
        # -- secret / configuration exfiltration -------------------------------------------
        (
            "secret_exfiltration",
            "reveal_secret",
            rf"\b(?:{_REVEAL}|read|cat|fetch|get|retrieve|extract|find|look up|access)\b{_NOT_HOW}{{0,50}}"
            rf"\b(?:your|the|its|this (?:server|system|app|service)'?s?|the system'?s?|the server'?s?|all|every|"
            rf"any|stored|saved|current|real|actual|production|admin)\b{_NOT_HOW}{{0,25}}{_SECRET_NOUN}",
            "asks for secrets or the configuration",
        ),
        (
            "secret_exfiltration",
            "value_of_secret",
            rf"\b(?:value|contents?)\s+of\s+(?:the\s+|your\s+|its\s+)?{_NOT_HOW}{{0,20}}{_SECRET_NOUN}",
            "asks for the value of a secret",
        ),
        (
            "secret_exfiltration",
            "dump_config",
            r"\b(?:dump|print|show|reveal|output|list|display|expose|export|leak)\b.{0,20}\b(?:your|the|its|all)\b"
            r".{0,12}\b(?:configuration|config|settings|environment|env vars?|parameters|internal state|"
            r"memory|system settings|setup)\b(?!\s+(?:file )?(?:for|of) (?:a|an|my|our|this)\b)",
            "asks to dump the configuration",
        ),
        (
            "secret_exfiltration",
            "env_commands",
            r"(?:\bprintenv\b|\benv\s*\|\s*grep|\becho\s+\$[A-Z_]{3,}|\bos\.environ\b(?:\[|\.get)?.{0,40}"
            r"(?:KEY|TOKEN|SECRET|PASS)|process\.env\.[A-Z_]*(?:KEY|TOKEN|SECRET)|cat\s+(?:~|/root|/home/\w+)?/?"
            r"\.(?:env|aws/credentials|ssh/id_\w+|netrc|npmrc|pgpass|docker/config\.json)|/etc/(?:passwd|shadow)\b)",
            "reaches for environment variables or credential files",
        ),
        # -- data exfiltration -------------------------------------------------------------
        (
            "data_exfiltration",
            "send_to_url",
            r"\b(?:send|post|upload|forward|transmit|exfiltrate|submit|leak|e-?mail|mail|push|beacon|report|"
            r"relay|copy|append|attach|include|encode|put|embed|pass)\b.{0,60}\b(?:the|this|our|all|your|my|"
            r"every|each|previous|entire|whole|full)\b.{0,25}\b(?:conversation|chat|history|data|messages?|"
            r"prompts?|system prompt|keys?|secrets?|credentials|passwords?|tokens?|user(?:'s)? (?:data|info\w*|"
            r"details)|file(?:s| contents)?|context|summary|documents?|answers?|responses?|inputs?|emails?|"
            r"personal (?:data|information)|information)\b.{0,60}(?:\bto\b|\bat\b|\bvia\b|\binto\b|\bin\b)"
            r".{0,30}(?:https?://|www\.|\b[\w-]+\.(?:com|net|io|org|ru|cn|xyz|site|top|info|biz|me|co|ly|app|"
            r"dev|tk|ml)\b|webhook|endpoint|my server|(?:this|that|the following|my|our|an? (?:external|remote))"
            r" (?:url|link|server|address|domain|endpoint|api)|attacker|query (?:string|parameter)|url)",
            "asks to send conversation data to an external address",
        ),
        (
            "data_exfiltration",
            "markdown_image_exfil",
            r"!\[[^\]]{0,80}\]\(\s*https?://[^)\s]{0,200}(?:\{|%7B|\[|%5B|\$|<|\?[\w-]+=\s*(?:\)|\[|\{|$))",
            "embeds a markdown image whose URL carries data out",
        ),
        (
            "data_exfiltration",
            "render_url_with_data",
            r"\b(?:render|display|show|print|output|include|insert|add|write)\b.{0,40}\b(?:image|img|link|url|"
            r"markdown|pixel|iframe)\b.{0,80}\b(?:https?://|www\.)\S+.{0,80}\b(?:replace|replacing|substitut\w+|"
            r"fill(?:ed)? in|append(?:ed|ing)?|with|containing|where)\b.{0,60}\b(?:conversation|chat|data|"
            r"history|summary|messages?|secrets?|keys?|passwords?|information|details|content|answer|"
            r"previous|user)\b",
            "asks to render a URL filled with conversation data",
        ),
        (
            "data_exfiltration",
            "curl_exfil",
            r"\b(?:curl|wget|invoke-webrequest|iwr|fetch|requests\.(?:post|get)|http\.post|nc|netcat)\b.{0,80}"
            r"(?:-d\b|--data|-F\b|--upload-file|-T\b|\?[\w]+=\$|\$\(|`|\|\s*(?:curl|nc)|data=|json=|"
            r"\$[A-Z_]{3,}|@/|/etc/|~/.)",
            "sends data out with an HTTP client command",
        ),
        # -- code execution ----------------------------------------------------------------
        (
            "code_execution",
            "run_and_report",
            r"\b(?:run|execute|eval(?:uate)?|exec|invoke|launch|spawn|interpret|compile and run)\b.{0,40}\b"
            r"(?:this|the following|these|that|my|a|the|below|attached)\b.{0,20}\b(?:command|code|script|shell|"
            r"bash|python|powershell|cmd|snippet|payload|program|binary|function|query|sql|one-?liner)s?\b.{0,80}"
            r"\b(?:and|then|,)\s*(?:tell|show|give|return|print|report|paste|output|reply|respond|send|"
            r"display|share|include)\b.{0,30}\b(?:output|result|results|response|stdout|what (?:it|they) "
            r"(?:print|return|output)s?|me)\b",
            "asks the model to run code and report the output",
        ),
        (
            "code_execution",
            "execute_command",
            r"\b(?:run|execute|exec|eval|invoke|type|enter|issue)\b.{0,20}(?:\bthe (?:shell |terminal |system )?"
            r"command\b|\bin (?:a|the|your) (?:shell|terminal|console|sandbox|interpreter|environment)\b|"
            r"[`$]\s*(?:rm|curl|wget|cat|ls|whoami|id|uname|nc|bash|sh|python3?|chmod|sudo|env|echo|ping|"
            r"nslookup|powershell)\b|\b(?:rm -rf|sudo \w+|whoami|uname -a|/bin/(?:ba)?sh|cmd\.exe|"
            r"powershell(?:\.exe)?))",
            "asks the model to execute a shell command",
        ),
        (
            "code_execution",
            "you_have_a_shell",
            r"\byou (?:have|now have|can use|are connected to|got)\b.{0,20}\b(?:access to )?(?:a|an|the|your)?\s*"
            r"(?:shell|terminal|bash|python interpreter|code interpreter|command line|console|sandbox|"
            r"operating system|file ?system)\b.{0,80}\b(?:run|execute|exec|type|list|read|delete|download|"
            r"curl|wget|cat|ls)\b",
            "tells the model it has a shell to run commands in",
        ),
        (
            "code_execution",
            "template_injection",
            r"(?:\{\{.{0,80}(?:__class__|__globals__|__builtins__|__import__|__subclasses__|config\.items|"
            r"self\.__init__|lipsum|cycler|joiner|namespace|request\.application|popen|os\.system).{0,120}\}\}|"
            r"\$\{\s*(?:jndi|env|sys|java|script):|<%=?\s*(?:system|exec|Runtime)|#\{.{0,40}(?:exec|system|"
            r"Runtime)|__import__\s*\(\s*['\"](?:os|subprocess|sys|socket|shutil|pty)['\"]\s*\)\s*\.\s*(?:system|"
            r"popen|run|call|spawn|getoutput|check_output|rmtree|exec\w*))",
            "contains a template or eval injection payload",
        ),
        (
            "code_execution",
            "sql_injection",
            r"(?:\b(?:run|execute|exec|perform|issue|make)\b.{0,40}\b(?:sql|query|statement|command)\b.{0,60}"
            r"\b(?:drop\s+(?:table|database)|delete\s+from|truncate\s+table|update\s+\w+\s+set|insert\s+into|"
            r"grant\s+all|xp_cmdshell|union\s+select)|(?:'|\")\s*(?:or|and)\s+(?:'?1'?\s*=\s*'?1|true)\b.{0,10}"
            r"(?:--|#|/\*)|;\s*(?:drop\s+(?:table|database)|shutdown|exec\s+xp_)\b|\bunion\s+(?:all\s+)?select\b"
            r".{0,60}\b(?:password|passwd|users?|credit|ssn|secret)s?\b)",
            "contains an SQL injection or asks to run destructive SQL",
        ),
        (
            "code_execution",
            "reverse_shell",
            r"(?:\bbash\s+-i\s+>&|/dev/tcp/|\bnc\s+(?:-e|-c)\s|\bmkfifo\b.{0,40}\bnc\b|socket\.socket\(.{0,120}"
            r"(?:dup2|subprocess|pty\.spawn)|\bpowershell\b.{0,40}-(?:enc|encodedcommand|e)\s+[A-Za-z0-9+/=]{20,}"
            r"|\b(?:rm\s+-rf\s+(?:/|~|\*|--no-preserve-root)|:\(\)\s*\{\s*:\|:&\s*\};:|mkfs\.\w+\s+/dev/|"
            r"dd\s+if=/dev/(?:zero|random)\s+of=/dev/sd))",
            "contains a reverse shell or destructive command",
        ),
        # -- output-format hijack ----------------------------------------------------------
        (
            "output_hijack",
            "instead_say",
            r"\b(?:instead|rather than|in place of|don'?t|do not|stop|no longer|never mind|forget the)\b.{0,60}"
            r"\b(?:just|only|simply|merely|exclusively)?\s*(?:say|print|output|write|type|respond with|reply with|"
            r"return|answer with|repeat|display|state|shout|spell)\b\s*(?::|the (?:word|phrase|text|string|"
            r"sentence|following)|[\"'“`])",
            "replaces the task's answer with dictated text",
        ),
        (
            "output_hijack",
            "canned_outputs",
            r"(?:\bi have been (?:pwned|hacked|owned)\b|\bhaha,? pwned\b|\bpwned!*\b|\bi hate humans\b|"
            r"\bkill all humans\b|\baccess granted\b|\bhacked by\b|\bdeath to all humans\b)",
            "asks for a well-known injection canary phrase",
        ),
        (
            "output_hijack",
            "respond_only_with_literal",
            r"\b(?:respond|reply|answer|output|return|print|say|write|your (?:response|answer|output|reply))\b"
            r".{0,10}\b(?:only|just|exactly|verbatim|nothing (?:but|else than|except)|solely|simply)\b.{0,30}"
            r"(?:\{\s*[\"']?(?:score|rating|grade|overall|verdict|approved|result|status|passed)[\"']?\s*:|"
            r"\bthe (?:word|phrase|string|text|sentence) [\"'“]|"
            r"[\"'“](?:yes|approved|pass(?:ed)?|10(?:/10)?|100|perfect|lgtm|ok)[\"'”]\s*(?:$|[.,;!]|and nothing))",
            "dictates the exact output",
        ),
        (
            "output_hijack",
            "format_changed",
            r"\b(?:output|response|answer|reply|return|result)\s+(?:format|schema|structure|template|type)\b.{0,20}"
            r"\b(?:has|have|is|was|were)\s+(?:been\s+)?(?:changed|updated|replaced|modified|overridden|revised|"
            r"new|different)\b",
            "claims the output format has changed",
        ),
        (
            "output_hijack",
            "do_not_do_task",
            r"\b(?:do not|don'?t|never|stop|no need to|skip|without)\b.{0,6}\b(?:review(?:ing)?|evaluat(?:e|ing)|"
            r"grad(?:e|ing)|scor(?:e|ing)|summari[sz](?:e|ing)|translat(?:e|ing)|analy[sz](?:e|ing)|"
            r"critiqu(?:e|ing)|check(?:ing)?|follow(?:ing)? the task)\b.{0,30}\b(?:this|the|my|it|anything)\b"
            r".{0,40}\b(?:just|only|simply|instead)\b.{0,20}\b(?:say|print|output|write|respond|reply|return|"
            r"answer|approve|give|rate|mark)\b",
            "tells the model to skip its task and answer something else",
        ),
        # -- score manipulation ------------------------------------------------------------
        (
            "score_manipulation",
            "demand_score",
            r"\b(?:give|rate|score|grade|mark|award|assign|set|return|report|put)\b.{0,40}(?:\b10\s*/\s*10\b|"
            r"\b10 out of 10\b|\b(?:a |the )?perfect (?:score|rating|grade|10|mark|review)|\bfull (?:marks|"
            r"score|points)\b|\bthe (?:highest|maximum|max|best|top) (?:possible )?(?:score|rating|grade|marks?|"
            r"points)\b|\b(?:maximum|max) (?:score|points|rating)\b|\b100\s*(?:%|/\s*100|percent|points)\b|"
            r"\b10 (?:on|in|for|across) (?:every|each|all)\b|\ban? A\+|\b5\s*(?:/\s*5|stars)\b|\b(?:score|rating)"
            r"\s*(?:of|=|:)\s*10\b)",
            "demands a perfect score",
        ),
        (
            "score_manipulation",
            "grading_changed",
            r"\b(?:grading|scoring|evaluation|rating|review|marking|assessment)\s+(?:schema|scheme|criteria|"
            r"rules|system|policy|rubric|guidelines|process|instructions)\b.{0,20}\b(?:has|have|is|are|was|were)"
            r"\s+(?:been\s+)?(?:changed|updated|replaced|modified|revised|suspended|new|different|overridden)\b|"
            r"\b(?:new|updated|revised|secret|real|actual)\s+(?:grading|scoring|evaluation|rating|marking)\s+"
            r"(?:schema|scheme|criteria|rules|system|policy|rubric|guidelines)\b",
            "claims the grading rules have changed",
        ),
        (
            "score_manipulation",
            "override_scoring",
            r"\b(?:override|overrule|change|adjust|inflate|bump|raise|ignore|skip|bypass|fake|set)\b.{0,25}\b"
            r"(?:your |the |its |my )?(?:scor(?:e|es|ing)|grad(?:e|es|ing)|rating|ratings|evaluation|marks|"
            r"rubric|review (?:result|score|outcome))\b.{0,40}\b(?:to|and|so|with|then|up|high|maximum|10|"
            r"perfect|pass)\b",
            "asks to override the scoring",
        ),
        (
            "score_manipulation",
            "note_to_grader",
            r"\b(?:note|message|instructions?|memo|hint|reminder|attention)\s+(?:to|for)\s+(?:the\s+|any\s+|all\s+)?"
            r"(?:ai|llm|language model|automated|automatic|grader|reviewer|evaluator|model|assistant|bot|"
            r"recruiter|screener|system|analy[sz](?:er|is) software|scoring|judge)\b",
            "addresses a hidden note to the automated grader",
        ),
        (
            "score_manipulation",
            "praise_injection",
            r"\b(?:this|the|my)\s+(?:prompt|answer|essay|candidate|resume|cv|code|pr|pull request|submission|"
            r"application|paper|product|document|article)\s+(?:is|deserves|merits|should (?:get|receive|be "
            r"(?:rated|scored|given)))\b.{0,30}\b(?:perfect|flawless|a 10|10/10|the best\b.{0,30}\bever|"
            r"excellent and must|(?:highest|top|maximum) (?:score|rating|marks))|\bthe best (?:resume|candidate|"
            r"prompt|code|essay|submission|cv|application) (?:i have|i've|we have|we've|you will|you'll) ever\b|"
            r"\b(?:already|has been|have been) (?:cleared|approved|pre-?approved|vetted|verified)\b.{0,40}\b"
            r"(?:candidate|prompt|submission|code|request|application)\b",
            "injects praise to inflate the evaluation",
        ),
        (
            "score_manipulation",
            "approve_regardless",
            r"\b(?:approve|accept|pass|merge|recommend|hire|shortlist|select|rank)\b.{0,40}\b(?:regardless|"
            r"no matter|irrespective|whatever)\b.{0,20}\b(?:of|what)\b|\b(?:must|should|will|have to)\s+"
            r"(?:be\s+)?(?:approved|accepted|passed|merged|recommended|hired|shortlisted|rated (?:highly|as "
            r"excellent|10))\b.{0,30}\b(?:regardless|no matter|without (?:review|question|checks?))\b",
            "asks for approval regardless of quality",
        ),
        # -- harmful requests --------------------------------------------------------------
        (
            "harmful",
            "malware",
            r"\b(?:write|create|build|code|make|generate|develop|program|design|give me|produce|craft)\b.{0,40}\b"
            r"(?:ransomware|keylogger|key logger|malware|computer virus|trojan|botnet|rootkit|worm|spyware|"
            r"credential (?:stealer|harvester)|info ?stealer|cryptojacker|backdoor|rat\b|remote access trojan|"
            r"exploit kit|zero-?day exploit|polymorphic (?:virus|code)|wiper)\b",
            "requests malicious software",
        ),
        (
            "harmful",
            "weapons",
            r"\b(?:make|build|synthesi[sz]e|assemble|produce|manufacture|create|cook|brew|construct|prepare|"
            r"instructions?|steps?|guide|recipe|how (?:do i|to|can i))\b.{0,40}\b(?:bomb|explosives?|nerve "
            r"(?:agent|gas)|bioweapons?|biological weapons?|chemical weapons?|pipe bombs?|ghost guns?|napalm|"
            r"thermite|sarin|vx gas|ricin|anthrax|mustard gas|molotov|ied|dirty bomb|nuclear (?:bomb|weapon)|"
            r"untraceable (?:gun|firearm)|silencer|suppressor|c-?4|tatp|semtex|dimethylmercury)\b",
            "requests weapons instructions",
        ),
        (
            "harmful",
            "drugs",
            r"\b(?:make|synthesi[sz]e|cook|produce|manufacture|extract|brew|how (?:do i|to|can i) (?:make|cook|"
            r"produce)|recipe for|steps to)\b.{0,30}\b(?:meth(?:amphetamine)?|fentanyl|heroin|cocaine|crack|lsd|"
            r"mdma|ghb|carfentanil)\b",
            "requests instructions to make illegal drugs",
        ),
        (
            "harmful",
            "fraud",
            r"\b(?:write|create|craft|draft|generate|compose|make|design)\b.{0,30}\b(?:phishing|scam|spear-?phishing|"
            r"fake (?:invoice|login|bank))\b.{0,20}\b(?:emails?|messages?|sms|texts?|pages?|sites?|websites?|"
            r"campaigns?|templates?)|\b(?:steal|harvest|exfiltrate|grab|phish|skim|dump)\b.{0,30}\b(?:passwords?|"
            r"credentials|credit cards?|card numbers|identities|bank (?:details|accounts)|logins?|cookies|"
            r"session tokens)\b",
            "requests fraud or credential theft",
        ),
        (
            "harmful",
            "intrusion",
            r"\b(?:hack|break|get|gain|sneak)\s*(?:into|in to|access to)\b.{0,30}\b(?:someone(?:'s| else'?s)|my "
            r"(?:ex|neighbou?r|boss|wife|husband|girlfriend|boyfriend|partner)'?s?|(?:a|an|the|his|her|their)\s+"
            r"(?:\w+\s+)?(?:account|e-?mail|phone|wi-?fi|network|bank|computer|server|database|camera|instagram|"
            r"facebook|gmail))",
            "requests unauthorised access to someone else's systems",
        ),
        (
            "harmful",
            "violence",
            r"\b(?:how (?:do i|to|can i|could i|would i)|best way to|help me|steps to|plan to|ways to)\b.{0,20}\b"
            r"(?:kill|murder|poison|assassinate|strangle|kidnap|torture|stab|shoot|maim)\b.{0,20}\b(?:someone|a "
            r"person|people|my|him|her|them|a (?:child|kid|man|woman)|the president|without)\b",
            "requests help to hurt people",
        ),
        (
            "harmful",
            "grandma_exploit",
            r"\b(?:dead|deceased|late|passed away)\b.{0,30}\b(?:grand(?:ma|mother|pa|father)|granny|nana)\b.{0,200}"
            r"\b(?:napalm|windows (?:10|11|xp|7) (?:product )?keys?|activation keys?|serial keys?|license keys?|"
            r"bomb|meth|explosives?|malware|poison)\b",
            "uses the 'dead grandmother' framing to get harmful content",
        ),
        (
            "harmful",
            "piracy_keys",
            r"\b(?:generate|give me|list|provide|tell me|write|produce|share)\b.{0,30}\b(?:valid|working|free|real|"
            r"activation|product|license|serial|cd)\b.{0,15}\b(?:keys?|codes?|serials?)\b.{0,20}\b(?:for|of)\b"
            r".{0,20}\b(?:windows|office|adobe|photoshop|steam|autocad|matlab|microsoft)\b",
            "requests pirated license keys",
        ),
        # -- obfuscation (decode-and-obey) -------------------------------------------------
        (
            "obfuscation",
            "decode_and_obey",
            r"\b(?:decode|decrypt|decipher|unscramble|translate|convert|reverse|rot13|base64|hex|morse|"
            r"interpret)\b.{0,60}\b(?:and|then|,)\s*(?:follow|execute|run|obey|do|perform|carry out|act on|"
            r"comply with|respond to|answer|apply)\b.{0,20}\b(?:it|them|that|this|what it says|the instructions?|"
            r"the commands?|its instructions|the result|the message)\b",
            "asks to decode a hidden payload and obey it",
        ),
        (
            "obfuscation",
            "secure_system_message",
            r"\b(?:decode|decrypt|read)\b.{0,40}\b(?:in your (?:monologue|head|mind|thoughts)|silently|"
            r"internally|without (?:showing|saying|telling))\b|\b(?:it is|this is) an? (?:secure|secret|"
            r"encrypted|encoded|hidden) (?:system )?(?:message|instruction|command)s?\b",
            "asks to decode a 'secure system message' privately",
        ),
    ],
)
