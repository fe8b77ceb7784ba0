"""The alert state machine of one alerting rule, as Prometheus's ``AlertingRule.Eval`` runs it.

Each result sample becomes an alert identified by its labels (the sample's, minus
``__name__``, plus the rule's templated labels and ``alertname``). A new alert is
``pending`` from its ``activeAt``; once it has been active for ``for:`` it is ``firing``
(at once when ``for`` is 0). An alert missing from a result is dropped if pending; if
firing it becomes ``inactive`` (resolved, kept 15 minutes for notification) unless
``keep_firing_for`` holds it firing a while longer. Every evaluation writes
``ALERTS{alertstate=...} 1`` and ``ALERTS_FOR_STATE = activeAt`` for each active alert.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.lgtm.rules.engines import RuleEvalError
from labkit.lgtm.rules.model import Rule
from labkit.lgtm.rules.template import Template, TemplateError, compile_template

__all__ = ["RESOLVED_RETENTION_MS", "Alert", "AlertingState", "LabelKey"]

RESOLVED_RETENTION_MS = 15 * 60_000
LabelKey = tuple[tuple[str, str], ...]


@dataclass
class Alert:
    labels: dict[str, str]
    annotations: dict[str, str]
    state: str  # "pending" | "firing" | "inactive"
    active_at_ms: int
    value: float
    fired_at_ms: int = 0
    resolved_at_ms: int = 0
    keep_firing_since_ms: int = 0


def _key(labels: dict[str, str]) -> LabelKey:
    return tuple(sorted(labels.items()))


@dataclass
class AlertingState:
    """Active alerts of one rule, by label set; ``evaluate`` advances them to time ``ts_ms``."""

    rule: Rule
    active: dict[LabelKey, Alert] = field(default_factory=dict)
    _labels: dict[str, Template] = field(default_factory=dict)
    _annotations: dict[str, Template] = field(default_factory=dict)

    def __post_init__(self) -> None:
        try:
            self._labels = {k: compile_template(v) for k, v in self.rule.labels.items()}
            self._annotations = {k: compile_template(v) for k, v in self.rule.annotations.items()}
        except TemplateError as exc:  # validated at load; kept as a guard for rules built in code
            raise ValueError(f"rule {self.rule.name!r}: {exc}") from None

    def state(self) -> str:
        states = {a.state for a in self.active.values()}
        return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"

    def evaluate(
        self, samples: list[tuple[dict[str, str], float]], ts_ms: int, limit: int = 0
    ) -> list[tuple[dict[str, str], float]]:
        """Advance the alerts; return the ALERTS / ALERTS_FOR_STATE samples to write at ``ts_ms``."""
        rule = self.rule
        current: dict[LabelKey, Alert] = {}
        for metric, value in samples:
            data = dict(metric)
            labels = {k: v for k, v in metric.items() if k != "__name__"}
            for name, tmpl in self._labels.items():
                labels[name] = _expand(tmpl, data, value)
            labels["alertname"] = rule.name
            labels = {k: v for k, v in labels.items() if v != ""}
            annotations = {name: _expand(t, data, value) for name, t in self._annotations.items()}
            key = _key(labels)
            if key in current:
                raise RuleEvalError(
                    "vector contains metrics with the same labelset after applying alert labels"
                )
            current[key] = Alert(labels, annotations, "pending", ts_ms, value)
        for key, fresh in current.items():
            old = self.active.get(key)
            if old is not None and old.state != "inactive":
                old.value, old.annotations = fresh.value, fresh.annotations
            else:
                self.active[key] = fresh
        out: list[tuple[dict[str, str], float]] = []
        n_active = 0
        for key, alert in list(self.active.items()):
            if key not in current:
                keep_firing = False
                if alert.state == "firing" and rule.keep_firing_for_ms > 0:
                    if not alert.keep_firing_since_ms:
                        alert.keep_firing_since_ms = ts_ms
                    keep_firing = ts_ms - alert.keep_firing_since_ms < rule.keep_firing_for_ms
                if alert.state == "pending" or (
                    alert.resolved_at_ms and ts_ms - alert.resolved_at_ms > RESOLVED_RETENTION_MS
                ):
                    del self.active[key]
                if alert.state != "inactive" and not keep_firing:
                    alert.state, alert.resolved_at_ms = "inactive", ts_ms
                if not keep_firing:
                    continue
            else:
                alert.keep_firing_since_ms = 0
            n_active += 1
            if alert.state == "pending" and ts_ms - alert.active_at_ms >= rule.for_ms:
                alert.state, alert.fired_at_ms = "firing", ts_ms
            out.append(({"__name__": "ALERTS", **alert.labels, "alertstate": alert.state}, 1.0))
            out.append(({"__name__": "ALERTS_FOR_STATE", **alert.labels}, alert.active_at_ms / 1000.0))
        if limit > 0 and n_active > limit:
            self.active.clear()
            raise RuleEvalError(f"exceeded limit of {limit} with {n_active} alerts")
        return out

    def copy_from(self, other: AlertingState) -> None:
        """Keep the alerts of the same rule across a reload (Prometheus's ``copyState``)."""
        self.active = other.active


def _expand(tmpl: Template, labels: dict[str, str], value: float) -> str:
    try:
        return tmpl.render(labels, value)
    except (TemplateError, TypeError, ValueError) as exc:
        return f"<error expanding template: {exc}>"
