"""Tempo's JSON shapes for traces and search results, built from ``spans`` rows.

Trace-by-id is protobuf-JSON as Tempo prints it from a parquet block (not OTLP/JSON):
base64 ids, ``SPAN_KIND_*`` and ``STATUS_CODE_*`` names, ``{}`` for an unset status,
int attribute values as strings, and two reorderings Tempo's storage makes:

- span attributes: the generic ones in pushed order, then the ones Tempo keeps in its
  default *dedicated columns* (``http.request.method``, ``http.response.status_code``,
  ``url.path``, ...) in the order of that column list;
- resource attributes: the generic ones sorted by key, then ``service.name``, then the
  dedicated ``k8s.*`` ones;

and the deep sort of ``SortTrace`` (spans by start time then id, scopes and batches by
their first span).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.evaluate import SpanSet
from labkit.lgtm.traces.traceql.metrics import value_json
from labkit.lgtm.traces.traceql.model import ROOT_NOT_YET_RECEIVED, Span, Trace

__all__ = [
    "DEDICATED_RESOURCE",
    "DEDICATED_SPAN",
    "go_json",
    "render_search_trace",
    "render_trace",
    "strip_trace_id",
]

# Tempo's default dedicated attribute columns (tempodb/backend, defaultDedicatedColumns),
# as (name, value type) in column order.
DEDICATED_SPAN: tuple[tuple[str, str], ...] = (
    ("http.request.method", "stringValue"),
    ("http.response.status_code", "intValue"),
    ("url.path", "stringValue"),
    ("url.route", "stringValue"),
    ("server.address", "stringValue"),
    ("server.port", "intValue"),
    ("http.method", "stringValue"),
    ("http.url", "stringValue"),
    ("http.route", "stringValue"),
    ("http.status_code", "intValue"),
)
# Resource: the static service.name column, then the dedicated k8s columns.
DEDICATED_RESOURCE: tuple[tuple[str, str], ...] = (
    ("service.name", "stringValue"),
    ("k8s.cluster.name", "stringValue"),
    ("k8s.namespace.name", "stringValue"),
    ("k8s.pod.name", "stringValue"),
    ("k8s.container.name", "stringValue"),
)
_DEDICATED_SPAN_NAMES = frozenset(n for n, _ in DEDICATED_SPAN)
_DEDICATED_RESOURCE_NAMES = frozenset(n for n, _ in DEDICATED_RESOURCE)

_KINDS = (
    "SPAN_KIND_UNSPECIFIED",
    "SPAN_KIND_INTERNAL",
    "SPAN_KIND_SERVER",
    "SPAN_KIND_CLIENT",
    "SPAN_KIND_PRODUCER",
    "SPAN_KIND_CONSUMER",
)
_STATUS = ("STATUS_CODE_UNSET", "STATUS_CODE_OK", "STATUS_CODE_ERROR")


def _gofloats(x: Any) -> Any:
    # Go's encoding/json prints a float64 with an integral value without ".0"
    # (119.0 -> 119); mirror it so clients parse the same number type.
    if isinstance(x, float):
        return int(x) if x.is_integer() and abs(x) < 1e21 else x
    if isinstance(x, dict):
        return {k: _gofloats(v) for k, v in x.items()}
    if isinstance(x, list):
        return [_gofloats(v) for v in x]
    return x


def go_json(obj: Any) -> bytes:
    """Compact JSON as Tempo's Go encoder writes it."""
    return json.dumps(_gofloats(obj), ensure_ascii=False, separators=(",", ":")).encode()


def strip_trace_id(trace_id: str) -> str:
    """Search results print trace ids without leading zeros (Tempo quirk)."""
    return trace_id.lstrip("0") or "0"


def _b64(hex_id: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_id)).decode() if hex_id else ""


def _dedicated_order(
    kvs: Sequence[Mapping[str, Any]], columns: Sequence[tuple[str, str]], sort_generic: bool
) -> list[Mapping[str, Any]]:
    by_name = {kv["key"]: kv for kv in kvs}
    dedicated = [
        by_name[name]
        for name, vtype in columns
        if name in by_name and vtype in (by_name[name].get("value") or {})
    ]
    chosen = {id(kv) for kv in dedicated}
    generic = [kv for kv in kvs if id(kv) not in chosen]
    if sort_generic:
        generic.sort(key=lambda kv: kv["key"])
    return generic + dedicated


def _status(row: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if row.get("status_message"):
        out["message"] = row["status_message"]
    code = int(row.get("status_code") or 0)
    if code:
        out["code"] = _STATUS[code] if code < 3 else code
    return out


def _span_json(row: Mapping[str, Any]) -> dict[str, Any]:
    sp: dict[str, Any] = {"traceId": _b64(row["trace_id"]), "spanId": _b64(row["span_id"])}
    if row.get("trace_state"):
        sp["traceState"] = row["trace_state"]
    if row.get("parent_span_id"):
        sp["parentSpanId"] = _b64(row["parent_span_id"])
    sp["name"] = row.get("name") or ""
    kind = int(row.get("kind") or 0)
    if kind:
        sp["kind"] = _KINDS[kind] if kind < len(_KINDS) else kind
    sp["startTimeUnixNano"] = str(row["start_ns"])
    sp["endTimeUnixNano"] = str(row["end_ns"])
    attrs = row.get("attributes") or []
    if attrs:
        sp["attributes"] = _dedicated_order(attrs, DEDICATED_SPAN, sort_generic=False)
    if row.get("dropped_attributes_count"):
        sp["droppedAttributesCount"] = row["dropped_attributes_count"]
    if row.get("events"):
        sp["events"] = row["events"]
    if row.get("dropped_events_count"):
        sp["droppedEventsCount"] = row["dropped_events_count"]
    if row.get("links"):
        sp["links"] = [
            {**link, "traceId": _b64(link.get("traceId", "")), "spanId": _b64(link.get("spanId", ""))}
            for link in row["links"]
        ]
    if row.get("dropped_links_count"):
        sp["droppedLinksCount"] = row["dropped_links_count"]
    sp["status"] = _status(row)
    return sp


def _span_sort_key(row: Mapping[str, Any]) -> tuple[int, bytes]:
    return (int(row["start_ns"]), bytes.fromhex(row["span_id"]))


def render_trace(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """``batches`` (v1) / ``resourceSpans`` (v2) for the spans of one trace."""
    batches: dict[tuple[Any, ...], dict[tuple[Any, ...], list[Mapping[str, Any]]]] = {}
    heads: dict[tuple[Any, ...], Mapping[str, Any]] = {}
    for row in rows:
        rkey = (
            row.get("batch_seq"),
            json.dumps(row.get("resource_attributes")),
            row.get("resource_schema_url"),
        )
        skey = (
            row.get("scope_name"),
            row.get("scope_version"),
            json.dumps(row.get("scope_attributes")),
            row.get("scope_schema_url"),
        )
        batches.setdefault(rkey, {}).setdefault(skey, []).append(row)
        heads.setdefault(rkey, row)
    out: list[tuple[tuple[int, bytes], dict[str, Any]]] = []
    for rkey, scopes in batches.items():
        head = heads[rkey]
        scope_items: list[tuple[tuple[int, bytes], dict[str, Any]]] = []
        for srows in scopes.values():
            srows = sorted(srows, key=_span_sort_key)
            first = srows[0]
            scope: dict[str, Any] = {}
            if first.get("scope_name"):
                scope["name"] = first["scope_name"]
            if first.get("scope_version"):
                scope["version"] = first["scope_version"]
            if first.get("scope_attributes"):
                scope["attributes"] = first["scope_attributes"]
            item: dict[str, Any] = {"scope": scope, "spans": [_span_json(r) for r in srows]}
            if first.get("scope_schema_url"):
                item["schemaUrl"] = first["scope_schema_url"]
            scope_items.append((_span_sort_key(first), item))
        scope_items.sort(key=lambda x: x[0])
        resource: dict[str, Any] = {}
        res_attrs = head.get("resource_attributes") or []
        if res_attrs:
            resource["attributes"] = _dedicated_order(res_attrs, DEDICATED_RESOURCE, sort_generic=True)
        batch: dict[str, Any] = {"resource": resource, "scopeSpans": [s for _, s in scope_items]}
        if head.get("resource_schema_url"):
            batch["schemaUrl"] = head["resource_schema_url"]
        out.append((scope_items[0][0], batch))
    out.sort(key=lambda x: x[0])
    return [b for _, b in out]


# ------------------------------------------------------------------------------- search
def _is_dedicated(f: ast.Attribute) -> bool:
    if f.scope == "span":
        return f.name in _DEDICATED_SPAN_NAMES
    if f.scope == "resource":
        return f.name in _DEDICATED_RESOURCE_NAMES
    return f.name in _DEDICATED_SPAN_NAMES or f.name in _DEDICATED_RESOURCE_NAMES


def _raw_attr(span: Span, f: ast.Attribute) -> Any:
    if f.scope in ("span", "") and f.name in span.attrs:
        return span.attrs.raw[f.name]
    if f.scope in ("resource", "") and f.name in span.resource:
        return span.resource.raw[f.name]
    return None


def _span_attributes(span: Span, refs: Mapping[ast.Field, bool]) -> tuple[list[dict[str, Any]], bool]:
    out: dict[str, Any] = {}
    with_name = False
    for f, from_select in refs.items():
        if isinstance(f, ast.Intrinsic):
            if f.name == "name":
                with_name = True
            elif f.name == "status":
                out.setdefault(
                    "status", value_json(("status", ("unset", "ok", "error")[min(span.status_code, 2)]))
                )
            elif f.name == "kind":
                names = ("unspecified", "internal", "server", "client", "producer", "consumer")
                out.setdefault(
                    "kind", value_json(("kind", names[span.kind] if 0 <= span.kind < 6 else "unspecified"))
                )
            elif f.name == "statusMessage":
                out.setdefault("statusMessage", {"stringValue": span.status_message})
            continue
        raw = _raw_attr(span, f)
        if raw is not None:
            out.setdefault(f.name, raw)
        elif from_select and _is_dedicated(f):
            # Tempo reads a missing dedicated column as a nil value and prints it.
            out.setdefault(f.name, {"stringValue": "nil"})
    return [{"key": k, "value": v} for k, v in out.items()], with_name


def _spanset_json(ss: SpanSet, spss: int) -> dict[str, Any]:
    spans = []
    for span in ss.spans[:spss]:
        attrs, with_name = _span_attributes(span, ss.refs.get(span.idx, {}))
        item: dict[str, Any] = {"spanID": span.span_id}
        if with_name:
            item["name"] = span.name
        item["startTimeUnixNano"] = str(span.start_ns)
        item["durationNanos"] = str(span.duration_ns)
        if attrs:
            item["attributes"] = attrs
        spans.append(item)
    out: dict[str, Any] = {"spans": spans, "matched": len(ss.spans)}
    if ss.attributes:
        out["attributes"] = [{"key": k, "value": value_json(v)} for k, v in ss.attributes]
    return out


def _service_stats(trace: Trace) -> dict[str, dict[str, int]]:
    stats: dict[str, dict[str, int]] = {}
    for s in trace.spans:
        st = stats.setdefault(s.service_name, {"spanCount": 0})
        st["spanCount"] += 1
        if s.status_code == 2:
            st["errorCount"] = st.get("errorCount", 0) + 1
    return {k: stats[k] for k in sorted(stats)}


def render_search_trace(trace: Trace, spansets: list[SpanSet] | None, spss: int) -> dict[str, Any]:
    """One entry of a search answer's ``traces``; ``spansets`` None for legacy tag search."""
    out: dict[str, Any] = {"traceID": strip_trace_id(trace.trace_id), "rootServiceName": trace.root_service}
    if trace.root_service != ROOT_NOT_YET_RECEIVED or trace.root_name:
        out["rootTraceName"] = trace.root_name
    out["startTimeUnixNano"] = str(trace.start_ns)
    duration_ms = trace.duration_ns // 1_000_000
    if duration_ms:
        out["durationMs"] = duration_ms
    if spansets is not None:
        sets = [_spanset_json(ss, spss) for ss in spansets]
        if sets:
            out["spanSet"] = sets[0]
            out["spanSets"] = sets
        out["serviceStats"] = _service_stats(trace)
    return out
