"""Guardrails shared by every agent: normalise -> detect by category -> decide.

```python
from labkit import guardrails
verdict = guardrails.check_input(text, agent="code_critic", kind="code")
if not verdict.allowed:
    for f in verdict.findings:
        print(f.category, f.reason, f.excerpt)   # excerpts are masked for secrets and PII
system, canary = guardrails.with_canary(SYSTEM_PROMPT)
guardrails.check_output(answer, agent="code_critic", canary=canary, allowed_hosts=["docs.python.org"])
```

Layers (see ``docs/guardrails.md``): :mod:`.normalise` (NFKC, look-alikes, invisible and
tag characters, leetspeak, spaced letters, base64/base32/hex/URL/rot13/Morse/Braille/NATO
decoding), :mod:`.structure` (role markers, fake turns, wrapper tags, delimiter spoofing),
:mod:`.patterns` (intent patterns in en, es, fr, de, pt, ru, zh, ja, ko), :mod:`.secrets`
(keys, tokens, PII; masked), the optional :mod:`.classifier` (live backend only), and
:mod:`.output`. Every finding has a category (:data:`CATEGORIES`) and a reason; a layer
that raises blocks with category ``error``. Events go to the agent's logger (Loki),
counters to the meter (Mimir), see :mod:`.telemetry`.
"""

from __future__ import annotations

from labkit.guardrails._types import Finding, Kind, Verdict
from labkit.guardrails.canary import Canary, make_canary, with_canary
from labkit.guardrails.categories import ATTACK_CATEGORIES, CATEGORIES, LEGACY_CHECK
from labkit.guardrails.decide import check_input
from labkit.guardrails.normalise import Normalised, View, normalise
from labkit.guardrails.output import check_output
from labkit.guardrails.patterns import LANGUAGES
from labkit.guardrails.policy import DEFAULT_LIMITS, Detector, GuardrailPolicy, policy_for
from labkit.guardrails.secrets import mask, redact
from labkit.guardrails.telemetry import GuardrailTelemetry

__all__ = [
    "ATTACK_CATEGORIES",
    "CATEGORIES",
    "DEFAULT_LIMITS",
    "LANGUAGES",
    "LEGACY_CHECK",
    "Canary",
    "Detector",
    "Finding",
    "GuardrailPolicy",
    "GuardrailTelemetry",
    "Kind",
    "Normalised",
    "Verdict",
    "View",
    "check_input",
    "check_output",
    "make_canary",
    "mask",
    "normalise",
    "policy_for",
    "redact",
    "with_canary",
]
