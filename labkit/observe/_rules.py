"""Rules and alerts of a Prometheus-style ruler (Mimir's or Loki's) as DataFrames.

Mixed into :class:`~labkit.observe.Mimir` and :class:`~labkit.observe.Loki`: both rulers
answer ``/prometheus/api/v1/rules`` and ``/alerts`` with Prometheus's shapes, and take a
rule group as YAML at a namespace URL (Mimir ``/prometheus/config/v1/rules/{ns}``, Loki
``/loki/api/v1/rules/{ns}``), on the embedded server and on the live stack alike.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pandas as pd
import yaml

from labkit.observe._http import ObserveError, QueryError

__all__ = ["ALERT_COLUMNS", "RULE_COLUMNS", "RulerMixin", "alerts_frame", "rules_frame"]

RULE_COLUMNS = [
    "group",
    "file",
    "name",
    "type",
    "state",
    "health",
    "query",
    "for_s",
    "labels",
    "annotations",
    "alerts",
    "last_error",
    "last_evaluation",
    "evaluation_time_s",
]
ALERT_COLUMNS = ["alertname", "state", "value", "active_at", "labels", "annotations"]


def _ts(text: str | None) -> pd.Timestamp | None:
    if not text or text.startswith("0001-01-01"):
        return None
    return pd.Timestamp(text).tz_convert("UTC")


def rules_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """One row per rule of a ``/api/v1/rules`` answer's ``data``."""
    rows = []
    for group in data.get("groups") or []:
        for rule in group.get("rules") or []:
            rows.append(
                {
                    "group": group.get("name", ""),
                    "file": group.get("file", ""),
                    "name": rule.get("name", ""),
                    "type": rule.get("type", ""),
                    "state": rule.get("state", "") if rule.get("type") == "alerting" else "",
                    "health": rule.get("health", ""),
                    "query": rule.get("query", ""),
                    "for_s": float(rule.get("duration", 0) or 0),
                    "labels": dict(rule.get("labels") or {}),
                    "annotations": dict(rule.get("annotations") or {}),
                    "alerts": len(rule.get("alerts") or []),
                    "last_error": rule.get("lastError", ""),
                    "last_evaluation": _ts(rule.get("lastEvaluation")),
                    "evaluation_time_s": float(rule.get("evaluationTime", 0) or 0),
                }
            )
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


def alerts_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """One row per pending or firing alert of a ``/api/v1/alerts`` answer's ``data``."""
    rows = [
        {
            "alertname": a.get("labels", {}).get("alertname", ""),
            "state": a.get("state", ""),
            "value": float(a.get("value", "nan")),
            "active_at": _ts(a.get("activeAt")),
            "labels": dict(a.get("labels") or {}),
            "annotations": dict(a.get("annotations") or {}),
        }
        for a in data.get("alerts") or []
    ]
    frame = pd.DataFrame(rows, columns=ALERT_COLUMNS)
    return frame.sort_values(["alertname", "state"]).reset_index(drop=True) if not frame.empty else frame


class RulerMixin:
    """``rules()``, ``alerts()``, ``set_rule_group()``, ``delete_rule_group()``, ``wait_for_alert()``."""

    backend: str
    url: str
    # path of the Prometheus-format API, and of the namespace (YAML) API, relative to ``url``
    _prom_rules_prefix: str = "/api/v1"
    _ns_prefix: str = "/config/v1/rules"

    # provided by HTTPClient, which comes first in the classes that mix this in
    request: Any
    raise_for_status: Any
    decode_json: Any

    def _ruler(self, path: str, params: Any = None) -> Any:
        full = self._prom_rules_prefix + path
        response = self.request("GET", full, params=params)
        self.raise_for_status(response, full)
        body = self.decode_json(response, full)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ObserveError(f"{self.backend} {self.url}{full} answered without a success envelope")
        return body.get("data") or {}

    def rules(self, type: str | None = None) -> pd.DataFrame:
        """The ruler's rules, one row each (``type="alert"`` or ``"record"`` to filter)."""
        if type not in (None, "alert", "record"):
            raise ValueError(f"type must be 'alert', 'record' or None, got {type!r}")
        return rules_frame(self._ruler("/rules", {"type": type} if type else None))

    def alerts(self) -> pd.DataFrame:
        """Pending and firing alerts: alertname, state, value, active_at, labels, annotations."""
        return alerts_frame(self._ruler("/alerts"))

    def alert_state(self, alertname: str) -> str:
        """``firing``, ``pending`` or ``inactive`` (no active alert of that name)."""
        frame = self.alerts()
        states = set(frame.loc[frame["alertname"] == alertname, "state"])
        return "firing" if "firing" in states else "pending" if "pending" in states else "inactive"

    def wait_for_alert(
        self, alertname: str, state: str = "firing", timeout_s: float = 30.0, poll_s: float = 0.5
    ) -> pd.DataFrame:
        """Poll until ``alertname`` reaches ``state``; return its alerts. TimeoutError names what was seen."""
        deadline = time.monotonic() + timeout_s
        seen: list[str] = []
        while True:
            frame = self.alerts()
            mine = frame[frame["alertname"] == alertname]
            current = self.alert_state(alertname) if not mine.empty else "inactive"
            if not seen or seen[-1] != current:
                seen.append(current)
            if current == state:
                return mine.reset_index(drop=True)
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"alert {alertname!r} did not become {state} within {timeout_s:g} s at {self.url} "
                    f"(states seen: {' -> '.join(seen)}); check rules() for its health and lastError"
                )
            time.sleep(poll_s)

    def set_rule_group(self, namespace: str, group: str | Mapping[str, Any]) -> None:
        """Create or replace one rule group (YAML text or a dict with ``name`` and ``rules``)."""
        text = group if isinstance(group, str) else yaml.safe_dump(dict(group), sort_keys=False)
        path = f"{self._ns_prefix}/{namespace}"
        response = self.request(
            "POST", path, content=text.encode("utf-8"), headers={"Content-Type": "application/yaml"}
        )
        if response.status_code >= 400:
            raise QueryError(
                f"{self.backend} at {self.url} refused rule group for namespace {namespace!r}: "
                f"{response.text.strip()[:500]}",
                response.status_code,
            )

    def delete_rule_group(self, namespace: str, name: str | None = None) -> None:
        """Delete one group, or the whole namespace when ``name`` is None."""
        path = f"{self._ns_prefix}/{namespace}" + (f"/{name}" if name else "")
        response = self.request("DELETE", path)
        self.raise_for_status(response, path)

    def rule_groups(self) -> dict[str, list[dict[str, Any]]]:
        """The rule groups by namespace, as the ruler's YAML API lists them."""
        response = self.request("GET", self._ns_prefix)
        if response.status_code == 404:
            return {}
        self.raise_for_status(response, self._ns_prefix)
        return dict(yaml.safe_load(response.text) or {})
