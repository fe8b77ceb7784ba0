"""TraceQL evaluation over span rows: typing, spanset operators, pipelines, metrics."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.lgtm.traces import traceql
from labkit.lgtm.traces.traceql import build_traces, evaluate_pipeline, query_range
from labkit.lgtm.traces.traceql.evaluate import compare

S = 10**9
T0 = 1_800_000_000 * S


def _kv(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    if isinstance(value, float):
        return {"key": key, "value": {"doubleValue": value}}
    if isinstance(value, list):
        return {"key": key, "value": {"arrayValue": {"values": [{"stringValue": v} for v in value]}}}
    return {"key": key, "value": {"stringValue": value}}


_seq = iter(range(10**6))


def row(trace: str, span: str, parent: str, service: str, name: str, *, kind: int = 1, start: int = 0,
        dur_ms: int = 10, status: int = 0, **attrs: Any) -> dict[str, Any]:  # fmt: skip
    return {
        "trace_id": trace.rjust(32, "0"),
        "span_id": span.rjust(16, "0"),
        "parent_span_id": parent.rjust(16, "0") if parent else "",
        "name": name,
        "kind": kind,
        "start_ns": T0 + start * 10**6,
        "end_ns": T0 + (start + dur_ms) * 10**6,
        "status_code": status,
        "status_message": "boom" if status == 2 else "",
        "service_name": service,
        "attributes": [_kv(k.replace("__", "."), v) for k, v in attrs.items()],
        "resource_attributes": [_kv("service.name", service), _kv("deployment.environment", "prod")],
        "batch_seq": 1,
        "seq": next(_seq),
    }


# trace a: web (root, server) -> web client -> api server -> db client (error, slow)
ROWS = [
    row("a", "1", "", "web", "GET /", kind=2, dur_ms=300, http__status_code=200, http__route="/"),
    row("a", "2", "1", "web", "GET", kind=3, start=5, dur_ms=250, http__status_code=500, retry=True),
    row("a", "3", "2", "api", "GET /items", kind=2, start=6, dur_ms=240, http__status_code=500, ratio=0.25),
    row(
        "a",
        "4",
        "3",
        "api",
        "SELECT",
        kind=3,
        start=10,
        dur_ms=200,
        status=2,
        db__system="pg",
        tags=["x", "y"],
    ),
    row("b", "5", "", "web", "GET /health", kind=2, start=40_000, dur_ms=1, http__status_code=200),
    row("b", "6", "5", "web", "check", kind=1, start=40_000, dur_ms=1),
]


def spans_of(query: str, rows: list[dict[str, Any]] = ROWS) -> dict[str, list[str]]:
    q = traceql.parse(query)
    out: dict[str, list[str]] = {}
    for tr in build_traces(rows):
        sets = evaluate_pipeline(q.pipeline, tr)
        if sets:
            out[tr.trace_id.lstrip("0")] = [s.span_id.lstrip("0") for ss in sets for s in ss.spans]
    return out


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("{ }", {"a": ["1", "2", "3", "4"], "b": ["5", "6"]}),
        ('{ resource.service.name = "api" }', {"a": ["3", "4"]}),
        ('{ .service.name = "api" }', {"a": ["3", "4"]}),  # unscoped falls back to the resource
        ("{ span.http.status_code >= 500 }", {"a": ["2", "3"]}),
        ('{ span.http.status_code = "500" }', {}),  # type mismatch: no match, no error
        ("{ span.http.status_code = 500.0 }", {"a": ["2", "3"]}),  # int and float compare as numbers
        ("{ span.ratio < 0.5 }", {"a": ["3"]}),
        ("{ span.retry = true }", {"a": ["2"]}),
        ("{ span.retry != false }", {"a": ["2"]}),
        ("{ span.missing != 1 }", {}),  # a missing attribute never compares true...
        ("{ span.db.system = nil }", {"a": ["1", "2", "3"], "b": ["5", "6"]}),  # ...except = nil
        ("{ span.db.system != nil }", {"a": ["4"]}),
        ('{ span.tags = "y" }', {"a": ["4"]}),  # arrays match on any element
        ('{ name =~ "GET.*" }', {"a": ["1", "2", "3"], "b": ["5"]}),
        ('{ name =~ "GET" }', {"a": ["2"]}),  # regexes are anchored
        ('{ name !~ "GET.*" }', {"a": ["4"], "b": ["6"]}),
        ("{ status = error }", {"a": ["4"]}),
        ('{ statusMessage = "boom" }', {"a": ["4"]}),
        ("{ kind = client }", {"a": ["2", "4"]}),
        ("{ kind = server && duration > 100ms }", {"a": ["1", "3"]}),
        ("{ duration >= 1ms && duration < 2ms }", {"b": ["5", "6"]}),
        ('{ trace:rootService = "web" && trace:duration > 200ms }', {"a": ["1", "2", "3", "4"]}),
        ('{ trace:rootName = "GET /health" }', {"b": ["5", "6"]}),
        ('{ kind = server || name = "check" }', {"a": ["1", "3"], "b": ["5", "6"]}),
        ('{ !(kind = server) && resource.service.name = "web" }', {"a": ["2"], "b": ["6"]}),
        ('{ status = error } && { name = "GET /" }', {"a": ["1", "4"]}),
        ('{ status = error } || { name = "check" }', {"a": ["4"], "b": ["6"]}),
        ("{ kind = server } > { kind = client }", {"a": ["2", "4"]}),
        ("{ kind = client } > { kind = server }", {"a": ["3"]}),
        ('{ name = "GET /" } >> { status = error }', {"a": ["4"]}),
        ("{ status = error } < { kind = server }", {"a": ["3"]}),
        ("{ status = error } << { kind = server }", {"a": ["1", "3"]}),
        ('{ name = "GET /health" } ~ { }', {}),
        ("{ } | count() > 3", {"a": ["1", "2", "3", "4"]}),
        ("{ } | count() = 2", {"b": ["5", "6"]}),
        ("{ } | avg(duration) > 100ms", {"a": ["1", "2", "3", "4"]}),
        ("{ } | max(span.http.status_code) < 300", {"b": ["5", "6"]}),
        ("{ } | by(resource.service.name) | count() = 2", {"a": ["1", "2", "3", "4"], "b": ["5", "6"]}),
        ("{ kind = server } | { duration > 1ms }", {"a": ["1", "3"]}),
    ],
)
def test_filters(query: str, expected: dict[str, list[str]]) -> None:
    assert spans_of(query) == expected


def test_sibling_operator() -> None:
    rows = [
        row("c", "1", "", "s", "root", kind=2),
        row("c", "2", "1", "s", "left"),
        row("c", "3", "1", "s", "right"),
    ]
    assert spans_of('{ name = "left" } ~ { }', rows) == {"c": ["3"]}


def test_by_groups_and_reports_attributes() -> None:
    q = traceql.parse("{ } | by(resource.service.name)")
    (trace_a,) = [t for t in build_traces(ROWS) if t.trace_id.endswith("a")]
    sets = evaluate_pipeline(q.pipeline, trace_a)
    assert [(ss.attributes[0][0], ss.attributes[0][1], len(ss.spans)) for ss in sets] == [
        ("by(resource.service.name)", ("string", "web"), 2),
        ("by(resource.service.name)", ("string", "api"), 2),
    ]


def test_count_filter_records_the_aggregate() -> None:
    q = traceql.parse('{ resource.service.name = "api" } | count() > 1')
    (trace_a,) = [t for t in build_traces(ROWS) if t.trace_id.endswith("a")]
    (ss,) = evaluate_pipeline(q.pipeline, trace_a)
    assert ss.attributes == [("count()", ("int", 2))]


@pytest.mark.parametrize(
    ("op", "a", "b", "result"),
    [
        ("=", ("int", 1), ("float", 1.0), True),
        (">", ("duration", 2 * S), ("int", S), True),
        ("=", ("string", "1"), ("int", 1), False),
        ("<", ("bool", False), ("bool", True), False),  # bools only compare for (in)equality
        ("=", ("status", "ok"), ("string", "ok"), False),
        ("=~", ("string", "abc"), ("string", "a.c"), True),
        ("=~", ("int", 1), ("string", "1"), False),
        ("=", None, ("int", 1), False),
    ],
)
def test_compare_typing(op: str, a: Any, b: Any, result: bool) -> None:
    assert compare(op, a, b) is result


def test_invalid_regex_is_a_query_error() -> None:
    with pytest.raises(traceql.QueryError, match="error parsing regexp"):
        traceql.validate(traceql.parse('{ name =~ "(" }'))


def test_metrics_rate_and_count_by() -> None:
    step = 30 * S
    q = traceql.parse("{ } | rate()")
    body = query_range(q, build_traces(ROWS), T0 - step, T0 + 60 * S, step)
    (series,) = body["series"]
    assert series["labels"] == [{"key": "__name__", "value": {"stringValue": "rate"}}]
    samples = {int(s["timestampMs"]) * 10**6 - T0: s.get("value") for s in series["samples"]}
    # a span counts at the first step boundary T with start in (T - step, T]: the root of trace a
    # starts exactly at T0, its three children just after, trace b 40 s later
    assert samples == {-step: None, 0: 1 * (1 / 30), step: 3 * (1 / 30), 2 * step: 2 * (1 / 30)}
    q = traceql.parse("{ } | count_over_time() by (resource.service.name)")
    body = query_range(q, build_traces(ROWS), T0, T0 + 60 * S, 60 * S)
    got = {
        s["labels"][0]["value"]["stringValue"]: [x.get("value") for x in s["samples"]] for s in body["series"]
    }
    assert got == {"web": [1.0, 3.0], "api": [None, 2.0]}


def test_log2_quantile_follows_tempo() -> None:
    from labkit.lgtm.traces.traceql.metrics import log2_bucketize, log2_quantile

    assert [log2_bucketize(v) for v in (0, 1, 2, 3, 4, 5, 1024, 1025)] == [-1, -1, 2, 4, 4, 8, 1024, 2048]
    # The bucket holding the ceil(p * n)-th sample; an exact fill is the bucket's top, otherwise
    # exponential interpolation from the previous bucket's top (or half the top for the first).
    assert log2_quantile(0.5, [(4.0, 1), (8.0, 1)]) == 4.0
    assert log2_quantile(1.0, [(4.0, 1), (8.0, 1)]) == 8.0
    assert log2_quantile(0.5, [(1024.0, 10)]) == 2**9.5
    assert log2_quantile(0.9, [(2.0, 5), (8.0, 5)]) == 2 ** (1 + 2 * 4 / 5)
    assert log2_quantile(0.5, []) == 0.0 and log2_quantile(1.5, [(2.0, 1)]) == 0.0


def test_metrics_quantile_over_time_by() -> None:
    step = 60 * S
    rows = [
        row("q1", "1", "", "svc", "fast", start=1, dur_ms=3, node="a"),
        row("q1", "2", "1", "svc", "fast", start=2, dur_ms=5, node="a"),
        row("q2", "3", "", "svc", "slow", start=3, dur_ms=900, node="b"),
    ]
    q = traceql.parse("{ } | quantile_over_time(duration, .5, 1) by (span.node)")
    body = query_range(q, build_traces(rows), T0, T0 + step, step)
    got = {}
    for series in body["series"]:
        labels = {lab["key"]: lab["value"] for lab in series["labels"]}
        key = (labels["span.node"]["stringValue"], labels["p"]["doubleValue"])
        got[key] = [s.get("value") for s in series["samples"]]
    # All start in (T0, T0 + step]. 3 ms -> the 2^22 ns bucket, 5 ms -> 2^23, 900 ms -> 2^30; in seconds.
    assert got[("a", 1.0)] == [None, 2**23 / 1e9]
    assert got[("a", 0.5)] == [None, 2**22 / 1e9]
    assert got[("b", 0.5)] == got[("b", 1.0)] == [None, 2**30 / 1e9]
    assert set(got) == {("a", 0.5), ("a", 1.0), ("b", 0.5), ("b", 1.0)}
    # Without by(): one series per quantile, named like Tempo's ungrouped aggregate.
    body = query_range(
        traceql.parse("{ } | quantile_over_time(duration, 0.95)"), build_traces(rows), T0, T0 + step, step
    )
    (series,) = body["series"]
    assert series["labels"] == [
        {"key": "__name__", "value": {"stringValue": "quantile_over_time"}},
        {"key": "p", "value": {"doubleValue": 0.95}},
    ]
