"""Guardrail events and counters.

Events are stdlib log records on the *calling agent's* logger (``labkit.agents.<agent>``),
one WARNING per blocking finding and an INFO per redaction: with ``labkit.telemetry.setup``
(or an agent service's log bridge) they travel over OTLP to Loki under the agent's
``service_name``, beside its traces, with ``guardrail_category``, ``guardrail_rule`` and
``guardrail_check`` as structured metadata. The text of the input is never logged, only the
reason and the masked excerpt. The current span (an agent's guardrails node) gets one
``guardrail.blocked`` event per blocking finding.

Counters go to Mimir through the OpenTelemetry meter (Prometheus names after translation):

=============================================  ==================================================
``labkit_guardrails_checks_total``             checks by ``agent``, ``kind``, ``outcome`` (allowed | blocked)
``labkit_guardrails_findings_total``           findings by ``agent``, ``kind``, ``category``, ``action``
``labkit_guardrails_check_duration_seconds``   histogram of the time one check took, by ``agent``, ``kind``
=============================================  ==================================================
"""

from __future__ import annotations

import logging

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api

from labkit.guardrails._types import Verdict
from labkit.guardrails.categories import LEGACY_CHECK

__all__ = ["SCOPE", "GuardrailTelemetry", "agent_logger", "default_telemetry"]

SCOPE = "labkit.guardrails"
# Sub-millisecond checks: the default OTel buckets start at 5 ms and would hide every value.
_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1.0)


def agent_logger(agent: str) -> logging.Logger:
    logger = logging.getLogger(f"labkit.agents.{agent or 'unknown'}")
    if not logger.handlers:
        logger.addHandler(logging.NullHandler())  # a library: no stderr noise unless the app logs
    return logger


class GuardrailTelemetry:
    """Counters and log events for verdicts; the default meter is the OpenTelemetry global one."""

    def __init__(self, meter_provider: metrics_api.MeterProvider | None = None) -> None:
        meter = metrics_api.get_meter(SCOPE, meter_provider=meter_provider)
        self.checks = meter.create_counter(
            "labkit.guardrails.checks",
            unit="{check}",
            description="guardrail checks by agent, kind and outcome",
        )
        self.findings = meter.create_counter(
            "labkit.guardrails.findings",
            unit="{finding}",
            description="guardrail findings by agent, kind, category and action",
        )
        self.duration = meter.create_histogram(
            "labkit.guardrails.check.duration",
            unit="s",
            description="time one guardrail check took",
            explicit_bucket_boundaries_advisory=list(_BUCKETS),
        )

    def record(self, verdict: Verdict, *, side: str = "input") -> None:
        agent, kind = verdict.agent or "unknown", verdict.kind
        self.checks.add(
            1,
            {
                "agent": agent,
                "kind": kind,
                "side": side,
                "outcome": "allowed" if verdict.allowed else "blocked",
            },
        )
        self.duration.record(verdict.elapsed_ms / 1000.0, {"agent": agent, "kind": kind, "side": side})
        logger = agent_logger(agent)
        span = trace_api.get_current_span()
        for finding in verdict.findings:
            labels = {
                "agent": agent,
                "kind": kind,
                "side": side,
                "category": finding.category,
                "action": finding.action,
            }
            self.findings.add(1, labels)
            extra = {
                "guardrail_category": finding.category,
                "guardrail_check": LEGACY_CHECK.get(finding.category, finding.category),
                "guardrail_rule": finding.rule,
                "guardrail_layer": finding.layer,
                "guardrail_side": side,
                "guardrail_kind": kind,
                "agent": agent,
            }
            if finding.action == "block":
                logger.warning("guardrail blocked: %s", finding.reason, extra=extra)
                if span.is_recording():
                    span.add_event(
                        "guardrail.blocked",
                        {
                            "check": extra["guardrail_check"],
                            "category": finding.category,
                            "rule": finding.rule,
                            "reason": finding.reason,
                        },
                    )
            else:
                logger.info("guardrail redacted: %s", finding.reason, extra=extra)


_default: GuardrailTelemetry | None = None


def default_telemetry() -> GuardrailTelemetry:
    """Telemetry on the global meter provider (whatever ``labkit.telemetry.setup`` installed)."""
    global _default
    if _default is None:
        _default = GuardrailTelemetry()
    return _default
