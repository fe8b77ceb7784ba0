"""Tempo as DataFrames: a trace as a span table (depth, durations), TraceQL search, tags."""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from labkit.observe._http import HTTPClient, NotFound, ObserveError, QueryError
from labkit.observe._time import TimeLike, to_seconds

__all__ = ["Tempo", "attributes_dict", "spans_frame"]

_HEX = re.compile(r"[0-9a-fA-F]+")
SPAN_COLUMNS = [
    "trace_id",
    "span_id",
    "parent_span_id",
    "depth",
    "service_name",
    "name",
    "kind",
    "start",
    "end",
    "duration_ms",
    "self_ms",
    "status_code",
    "status_message",
    "attributes",
    "resource",
    "scope",
    "events",
]


def _id_hex(value: str | None, size: int) -> str:
    """Tempo prints trace-by-id ids as base64 (protobuf JSON) and search ids as hex; accept both."""
    if not value:
        return ""
    # Padded base64 of 16 or 8 bytes always ends in '=', so an all-hex string is hex.
    if len(value) <= size * 2 and _HEX.fullmatch(value):
        return value.lower().rjust(size * 2, "0")
    try:
        return base64.b64decode(value, validate=True).hex()
    except (binascii.Error, ValueError):
        return value.lower()


def _any_value(value: Mapping[str, Any]) -> Any:
    if "stringValue" in value:
        return value["stringValue"]
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return attributes_dict(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def attributes_dict(kvs: Iterable[Mapping[str, Any]] | None) -> dict[str, Any]:
    """OTLP ``[{"key":..., "value":{"intValue":"3"}}]`` as ``{key: 3}`` with Python types."""
    return {kv["key"]: _any_value(kv.get("value", {})) for kv in kvs or []}


def _enum(value: Any, prefix: str, numbers: Mapping[int, str]) -> str:
    if isinstance(value, int):
        return numbers.get(value, str(value))
    text = str(value or "")
    return text[len(prefix) :].lower() if text.startswith(prefix) else text.lower()


_KINDS = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
_STATUS = {0: "unset", 1: "ok", 2: "error"}


def spans_frame(resource_spans: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Flatten ``resourceSpans`` (or v1 ``batches``) into one row per span, parents before children."""
    rows: list[dict[str, Any]] = []
    for rs in resource_spans:
        resource = attributes_dict(rs.get("resource", {}).get("attributes"))
        for ss in rs.get("scopeSpans", rs.get("instrumentationLibrarySpans", [])):
            scope = ss.get("scope", ss.get("instrumentationLibrary", {})).get("name", "")
            for span in ss.get("spans", []):
                status = span.get("status", {}) or {}
                rows.append(
                    {
                        "trace_id": _id_hex(span.get("traceId"), 16),
                        "span_id": _id_hex(span.get("spanId"), 8),
                        "parent_span_id": _id_hex(span.get("parentSpanId"), 8),
                        "service_name": str(resource.get("service.name", "")),
                        "name": span.get("name", ""),
                        "kind": _enum(span.get("kind", 0), "SPAN_KIND_", _KINDS),
                        "start_ns": int(span.get("startTimeUnixNano", 0)),
                        "end_ns": int(span.get("endTimeUnixNano", 0)),
                        "status_code": _enum(status.get("code", 0), "STATUS_CODE_", _STATUS),
                        "status_message": status.get("message", ""),
                        "attributes": attributes_dict(span.get("attributes")),
                        "resource": resource,
                        "scope": scope,
                        "events": [
                            {"name": e.get("name", ""), **attributes_dict(e.get("attributes"))}
                            for e in span.get("events", [])
                        ],
                    }
                )
    return _finish(rows)


def _finish(rows: list[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        frame = pd.DataFrame({c: pd.Series([], dtype="object") for c in SPAN_COLUMNS})
        for col in ("start", "end"):
            frame[col] = pd.Series([], dtype="datetime64[ns, UTC]")
        for col in ("duration_ms", "self_ms"):
            frame[col] = pd.Series([], dtype="float64")
        frame["depth"] = pd.Series([], dtype="int64")
        return frame
    by_id = {row["span_id"]: row for row in rows}
    children: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        children.setdefault(row["parent_span_id"], []).append(row)

    def depth(row: dict[str, Any]) -> int:
        # Walk up; a parent that is missing (not yet received) makes this a root, and a cycle stops the walk.
        seen, level, parent = {row["span_id"]}, 0, row["parent_span_id"]
        while parent and parent in by_id and parent not in seen:
            seen.add(parent)
            level += 1
            parent = by_id[parent]["parent_span_id"]
        return level

    for row in rows:
        row["depth"] = depth(row)
        duration = row["end_ns"] - row["start_ns"]
        row["duration_ms"] = duration / 1e6
        child_ns = _covered_ns([(c["start_ns"], c["end_ns"]) for c in children.get(row["span_id"], [])], row)
        row["self_ms"] = max(duration - child_ns, 0) / 1e6

    # Depth-first order (children by start time) reads like Grafana's trace view.
    ordered: list[dict[str, Any]] = []
    roots = sorted((r for r in rows if r["depth"] == 0), key=lambda r: r["start_ns"])
    stack = list(reversed(roots))
    visited: set[int] = set()
    while stack:
        row = stack.pop()
        if id(row) in visited:
            continue
        visited.add(id(row))
        ordered.append(row)
        kids = sorted(children.get(row["span_id"], []), key=lambda r: r["start_ns"])
        stack.extend(reversed([k for k in kids if k is not row]))
    ordered.extend(r for r in rows if id(r) not in visited)

    frame = pd.DataFrame(ordered)
    frame["start"] = pd.to_datetime(frame["start_ns"].astype("int64"), unit="ns", utc=True)
    frame["end"] = pd.to_datetime(frame["end_ns"].astype("int64"), unit="ns", utc=True)
    frame["duration_ms"] = frame["duration_ms"].astype("float64")
    frame["self_ms"] = frame["self_ms"].astype("float64")
    frame["depth"] = frame["depth"].astype("int64")
    return frame[SPAN_COLUMNS].reset_index(drop=True)


def _covered_ns(intervals: list[tuple[int, int]], parent: Mapping[str, Any]) -> int:
    """Time covered by children inside the parent, counting overlaps once."""
    clipped = sorted((max(s, parent["start_ns"]), min(e, parent["end_ns"])) for s, e in intervals if e > s)
    total, cur_s, cur_e = 0, None, None
    for s, e in clipped:
        if e <= s:
            continue
        if cur_e is None or s > cur_e:
            if cur_e is not None and cur_s is not None:
                total += cur_e - cur_s
            cur_s, cur_e = s, e
        else:
            cur_e = max(cur_e, e)
    if cur_e is not None and cur_s is not None:
        total += cur_e - cur_s
    return total


class Tempo(HTTPClient):
    backend = "Tempo"
    settings_field = "tempo_url"

    def _get(self, path: str, params: Any = None, what: str | None = None) -> Any:
        response = self.request("GET", path, params=params)
        if response.status_code == 400:
            message, _ = self.error_message(response)
            subject = f"{what!r}" if what else path
            raise QueryError(f"Tempo at {self.url} rejected {subject}: {message}", 400)
        self.raise_for_status(response, path)
        return self.decode_json(response, path)

    def trace(self, trace_id: str, start: TimeLike = None, end: TimeLike = None) -> pd.DataFrame:
        """All spans of one trace, one row each, with ``depth``, ``duration_ms`` and ``self_ms``."""
        trace_id = _check_trace_id(trace_id)
        params = _window(start, end)
        body = self._get(f"/api/v2/traces/{trace_id}", params or None)
        resource_spans = (body.get("trace") or {}).get("resourceSpans") or body.get("batches") or []
        if not resource_spans:
            raise NotFound(
                f"trace {trace_id} is not in Tempo at {self.url} (yet): spans are batched for about a "
                "second before export; flush telemetry (labkit.telemetry.flush()) and retry"
            )
        return spans_frame(resource_spans)

    def has_trace(self, trace_id: str) -> bool:
        try:
            return not self.trace(trace_id).empty
        except NotFound:
            return False

    def search(
        self,
        traceql: str = "{}",
        start: TimeLike = "now-1h",
        end: TimeLike = "now",
        *,
        limit: int = 20,
        spss: int = 3,
    ) -> pd.DataFrame:
        """TraceQL search: one row per trace (id, root service and name, start, duration, matched spans)."""
        if not isinstance(traceql, str) or not traceql.strip():
            raise ValueError(f"a TraceQL query must be a non-empty string, got {traceql!r}")
        if limit <= 0 or spss <= 0:
            raise ValueError(f"limit and spss must be > 0, got {limit}, {spss}")
        params = {"q": traceql, "limit": str(limit), "spss": str(spss), **_window(start, end)}
        body = self._get("/api/search", params, traceql)
        rows = []
        for item in body.get("traces") or []:
            span_sets = item.get("spanSets") or ([item["spanSet"]] if item.get("spanSet") else [])
            spans = [
                {
                    "span_id": _id_hex(s.get("spanID"), 8),
                    "name": s.get("name", ""),
                    "start": pd.Timestamp(int(s.get("startTimeUnixNano", 0)), unit="ns", tz="UTC"),
                    "duration_ms": int(s.get("durationNanos", 0)) / 1e6,
                    "attributes": attributes_dict(s.get("attributes")),
                }
                for ss in span_sets
                for s in ss.get("spans", [])
            ]
            rows.append(
                {
                    # Search strips leading zeros from trace ids; pad back so ids match trace-by-id and logs.
                    "trace_id": _id_hex(item.get("traceID"), 16),
                    "root_service": item.get("rootServiceName", ""),
                    "root_name": item.get("rootTraceName", ""),
                    "start": int(item.get("startTimeUnixNano", 0)),
                    "duration_ms": float(item.get("durationMs", 0) or 0),
                    "matched": sum(int(ss.get("matched", 0)) for ss in span_sets),
                    "spans": spans,
                }
            )
        frame = pd.DataFrame(
            rows,
            columns=["trace_id", "root_service", "root_name", "start", "duration_ms", "matched", "spans"],
        )
        frame["start"] = pd.to_datetime(frame["start"].astype("int64"), unit="ns", utc=True)
        frame["duration_ms"] = frame["duration_ms"].astype("float64")
        frame["matched"] = frame["matched"].astype("int64")
        return frame

    def search_spans(
        self, traceql: str, start: TimeLike = "now-1h", end: TimeLike = "now", **kw: Any
    ) -> pd.DataFrame:
        """The matched spans of a search, one row each, with their selected attributes as columns."""
        traces = self.search(traceql, start, end, **kw)
        rows = [
            {
                "trace_id": t.trace_id,
                "root_service": t.root_service,
                **{k: v for k, v in s.items() if k != "attributes"},
                **s["attributes"],
            }
            for t in traces.itertuples()
            for s in t.spans
        ]
        frame = pd.DataFrame(rows)
        if frame.empty:
            return pd.DataFrame(
                columns=["trace_id", "root_service", "span_id", "name", "start", "duration_ms"]
            )
        frame["duration_ms"] = frame["duration_ms"].astype("float64")
        frame["start"] = pd.to_datetime(frame["start"], utc=True)
        return frame

    def tags(self, scope: str | None = None) -> pd.DataFrame:
        """Attribute names by scope (``resource``, ``span``, ``event``, ``intrinsic``...)."""
        body = self._get("/api/v2/search/tags", {"scope": scope} if scope else None)
        rows = [(s.get("name", ""), tag) for s in body.get("scopes") or [] for tag in s.get("tags") or []]
        return (
            pd.DataFrame(rows, columns=["scope", "tag"]).sort_values(["scope", "tag"]).reset_index(drop=True)
        )

    def tag_values(self, tag: str, traceql: str | None = None) -> list[Any]:
        """Values of one attribute; ``tag`` may be scoped (``resource.service.name``)."""
        if not tag or "/" in tag:
            raise ValueError(f"{tag!r} is not an attribute name")
        params = {"q": traceql} if traceql else None
        if "." in tag and tag.split(".", 1)[0] in ("resource", "span", "event", "link", "instrumentation"):
            body = self._get(f"/api/v2/search/tag/{tag}/values", params)
            return sorted({_typed(v) for v in body.get("tagValues") or []}, key=str)
        body = self._get(f"/api/search/tag/{tag}/values", params)
        return sorted(body.get("tagValues") or [], key=str)

    def ready(self) -> bool:
        try:
            response = self.request("GET", "/ready")
        except ObserveError:
            return False
        return response.status_code == 200


def _typed(value: Mapping[str, Any]) -> Any:
    raw = value.get("value")
    if value.get("type") == "int":
        return int(raw)  # type: ignore[arg-type]
    if value.get("type") == "float":
        return float(raw)  # type: ignore[arg-type]
    return raw


def _check_trace_id(trace_id: str) -> str:
    if not isinstance(trace_id, str) or not _HEX.fullmatch(trace_id or "") or len(trace_id) > 32:
        raise ValueError(f"a trace id is up to 32 hex characters, got {trace_id!r}")
    return trace_id.lower().rjust(32, "0")


def _window(start: TimeLike, end: TimeLike) -> dict[str, str]:
    params: dict[str, str] = {}
    if start is not None:
        params["start"] = str(int(to_seconds(start)))
    if end is not None:
        # Tempo's end is exclusive at second resolution; round up so "now" includes this second.
        params["end"] = str(int(to_seconds(end)) + 1)
    return params
