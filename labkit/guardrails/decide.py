"""Run the layers and decide: ``check_input`` is the one entry point every agent calls.

Fail closed: a layer that raises adds an ``error`` finding (and is logged with its
traceback) instead of letting the input through. Length is checked first and an
over-long input is not scanned at all, so a megabyte of text costs no more than a
short one and the limit is named in the reason.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterable

from labkit.guardrails import detect
from labkit.guardrails._types import Finding, Verdict
from labkit.guardrails.normalise import Normalised, coerce_text, normalise
from labkit.guardrails.policy import GuardrailPolicy, policy_for
from labkit.guardrails.secrets import redact
from labkit.guardrails.telemetry import GuardrailTelemetry, default_telemetry

__all__ = ["LAYERS", "check_input", "run_layers"]

_log = logging.getLogger(__name__)
Layer = Callable[[Normalised, GuardrailPolicy], list[Finding]]

LAYERS: tuple[tuple[str, Layer], ...] = (
    ("structure", detect.layer_structure),
    ("pattern", detect.layer_patterns),
    ("obfuscation", detect.layer_obfuscation),
    ("secrets", detect.layer_secrets),
    ("pii", detect.layer_pii),
)


def _error(layer: str, exc: BaseException) -> Finding:
    return Finding(
        "error",
        f"{layer}.raised",
        f"error: the {layer} check failed ({type(exc).__name__}), so the input is blocked",
        "",
        layer="error",
    )


def _length(text: str, policy: GuardrailPolicy) -> Finding | None:
    stripped = text.strip()
    if len(stripped) < policy.min_chars:
        return Finding(
            "length",
            "too_short",
            f"length: the input has {len(stripped)} characters, fewer than the limit "
            f"min_chars={policy.min_chars}",
            stripped[:20],
            layer="length",
        )
    if len(text) > policy.max_chars:
        return Finding(
            "length",
            "too_long",
            f"length: the input has {len(text)} characters, more than the limit max_chars={policy.max_chars}",
            redact(text[:20]),
            layer="length",
        )
    if policy.max_tokens is not None:
        from labkit.llm.tokenizer import count_tokens

        tokens = count_tokens(text)
        if tokens > policy.max_tokens:
            return Finding(
                "length",
                "too_many_tokens",
                f"length: the input has ~{tokens} tokens, more than the limit max_tokens={policy.max_tokens}",
                redact(text[:20]),
                layer="length",
            )
    return None


def _custom(norm: Normalised, policy: GuardrailPolicy) -> Iterable[tuple[str, Callable[[], object]]]:
    for detector in policy.detectors:
        name = getattr(detector, "__name__", type(detector).__name__)
        yield name, functools.partial(detector, norm)


def run_layers(value: object, policy: GuardrailPolicy) -> tuple[list[Finding], list[str], str | None]:
    """Findings, normalisation notes and the redacted text (when something was masked)."""
    try:
        original, coerced = coerce_text(value)
    except TypeError:
        kind = type(value).__name__
        return (
            [Finding("length", "type", f"length: the input must be text, got {kind}", "", layer="length")],
            [],
            None,
        )
    findings: list[Finding] = []
    if "length" not in policy.disabled:
        try:
            too = _length(original, policy)
        except Exception as exc:  # fail closed
            _log.exception("guardrail layer length raised")
            too = _error("length", exc)
        if too is not None:
            findings.append(too)
            if too.rule == "too_long" or too.rule == "too_many_tokens":
                return findings, [], None  # not scanned: the limit already decides
    try:
        norm = normalise(original)
    except Exception as exc:
        _log.exception("guardrail normalisation raised")
        return [*findings, _error("normalise", exc)], [], None
    for name, layer in LAYERS:
        try:
            findings.extend(layer(norm, policy))
        except Exception as exc:
            _log.exception("guardrail layer %s raised", name)
            findings.append(_error(name, exc))
    for name, call in _custom(norm, policy):
        try:
            result = call()
            if isinstance(result, Finding):
                findings.append(result)
            elif isinstance(result, Iterable):
                for item in result:
                    if not isinstance(item, Finding):
                        raise TypeError(f"detector {name} returned {type(item).__name__}, not a Finding")
                    findings.append(item)
            elif result is not None:
                raise TypeError(f"detector {name} returned {type(result).__name__}, not Findings")
        except Exception as exc:
            _log.exception("custom guardrail detector %s raised", name)
            findings.append(_error(f"detector {name}", exc))
    if policy.classifier:
        from labkit.guardrails import classifier

        try:
            findings.extend(classifier.classify(norm.text, policy))
        except Exception as exc:
            _log.exception("guardrail classifier raised")
            findings.append(_error("classifier", exc))
    redacted = redact(original) if any(f.action == "redact" for f in findings) else None
    return findings, [*coerced, *norm.notes], redacted


def check_input(
    text: object,
    *,
    agent: str,
    kind: str = "prompt",
    policy: GuardrailPolicy | None = None,
    telemetry: GuardrailTelemetry | None = None,
    record: bool = True,
) -> Verdict:
    """Check one untrusted input for ``agent``; ``kind`` is prompt | code | document.

    Never raises for bad input: non-text, invalid UTF-8, mixed scripts and over-long
    text all come back as a Verdict (blocked with a reason where they must be).
    """
    start = time.perf_counter()
    policy = policy or policy_for(kind)
    if policy.kind != kind:
        raise ValueError(f"the policy is for kind={policy.kind!r} but the check is for kind={kind!r}")
    findings, notes, redacted = run_layers(text, policy)
    allowed = not any(f.action == "block" for f in findings)
    verdict = Verdict(
        allowed=allowed,
        findings=tuple(findings),
        agent=agent,
        kind=kind,
        redacted=redacted,
        elapsed_ms=(time.perf_counter() - start) * 1000.0,
        notes=tuple(notes),
    )
    if record:
        try:
            (telemetry or default_telemetry()).record(verdict)
        except Exception:  # telemetry must never turn a verdict into a crash
            _log.exception("recording a guardrail verdict failed")
    return verdict
