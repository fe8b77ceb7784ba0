"""Loki as DataFrames: log lines with labels and structured metadata as columns, metric queries."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import pandas as pd

from labkit.observe._frames import result_frame
from labkit.observe._http import HTTPClient, ObserveError, QueryError
from labkit.observe._rules import RulerMixin
from labkit.observe._time import TimeLike, step_seconds, to_ns, to_timestamp

__all__ = ["Loki"]

# Ask Loki 3 to keep index labels, structured metadata and parsed labels apart, so
# each can become its own columns; servers that ignore it send plain 2-item values.
CATEGORIZE = {"X-Loki-Response-Encoding-Flags": "categorize-labels"}


class Loki(HTTPClient, RulerMixin):
    """Loki API client. Ruler: ``rules()``, ``alerts()``, ``wait_for_alert()``, ``set_rule_group()``."""

    backend = "Loki"
    _prom_rules_prefix = "/prometheus/api/v1"
    _ns_prefix = "/loki/api/v1/rules"
    settings_field = "loki_url"

    def _api(
        self, path: str, params: Any, what: str | None = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        full = f"/loki/api/v1/{path}"
        response = self.request("GET", full, params=params, headers=headers)
        if response.status_code >= 400:
            message, _ = self.error_message(response)
            if response.status_code == 400:
                subject = f"query {what!r}" if what else full
                raise QueryError(f"Loki at {self.url} rejected {subject}: {message}", 400)
            self.raise_for_status(response, full)
        body = self.decode_json(response, full)
        if not isinstance(body, dict) or body.get("status") != "success":
            raise ObserveError(
                f"Loki {self.url}{full} answered without a success envelope: {str(body)[:200]}"
            )
        # `label/<unknown>/values` answers {"status":"success"} without data.
        return body.get("data")

    def query_range(
        self,
        logql: str,
        start: TimeLike = "now-1h",
        end: TimeLike = "now",
        *,
        limit: int = 100,
        direction: Literal["backward", "forward"] = "backward",
        step: str | float | None = None,
    ) -> pd.DataFrame:
        """A log query gives one row per line; a metric query gives samples like ``Mimir.query_range``.

        Log rows: ``timestamp``, ``line``, then index labels, structured metadata and
        parsed labels as columns; ``frame.attrs`` lists which column came from where.
        """
        _check_query(logql)
        if direction not in ("backward", "forward"):
            raise ValueError(f"direction must be 'backward' or 'forward', got {direction!r}")
        if limit <= 0:
            raise ValueError(f"limit must be > 0, got {limit}")
        now = pd.Timestamp.now(tz="UTC")
        start_ts, end_ts = to_timestamp(start, now), to_timestamp(end, now)
        if end_ts < start_ts:
            raise ValueError(f"end ({end_ts}) is before start ({start_ts})")
        params: dict[str, Any] = {
            "query": logql,
            "start": str(start_ts.value),
            "end": str(end_ts.value),
            "limit": str(limit),
            "direction": direction,
        }
        if step is not None:
            params["step"] = f"{step_seconds(step):g}"
        data = self._api("query_range", params, logql, CATEGORIZE)
        if data.get("resultType") == "streams":
            return streams_frame(data, direction)
        return result_frame(data)

    def query(self, logql: str, time: TimeLike = None) -> pd.DataFrame:
        """Instant metric query (Loki refuses log queries here; use ``query_range``)."""
        _check_query(logql)
        params = {"query": logql, "time": str(to_ns(time))}
        return result_frame(self._api("query", params, logql))

    def labels(self, start: TimeLike = "now-1h", end: TimeLike = "now") -> list[str]:
        return sorted(self._api("labels", {"start": str(to_ns(start)), "end": str(to_ns(end))}) or [])

    def label_values(
        self, name: str, query: str | None = None, start: TimeLike = "now-1h", end: TimeLike = "now"
    ) -> list[str]:
        if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", name):
            raise ValueError(f"{name!r} is not a Loki label name")
        params = {"start": str(to_ns(start)), "end": str(to_ns(end))}
        if query:
            params["query"] = query
        return sorted(self._api(f"label/{name}/values", params, query) or [])

    def series(
        self, match: str | Sequence[str], start: TimeLike = "now-1h", end: TimeLike = "now"
    ) -> pd.DataFrame:
        matches = [match] if isinstance(match, str) else list(match)
        if not matches:
            raise ValueError(
                "series() needs at least one stream selector, e.g. '{service_name=\"demo-app\"}'"
            )
        params = [("match[]", m) for m in matches] + [("start", str(to_ns(start))), ("end", str(to_ns(end)))]
        rows = self._api("series", params, ", ".join(matches)) or []
        frame = pd.DataFrame(rows, dtype="object")
        if frame.empty:
            return frame
        frame = frame[sorted(frame.columns)]
        return frame.sort_values(list(frame.columns)).reset_index(drop=True)

    def ready(self) -> bool:
        try:
            response = self.request("GET", "/ready")
        except ObserveError:
            return False
        return response.status_code == 200


def streams_frame(data: Mapping[str, Any], direction: str = "backward") -> pd.DataFrame:
    """Loki ``streams`` (plain or categorize-labels encoded) as one row per log line."""
    rows: list[dict[str, Any]] = []
    index_names: set[str] = set()
    meta_names: set[str] = set()
    parsed_names: set[str] = set()
    for stream in data.get("result") or []:
        labels: Mapping[str, str] = stream.get("stream", {})
        index_names.update(labels)
        for value in stream.get("values", []):
            row: dict[str, Any] = {"timestamp": int(value[0]), "line": value[1], **labels}
            if len(value) > 2 and isinstance(value[2], Mapping):
                extra = value[2]
                meta = extra.get("structuredMetadata") or {}
                parsed = extra.get("parsed") or {}
                meta_names.update(meta)
                parsed_names.update(parsed)
                for key, val in [*meta.items(), *parsed.items()]:
                    row.setdefault(key, val)  # an index label keeps its name when metadata repeats it
            rows.append(row)
    index_cols = sorted(index_names)
    meta_cols = sorted(meta_names - index_names)
    parsed_cols = sorted(parsed_names - index_names - meta_names)
    columns = ["timestamp", "line", *index_cols, *meta_cols, *parsed_cols]
    frame = pd.DataFrame(rows, columns=columns)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"].astype("int64"), unit="ns", utc=True)
    frame["line"] = frame["line"].astype("object")
    frame = frame.sort_values("timestamp", ascending=direction == "forward", kind="stable").reset_index(
        drop=True
    )
    frame.attrs.update(
        result_type="streams",
        index_labels=index_cols,
        structured_metadata=meta_cols,
        parsed_labels=parsed_cols,
        categorized="categorize-labels" in (data.get("encodingFlags") or []),
    )
    return frame


def _check_query(logql: str) -> None:
    if not isinstance(logql, str) or not logql.strip():
        raise ValueError(f"a LogQL query must be a non-empty string, got {logql!r}")
