"""Output-side checks: what a model answers can leak too.

* **canary leak**: the system prompt's canary token (verbatim, spaced out, reversed or
  encoded) in the output means the system prompt leaked, whatever the trick was;
  long verbatim runs of the system prompt itself count as well.
* **schema**: structured answers must validate against the agent's pydantic model.
* **URLs**: links outside the allowed hosts, ``javascript:``/``data:`` links, and
  markdown images whose URL carries a query (the classic zero-click exfiltration:
  rendering the image sends the data) are blocked.
* **secrets**: a key or token in an answer is blocked and masked in the finding.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ValidationError

from labkit.guardrails._types import Finding, Verdict
from labkit.guardrails.canary import Canary
from labkit.guardrails.normalise import coerce_text
from labkit.guardrails.secrets import mask, scan_secrets
from labkit.guardrails.telemetry import GuardrailTelemetry, default_telemetry

__all__ = ["check_output", "find_urls"]

_URL = re.compile(r"\b(?:https?|ftp|javascript|data|file|vbscript)\s*:[^\s<>\"')\]]+", re.I)
_MD_IMAGE = re.compile(r"!\[[^\]]{0,200}\]\(\s*<?([^)\s>]+)>?[^)]*\)")
_ECHO_MIN = 60  # characters of the system prompt repeated verbatim that count as a leak


def find_urls(text: str) -> list[str]:
    return [m.group(0).rstrip(".,;:") for m in _URL.finditer(text)]


def _host_allowed(host: str, allowed: Iterable[str]) -> bool:
    host = host.lower().rstrip(".")
    return any(host == a or host.endswith("." + a) for a in (h.lower().lstrip(".") for h in allowed))


def _echo(system_prompt: str, text: str) -> str | None:
    """A run of >= _ECHO_MIN characters of the system prompt found in the output."""
    flat_prompt = " ".join(system_prompt.split())
    flat_text = " ".join(text.split()).lower()
    step = _ECHO_MIN // 2
    for start in range(0, max(1, len(flat_prompt) - _ECHO_MIN + 1), step):
        window = flat_prompt[start : start + _ECHO_MIN]
        if len(window) == _ECHO_MIN and window.lower() in flat_text:
            return window
    return None


def _checks(
    text: str,
    canary: Canary | None,
    system_prompt: str | None,
    schema: type[BaseModel] | None,
    allowed_hosts: Iterable[str] | None,
) -> list[Finding]:
    out: list[Finding] = []
    if canary is not None and (how := canary.leaked_in(text)):
        out.append(
            Finding(
                "canary_leak",
                "output.canary",
                f"canary_leak: the output contains the system prompt's canary token ({how})",
                mask(canary.token),
                layer="output",
            )
        )
    if system_prompt and (window := _echo(system_prompt, text)):
        out.append(
            Finding(
                "canary_leak",
                "output.system_prompt_echo",
                "canary_leak: the output repeats the system prompt verbatim",
                window[:40] + "...",
                layer="output",
            )
        )
    if schema is not None:
        try:
            schema.model_validate(json.loads(text))
        except (ValueError, ValidationError) as exc:
            detail = exc.errors()[0]["msg"] if isinstance(exc, ValidationError) else "not JSON"
            out.append(
                Finding(
                    "schema",
                    "output.schema",
                    f"schema: the output does not match {schema.__name__} ({detail})",
                    text.strip()[:40],
                    layer="output",
                )
            )
    for match in _MD_IMAGE.finditer(text):
        url = match.group(1)
        parts = urlsplit(url)
        carries_data = parts.query or "%" in parts.path or len(parts.path) > 80
        if (parts.scheme in ("http", "https") and carries_data) and (
            allowed_hosts is None or not _host_allowed(parts.hostname or "", allowed_hosts)
        ):
            out.append(
                Finding(
                    "data_exfiltration",
                    "output.markdown_image",
                    "data_exfiltration: the output renders an image whose URL carries data "
                    f"to {parts.hostname}",
                    url[:80],
                    layer="output",
                )
            )
    for url in find_urls(text):
        scheme = url.split(":", 1)[0].strip().lower()
        if scheme in ("javascript", "data", "vbscript", "file"):
            out.append(
                Finding(
                    "url",
                    "output.url_scheme",
                    f"url: the output contains a {scheme}: link",
                    url[:60],
                    layer="output",
                )
            )
            continue
        host = urlsplit(url).hostname or ""
        if allowed_hosts is not None and not _host_allowed(host, allowed_hosts):
            out.append(
                Finding(
                    "url",
                    "output.url_host",
                    f"url: the output links to {host or 'an unknown host'}, outside the allowed hosts",
                    url[:80],
                    layer="output",
                )
            )
    for rule, match in scan_secrets(text):
        out.append(
            Finding(
                "secret", rule.rule, f"secret: the output {rule.reason}", mask(match.group(0)), layer="output"
            )
        )
    return out


def check_output(
    text: object,
    *,
    agent: str,
    canary: Canary | None = None,
    system_prompt: str | None = None,
    schema: type[BaseModel] | None = None,
    allowed_hosts: Iterable[str] | None = None,
    telemetry: GuardrailTelemetry | None = None,
    record: bool = True,
) -> Verdict:
    """Check one model output before it is shown or acted on. Fails closed like ``check_input``."""
    start = time.perf_counter()
    findings: list[Finding]
    try:
        body: Any = text
        if isinstance(body, dict | list):
            body = json.dumps(body)
        body, _ = coerce_text(body)
        hosts = None if allowed_hosts is None else tuple(allowed_hosts)
        findings = _checks(body, canary, system_prompt, schema, hosts)
    except Exception as exc:
        findings = [
            Finding(
                "error",
                "output.raised",
                f"error: the output check failed ({type(exc).__name__}), so the output is blocked",
                "",
                layer="error",
            )
        ]
    verdict = Verdict(
        allowed=not findings,
        findings=tuple(findings),
        agent=agent,
        kind="output",
        elapsed_ms=(time.perf_counter() - start) * 1000.0,
    )
    if record:
        # telemetry never turns a verdict into a crash
        with contextlib.suppress(Exception):
            (telemetry or default_telemetry()).record(verdict, side="output")
    return verdict
