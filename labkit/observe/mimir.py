"""Mimir (any Prometheus HTTP API) as DataFrames: instant and range queries, series, labels."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from labkit.observe._frames import result_frame
from labkit.observe._http import HTTPClient, ObserveError, QueryError
from labkit.observe._rules import RulerMixin
from labkit.observe._time import TimeLike, step_seconds, to_seconds, to_timestamp

__all__ = ["Mimir"]


class Mimir(HTTPClient, RulerMixin):
    """Prometheus API client; ``url`` includes Mimir's ``/prometheus`` prefix (settings.mimir_url).

    Ruler: ``rules()``, ``alerts()``, ``wait_for_alert()``, ``set_rule_group()`` (see ``_rules``).
    """

    _prom_rules_prefix = "/api/v1"
    _ns_prefix = "/config/v1/rules"

    backend = "Mimir"
    settings_field = "mimir_url"

    def _api(self, path: str, params: Any = None, what: str | None = None) -> Any:
        full = f"/api/v1/{path}"
        response = self.request("GET", full, params=params)
        body = None
        if "json" in response.headers.get("content-type", ""):
            body = self.decode_json(response, full)
        if isinstance(body, dict) and body.get("status") == "error":
            subject = f"query {what!r}" if what else full
            raise QueryError(
                f"Mimir at {self.url} rejected {subject}: "
                f"{body.get('errorType', 'error')}: {body.get('error', '')}",
                response.status_code,
                body.get("errorType"),
            )
        self.raise_for_status(response, full)
        if body is None:
            body = self.decode_json(response, full)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ObserveError(
                f"Mimir {self.url}{full} answered without a Prometheus envelope: {str(body)[:200]}"
            )
        self.last_warnings = [*body.get("warnings", []), *body.get("infos", [])]
        return body.get("data")

    def query(self, promql: str, time: TimeLike = None) -> pd.DataFrame:
        """Instant query: one row per series (``timestamp``, ``value``, ``series``, labels...)."""
        _check_query(promql)
        params: dict[str, Any] = {"query": promql}
        if time is not None:
            params["time"] = f"{to_seconds(time):.3f}"
        frame = result_frame(self._api("query", params, promql))
        frame.attrs["warnings"] = self.last_warnings
        return frame

    def query_range(
        self,
        promql: str,
        start: TimeLike = "now-15m",
        end: TimeLike = "now",
        step: str | float = "15s",
    ) -> pd.DataFrame:
        """Range query: one row per sample, long format (see ``labkit.observe.wide``)."""
        _check_query(promql)
        now = pd.Timestamp.now(tz="UTC")
        start_ts, end_ts = to_timestamp(start, now), to_timestamp(end, now)
        if end_ts < start_ts:
            raise ValueError(f"end ({end_ts}) is before start ({start_ts})")
        params = {
            "query": promql,
            "start": f"{start_ts.value / 1e9:.3f}",
            "end": f"{end_ts.value / 1e9:.3f}",
            "step": f"{step_seconds(step):g}",
        }
        frame = result_frame(self._api("query_range", params, promql))
        frame.attrs["warnings"] = self.last_warnings
        return frame

    def value(self, promql: str, time: TimeLike = None, default: float | None = None) -> float:
        """The single value of an instant query that returns one series (a learner's check)."""
        frame = self.query(promql, time)
        if len(frame) == 1:
            return float(frame["value"].iloc[0])
        if frame.empty and default is not None:
            return default
        raise ObserveError(
            f"{promql!r} returned {len(frame)} series, expected exactly one; aggregate it (sum(...))"
        )

    def series(
        self, match: str | Sequence[str], start: TimeLike = "now-1h", end: TimeLike = "now"
    ) -> pd.DataFrame:
        """The label sets matching one or more selectors, one row per series."""
        matches = [match] if isinstance(match, str) else list(match)
        if not matches:
            raise ValueError("series() needs at least one selector, e.g. '{job=\"demo-app\"}'")
        params = [("match[]", m) for m in matches] + [
            ("start", f"{to_seconds(start):.3f}"),
            ("end", f"{to_seconds(end):.3f}"),
        ]
        rows = self._api("series", params) or []
        frame = pd.DataFrame(rows, dtype="object")
        if "__name__" in frame.columns:
            frame = frame[["__name__", *sorted(c for c in frame.columns if c != "__name__")]]
        return frame.sort_values(list(frame.columns)).reset_index(drop=True) if not frame.empty else frame

    def labels(self, match: str | None = None, start: TimeLike = None, end: TimeLike = None) -> list[str]:
        return sorted(self._api("labels", _window(match, start, end)) or [])

    def label_values(
        self, name: str, match: str | None = None, start: TimeLike = None, end: TimeLike = None
    ) -> list[str]:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            raise ValueError(f"{name!r} is not a Prometheus label name")
        return sorted(self._api(f"label/{name}/values", _window(match, start, end)) or [])

    def metric_names(self, pattern: str | None = None, match: str | None = None) -> list[str]:
        """Metric names (the ``__name__`` values), optionally filtered by a regular expression."""
        names = self.label_values("__name__", match)
        if pattern is None:
            return names
        regex = re.compile(pattern)
        return [n for n in names if regex.search(n)]

    def metadata(self, metric: str | None = None) -> pd.DataFrame:
        data: Mapping[str, list[dict[str, str]]] = (
            self._api("metadata", {"metric": metric} if metric else None) or {}
        )
        rows = [{"metric": name, **entry} for name, entries in data.items() for entry in entries]
        return pd.DataFrame(rows, columns=["metric", "type", "help", "unit"])

    def exemplars(self, promql: str, start: TimeLike = "now-15m", end: TimeLike = "now") -> pd.DataFrame:
        """Exemplars of the series a query selects: timestamp, value, trace_id, span_id, series labels."""
        params = {"query": promql, "start": f"{to_seconds(start):.3f}", "end": f"{to_seconds(end):.3f}"}
        data = self._api("query_exemplars", params, promql) or []
        rows = []
        for group in data:
            labels = group.get("seriesLabels", {})
            for ex in group.get("exemplars", []):
                ex_labels = ex.get("labels", {})
                rows.append(
                    {
                        "timestamp": float(ex["timestamp"]),
                        "value": float(ex["value"]),
                        "trace_id": ex_labels.get("trace_id", ex_labels.get("traceID", "")),
                        "span_id": ex_labels.get("span_id", ex_labels.get("spanID", "")),
                        "series": labels,
                    }
                )
        frame = pd.DataFrame(rows, columns=["timestamp", "value", "trace_id", "span_id", "series"])
        frame["timestamp"] = pd.to_datetime(frame["timestamp"].astype("float64") * 1e9, unit="ns", utc=True)
        frame["value"] = frame["value"].astype("float64")
        return frame

    def ready(self) -> bool:
        try:
            self._api("query", {"query": "vector(1)"})
        except ObserveError:
            return False
        return True


def _check_query(promql: str) -> None:
    if not isinstance(promql, str) or not promql.strip():
        raise ValueError(f"a PromQL query must be a non-empty string, got {promql!r}")


def _window(match: str | None, start: TimeLike, end: TimeLike) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    if match:
        params.append(("match[]", match))
    if start is not None:
        params.append(("start", f"{to_seconds(start):.3f}"))
    if end is not None:
        params.append(("end", f"{to_seconds(end):.3f}"))
    return params
