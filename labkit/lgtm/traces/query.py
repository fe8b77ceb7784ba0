"""Blocking Tempo queries over the ``spans`` table (the API runs them in worker threads).

Search follows what Tempo answers, including when ``limit`` truncates: Tempo's block
is ordered by trace id and the search stops after ``limit`` matches, so the answer is
the ``limit`` matching traces with the *smallest trace ids*, then sorted by start time,
newest first (this reproduces ``search_all_default_limit`` of the golden fixtures).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from labkit.lgtm.db import Database
from labkit.lgtm.traces import metrics_sql, prefilter, render
from labkit.lgtm.traces.store import COLUMNS, JSON_COLUMNS
from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.evaluate import evaluate_pipeline, field_value, validate
from labkit.lgtm.traces.traceql.metrics import query_range
from labkit.lgtm.traces.traceql.model import Trace, build_traces, json_to_value
from labkit.lgtm.traces.traceql.parser import parse

__all__ = [
    "INTRINSIC_TAGS",
    "SearchParams",
    "find_trace",
    "load_traces",
    "metrics_query_range",
    "parse_legacy_tags",
    "parse_query",
    "search",
    "search_tag_values",
    "search_tag_values_v2",
    "search_tags",
    "search_tags_v2",
]

# What Tempo lists in the "intrinsic" scope of /api/v2/search/tags.
INTRINSIC_TAGS = (
    "duration",
    "event:name",
    "event:timeSinceStart",
    "instrumentation:name",
    "instrumentation:version",
    "kind",
    "link:spanID",
    "link:traceID",
    "name",
    "rootName",
    "rootServiceName",
    "span:duration",
    "span:id",
    "span:kind",
    "span:name",
    "span:parentID",
    "span:status",
    "span:statusMessage",
    "status",
    "statusMessage",
    "trace:duration",
    "trace:id",
    "trace:rootName",
    "trace:rootService",
    "traceDuration",
)
_SCOPES = ("span", "resource", "event", "link", "intrinsic")


@dataclass(frozen=True)
class SearchParams:
    query: ast.Query | None  # None: legacy tag search (``tags=``) or no filter at all
    tags: tuple[tuple[str, str], ...] = ()
    start_ns: int | None = None
    end_ns: int | None = None
    limit: int = 20
    spss: int = 3
    min_duration_ns: int | None = None
    max_duration_ns: int | None = None


def _rows(db: Database, where: str, params: list[Any]) -> list[dict[str, Any]]:
    """Every column, JSON parsed (for rendering whole traces)."""
    cols = ", ".join(COLUMNS)
    raw = db.query(f"SELECT {cols} FROM spans WHERE {where} ORDER BY batch_seq, seq", params)
    json_idx = [i for i, c in enumerate(COLUMNS) if c in JSON_COLUMNS]
    out = []
    for r in raw:
        values = list(r)
        for i in json_idx:
            if values[i] is not None:
                values[i] = json.loads(values[i])
        out.append(dict(zip(COLUMNS, values, strict=True)))
    return out


# What evaluation needs; the attribute JSON stays text until a query reads it.
_EVAL_COLUMNS = (
    "trace_id", "span_id", "parent_span_id", "name", "kind", "start_ns", "end_ns", "status_code",
    "status_message", "service_name", "attributes", "resource_attributes", "batch_seq", "seq",
)  # fmt: skip
_TAG_COLUMNS = (*_EVAL_COLUMNS, "events", "links")
_CHUNK = 256  # traces loaded per round trip while searching in trace-id order


def _eval_rows(db: Database, where: str, params: list[Any], columns: tuple[str, ...]) -> list[dict[str, Any]]:
    cols = ", ".join(columns)
    raw = db.query(f"SELECT {cols} FROM spans WHERE {where}", params)
    return [dict(zip(columns, r, strict=True)) for r in raw]


def _candidate_ids(
    db: Database, start_ns: int | None, end_ns: int | None, cond: prefilter.Condition
) -> list[str]:
    """Trace ids in id order whose time range overlaps [start_ns, end_ns] and that pass ``cond``."""
    having, params = [], []
    if start_ns is not None:
        having.append("max(end_ns) >= ?")
        params.append(int(start_ns))
    if end_ns is not None:
        having.append("min(start_ns) <= ?")
        params.append(int(end_ns))
    where = "TRUE"
    if cond is not None:
        where = cond[0]
        params = cond[1] + params
    sql = f"SELECT trace_id FROM spans WHERE {where} GROUP BY trace_id"
    if having:
        # the time range is a property of the whole trace, not of the spans that passed cond
        sql = (
            f"SELECT trace_id FROM spans WHERE trace_id IN ({sql}) GROUP BY trace_id "
            f"HAVING {' AND '.join(having)}"
        )
    return [r[0] for r in db.query(sql + " ORDER BY trace_id", params)]


def _iter_traces(
    db: Database, ids: list[str], columns: tuple[str, ...] = _EVAL_COLUMNS, first_chunk: int = _CHUNK
) -> Iterator[Trace]:
    # Small first round trip (a search often stops after `limit` traces), then bigger ones.
    i, size = 0, max(1, first_chunk)
    while i < len(ids):
        chunk = ids[i : i + size]
        i, size = i + size, min(size * 2, 4 * _CHUNK)
        marks = ", ".join("?" for _ in chunk)
        traces = build_traces(_eval_rows(db, f"trace_id IN ({marks})", chunk, columns))
        traces.sort(key=lambda t: t.trace_id)
        yield from traces


def load_traces(
    db: Database,
    start_ns: int | None = None,
    end_ns: int | None = None,
    query: ast.Query | None = None,
    columns: tuple[str, ...] = _EVAL_COLUMNS,
) -> list[Trace]:
    """Whole traces overlapping [start_ns, end_ns] that may match ``query``, in trace-id order."""
    cond = prefilter.trace_condition(query.pipeline) if query is not None else None
    return list(_iter_traces(db, _candidate_ids(db, start_ns, end_ns, cond), columns))


def find_trace(
    db: Database, trace_id: str, start_ns: int | None, end_ns: int | None
) -> list[dict[str, Any]] | None:
    """The trace's ``batches`` or None when no span of it is stored (in the time range)."""
    where, params = "trace_id = ?", [trace_id]
    rows = _rows(db, where, params)
    if not rows:
        return None
    lo, hi = min(r["start_ns"] for r in rows), max(r["end_ns"] for r in rows)
    if (start_ns is not None and hi < start_ns) or (end_ns is not None and lo > end_ns):
        return None
    return render.render_trace(rows)


def _legacy_match(trace: Trace, tags: tuple[tuple[str, str], ...]) -> bool:
    # Every tag must be found on some span (span or resource attribute, or the span name).
    for key, want in tags:
        found = False
        for s in trace.spans:
            for v in (s.attrs.get(key), s.resource.get(key)) + (
                (("string", s.name),) if key == "name" else ()
            ):
                if v is not None and _legacy_str(v) == want:
                    found = True
                    break
            if found:
                break
        if not found:
            return False
    return True


def _legacy_str(v: tuple[str, Any]) -> str:
    if v[0] == "bool":
        return "true" if v[1] else "false"
    return str(v[1])


def parse_legacy_tags(text: str) -> tuple[tuple[str, str], ...]:
    """``service.name="email" http.response.status_code=202`` (logfmt) -> pairs."""
    pairs = []
    for part in shlex.split(text):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise ValueError(f"invalid tags: {part!r} is not key=value")
        pairs.append((key, value))
    return tuple(pairs)


def search(db: Database, p: SearchParams) -> dict[str, Any]:
    cond = prefilter.trace_condition(p.query.pipeline) if p.query is not None else None
    ids = _candidate_ids(db, p.start_ns, p.end_ns, cond)
    matched: list[tuple[Trace, Any]] = []
    inspected = 0
    everything = ast.Pipeline((ast.SpansetFilter(None),))
    # Traces come in trace-id order, so the first `limit` matches are Tempo's answer.
    for tr in _iter_traces(db, ids, first_chunk=max(p.limit, 16) if p.limit > 0 else _CHUNK):
        inspected += 1
        if p.query is None:
            if p.min_duration_ns is not None and tr.duration_ns < p.min_duration_ns:
                continue
            if p.max_duration_ns is not None and tr.duration_ns > p.max_duration_ns:
                continue
            if p.tags:
                if _legacy_match(tr, p.tags):
                    matched.append((tr, None))
            else:
                matched.append((tr, evaluate_pipeline(everything, tr)))
        else:
            sets = evaluate_pipeline(p.query.pipeline, tr)
            if sets:
                matched.append((tr, sets))
        if 0 < p.limit <= len(matched):
            # Tempo stops the moment the limit-th trace enters the result, after that trace's
            # first spanset: with by() the last trace keeps a single group (golden search_by_service).
            last, sets = matched[-1]
            if sets:
                matched[-1] = (last, sets[:1])
            break
    matched.sort(key=lambda m: m[0].start_ns, reverse=True)
    body = [render.render_search_trace(tr, sets, p.spss) for tr, sets in matched]
    return {
        "traces": body,
        "metrics": {
            "inspectedTraces": inspected,
            "inspectedBytes": str(inspected * 1000),
            "completedJobs": 1,
            "totalJobs": 1,
        },
    }


_KEY_PATHS = {
    "span": ("attributes", "$[*].key"),
    "resource": ("resource_attributes", "$[*].key"),
    "event": ("events", "$[*].attributes[*].key"),
    "link": ("links", "$[*].attributes[*].key"),
}


def _span_range(start_ns: int | None, end_ns: int | None) -> tuple[str, list[Any]]:
    where, params = ["TRUE"], []
    if start_ns is not None:
        where.append("end_ns >= ?")
        params.append(int(start_ns))
    if end_ns is not None:
        where.append("start_ns <= ?")
        params.append(int(end_ns))
    return " AND ".join(where), params


def _attr_keys(db: Database, scope: str, start_ns: int | None, end_ns: int | None) -> set[str]:
    """Attribute names of one scope, straight from the JSON columns (no span is loaded)."""
    column, path = _KEY_PATHS[scope]
    where, params = _span_range(start_ns, end_ns)
    # DISTINCT on the JSON text first: resource attributes repeat on every span of a resource.
    sql = (
        f"SELECT DISTINCT unnest(json_extract_string(j, '{path}')) FROM "
        f"(SELECT DISTINCT CAST({column} AS VARCHAR) AS j FROM spans WHERE {where})"
    )
    return {r[0] for r in db.query(sql, params) if r[0] is not None}


def _span_count(db: Database, start_ns: int | None, end_ns: int | None) -> int:
    where, params = _span_range(start_ns, end_ns)
    return int(db.query(f"SELECT count(*) FROM spans WHERE {where}", params)[0][0])


def _check_scope(scope: str | None) -> None:
    if scope not in (None, "", "all", *_SCOPES):
        raise ValueError(f"unknown scope: {scope}")


def search_tags(db: Database, scope: str | None, start_ns: int | None, end_ns: int | None) -> dict[str, Any]:
    """v1: attribute names (span, resource, event and link mixed, as Tempo does), sorted."""
    _check_scope(scope)
    if scope == "intrinsic":
        names: set[str] = set(INTRINSIC_TAGS)
    elif scope in _KEY_PATHS:
        names = _attr_keys(db, scope, start_ns, end_ns)
    else:
        names = set().union(*(_attr_keys(db, s, start_ns, end_ns) for s in _KEY_PATHS))
    return {
        "tagNames": sorted(names),
        "metrics": {"inspectedBytes": str(_span_count(db, start_ns, end_ns) * 100)},
    }


def search_tags_v2(
    db: Database, scope: str | None, start_ns: int | None, end_ns: int | None
) -> dict[str, Any]:
    """v2: names per scope (each list sorted), intrinsics last."""
    _check_scope(scope)
    wanted = [scope] if scope not in (None, "", "all") else ["event", "link", "resource", "span", "intrinsic"]
    scopes = []
    for name in sorted(wanted, key=lambda n: (n == "intrinsic", n)):
        tags = (
            sorted(INTRINSIC_TAGS) if name == "intrinsic" else sorted(_attr_keys(db, name, start_ns, end_ns))
        )
        if tags or name == scope:
            scopes.append({"name": name, "tags": tags})
    return {"scopes": scopes, "metrics": {"inspectedBytes": str(_span_count(db, start_ns, end_ns) * 100)}}


def _size(traces: list[Trace]) -> int:
    return sum(len(t.spans) for t in traces) * 100


def _attr_values(
    db: Database, column: str, key: str, start_ns: int | None, end_ns: int | None
) -> list[tuple[str, Any]]:
    """Distinct typed values of attribute ``key`` in a JSON attribute column."""
    where, params = _span_range(start_ns, end_ns)
    sql = (
        "SELECT DISTINCT CAST(kv->'value' AS VARCHAR) FROM (SELECT unnest(CAST(j AS JSON[])) AS kv FROM "
        f"(SELECT DISTINCT CAST({column} AS VARCHAR) AS j FROM spans WHERE {where})) WHERE kv->>'key' = ?"
    )
    out = []
    for (text,) in db.query(sql, [*params, key]):
        v = json_to_value(json.loads(text)) if text else None
        if v is not None:
            out.append(v)
    return out


def _value_text(v: tuple[str, Any]) -> str:
    if v[0] == "bool":
        return "true" if v[1] else "false"
    if v[0] == "float":
        return repr(v[1]) if not float(v[1]).is_integer() else str(int(v[1]))
    return str(v[1])


def search_tag_values(db: Database, tag: str, start_ns: int | None, end_ns: int | None) -> dict[str, Any]:
    """v1: the values of an unscoped attribute name as strings, sorted."""
    values = {
        _value_text(v)
        for column in ("attributes", "resource_attributes")
        for v in _attr_values(db, column, tag, start_ns, end_ns)
        if v[0] not in ("array", "other")
    }
    return {
        "tagValues": sorted(values),
        "metrics": {"inspectedBytes": str(_span_count(db, start_ns, end_ns) * 100)},
    }


_V2_TYPES = {
    "string": "string",
    "int": "int",
    "float": "float",
    "bool": "bool",
    "duration": "duration",
    "status": "keyword",
    "kind": "keyword",
}


def search_tag_values_v2(
    db: Database, field: ast.Field, query: ast.Query | None, start_ns: int | None, end_ns: int | None
) -> dict[str, Any]:
    """v2: typed values; for ``kind`` and ``status`` every keyword, as Tempo answers."""
    if isinstance(field, ast.Intrinsic) and field.name in ("kind", "status"):
        words = ast.KINDS if field.name == "kind" else ast.STATUSES
        return {"tagValues": [{"type": "keyword", "value": w} for w in words], "metrics": {}}
    if query is None and isinstance(field, ast.Attribute):
        columns = {"span": ["attributes"], "resource": ["resource_attributes"]}.get(
            field.scope, ["attributes", "resource_attributes"]
        )
        found = {
            (_V2_TYPES[v[0]], _value_text(v)): None
            for c in columns
            for v in _attr_values(db, c, field.name, start_ns, end_ns)
            if v[0] in _V2_TYPES
        }
        return {
            "tagValues": [{"type": t, "value": v} for t, v in found],
            "metrics": {"inspectedBytes": str(_span_count(db, start_ns, end_ns) * 100)},
        }
    if query is not None:
        validate(query)
    traces = load_traces(db, start_ns, end_ns, query)
    seen: dict[tuple[str, str], None] = {}
    for tr in traces:
        spans = tr.spans
        if query is not None:
            spans = [s for ss in evaluate_pipeline(query.pipeline, tr) for s in ss.spans]
        for s in spans:
            v = field_value(s, field)
            if v is None or v[0] not in _V2_TYPES:
                continue
            seen[(_V2_TYPES[v[0]], _value_text(v))] = None
    return {
        "tagValues": [{"type": t, "value": v} for t, v in seen],
        "metrics": {"inspectedBytes": str(_size(traces))},
    }


def metrics_query_range(
    db: Database, query: ast.Query, start_ns: int, end_ns: int, step_ns: int
) -> dict[str, Any]:
    fast = metrics_sql.fast_query_range(db, query, start_ns, end_ns, step_ns)
    if fast is not None:
        fast["metrics"] = {"inspectedBytes": str(_span_count(db, start_ns, end_ns) * 100), "completedJobs": 1,
                           "totalJobs": 1}  # fmt: skip
        return fast
    traces = load_traces(db, start_ns - step_ns, end_ns + step_ns, query)
    body = query_range(query, traces, start_ns, end_ns, step_ns)
    body["metrics"] = {"inspectedBytes": str(_size(traces)), "completedJobs": 1, "totalJobs": 1}
    return body


def parse_query(text: str) -> ast.Query:
    """Parse and validate; an empty query means ``{ }`` as in Tempo."""
    query = parse(text if text.strip() else "{ }")
    validate(query)
    return query
