"""The in-memory view TraceQL evaluates: traces of spans built from ``spans`` table rows.

A row is a dict keyed by the columns of the ``spans`` table (docs/architecture.md); the
attribute columns may be parsed lists or the raw JSON text, which is then parsed only
when a query reads an attribute (most searches never look at most spans). Spans keep the
order in which they were stored (``batch_seq``, ``seq``): Tempo lists the spans of a
search result in block order, which for one push is the pushed order.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "KIND_NAMES",
    "ROOT_NOT_YET_RECEIVED",
    "STATUS_NAMES",
    "Span",
    "Trace",
    "Value",
    "build_traces",
    "json_to_value",
]

# A typed value: (type, python value); type is string|int|float|bool|duration|status|kind|array|other.
Value = tuple[str, Any]

KIND_NAMES = ("unspecified", "internal", "server", "client", "producer", "consumer")
STATUS_NAMES = ("unset", "ok", "error")
ROOT_NOT_YET_RECEIVED = "<root span not yet received>"


def json_to_value(v: Mapping[str, Any] | None) -> Value | None:
    """OTLP protobuf-JSON AnyValue -> typed value (None when empty)."""
    if not v:
        return None
    if "stringValue" in v:
        return ("string", v["stringValue"])
    if "intValue" in v:
        return ("int", int(v["intValue"]))
    if "doubleValue" in v:
        d = v["doubleValue"]
        return ("float", float(d))
    if "boolValue" in v:
        return ("bool", bool(v["boolValue"]))
    if "arrayValue" in v:
        items = [json_to_value(x) for x in (v["arrayValue"] or {}).get("values", [])]
        return ("array", tuple(x for x in items if x is not None))
    return ("other", v)


@lru_cache(maxsize=8192)
def _parse_kvs(text: str) -> dict[str, Any]:
    # Resource attribute JSON repeats on every span of a resource: parse each text once.
    return {kv["key"]: kv.get("value") for kv in json.loads(text)}


class _Attrs:
    """Attribute lookup that parses the JSON column and converts a value only when asked."""

    __slots__ = ("_cache", "_raw", "_text")

    def __init__(self, kvs: Iterable[Mapping[str, Any]] | str | None) -> None:
        self._text: str | None = None
        self._raw: dict[str, Any] | None = None
        if isinstance(kvs, str):
            self._text = kvs
        else:
            self._raw = {kv["key"]: kv.get("value") for kv in (kvs or ())}
        self._cache: dict[str, Value | None] = {}

    @property
    def raw(self) -> dict[str, Any]:
        if self._raw is None:
            self._raw = _parse_kvs(self._text) if self._text and self._text != "[]" else {}
        return self._raw

    def get(self, key: str) -> Value | None:
        try:
            return self._cache[key]
        except KeyError:
            raw = self.raw
            v = json_to_value(raw.get(key)) if key in raw else None
            self._cache[key] = v
            return v

    def __contains__(self, key: str) -> bool:
        return key in self.raw


@dataclass(eq=False)
class Span:
    idx: int  # position in the trace's storage order
    trace: Trace
    span_id: str
    parent_span_id: str
    name: str
    kind: int
    start_ns: int
    end_ns: int
    status_code: int
    status_message: str
    service_name: str
    attrs: _Attrs
    resource: _Attrs
    row: Mapping[str, Any]
    parent: Span | None = None
    children: list[Span] = field(default_factory=list)

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns


@dataclass(eq=False)
class Trace:
    trace_id: str
    spans: list[Span] = field(default_factory=list)
    root: Span | None = None
    start_ns: int = 0
    end_ns: int = 0

    @property
    def duration_ns(self) -> int:
        return self.end_ns - self.start_ns

    @property
    def root_service(self) -> str:
        return self.root.service_name if self.root else ROOT_NOT_YET_RECEIVED

    @property
    def root_name(self) -> str:
        return self.root.name if self.root else ""

    def finish(self) -> None:
        by_id = {s.span_id: s for s in self.spans}
        for s in self.spans:
            p = by_id.get(s.parent_span_id) if s.parent_span_id else None
            if p is not None and p is not s:
                s.parent = p
                p.children.append(s)
            if not s.parent_span_id and self.root is None:
                self.root = s
        self.start_ns = min(s.start_ns for s in self.spans)
        self.end_ns = max(s.end_ns for s in self.spans)


def _order_key(row: Mapping[str, Any]) -> tuple[int, int]:
    return (int(row.get("batch_seq") or 0), int(row.get("seq") or 0))


def build_traces(rows: Iterable[Mapping[str, Any]]) -> list[Trace]:
    """Group span rows into traces (first-seen order), spans in stored order."""
    traces: dict[str, Trace] = {}
    for row in sorted(rows, key=_order_key):
        tid = row["trace_id"]
        tr = traces.get(tid)
        if tr is None:
            tr = traces[tid] = Trace(tid)
        tr.spans.append(
            Span(
                idx=len(tr.spans),
                trace=tr,
                span_id=row["span_id"],
                parent_span_id=row.get("parent_span_id") or "",
                name=row.get("name") or "",
                kind=int(row.get("kind") or 0),
                start_ns=int(row["start_ns"]),
                end_ns=int(row["end_ns"]),
                status_code=int(row.get("status_code") or 0),
                status_message=row.get("status_message") or "",
                service_name=row.get("service_name") or "",
                attrs=_Attrs(row.get("attributes")),
                resource=_Attrs(row.get("resource_attributes")),
                row=row,
            )
        )
    for tr in traces.values():
        tr.finish()
    return list(traces.values())
