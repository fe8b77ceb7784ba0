"""The SQL pushdown never hides a trace the evaluator would match (it only narrows the scan)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labkit.lgtm.db import Database
from labkit.lgtm.otlp.decode import decode_request
from labkit.lgtm.traces import prefilter
from labkit.lgtm.traces import query as tq
from labkit.lgtm.traces.store import store_traces
from labkit.lgtm.traces.traceql import ast, evaluate_pipeline, format_query, parse

from .golden_replay import GOLDEN_DIR, load_golden

T0 = 1_795_664_220_000_000_000


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Database:
    out = Path(tmp_path_factory.mktemp("prefilter"))
    subprocess.run([sys.executable, str(GOLDEN_DIR / "make_dataset.py"), str(T0), str(out)], check=True,
                   capture_output=True)  # fmt: skip
    request = decode_request("traces", (out / "traces.json").read_bytes(), "application/json")
    database = Database(None)
    with database.transaction() as con:
        store_traces(database, con, request)
    return database


def _brute_force(db: Database, query: ast.Query) -> set[str]:
    return {t.trace_id for t in tq.load_traces(db) if evaluate_pipeline(query.pipeline, t)}


def _candidates(db: Database, query: ast.Query) -> set[str]:
    return set(tq._candidate_ids(db, None, None, prefilter.trace_condition(query.pipeline)))


GOLDEN_QUERIES = sorted(
    {
        dict(r["params"])["q"]
        for r in load_golden()["requests"]
        if dict(r.get("params", [])).get("q", "").strip()
    }
    - {"{ resource.service.name = }"}
)


@pytest.mark.parametrize("text", GOLDEN_QUERIES)
def test_golden_queries_keep_every_match(db: Database, text: str) -> None:
    query = parse(text)
    matched = _brute_force(db, query)
    assert matched <= _candidates(db, query)


def test_pushdown_actually_narrows(db: Database) -> None:
    query = parse('{ resource.service.name = "email" && span.http.response.status_code = 202 }')
    assert len(_candidates(db, query)) == len(_brute_force(db, query)) == 10
    assert len(tq._candidate_ids(db, None, None, None)) == 40


ATTRS = {
    "span.http.response.status_code": [200, 202, 409, 500, 502, "500"],
    "span.cache.hit": [True, False],
    "span.payment.method": ["card", "paypal", "apple_pay"],
    "span.payment.amount": [100.0, 119, 250.5],
    "resource.service.name": ["checkout", "email", "payments", "nope"],
    ".http.route": ["/api/products", "/cart", "/inventory/items"],
    ".retry": [True, False],
    "span.db.system": ["postgresql"],
}
INTRINSICS = {
    "name": ['"POST /api/checkout"', '"cache.lookup"', '"GET"'],
    "status": ["error", "ok", "unset"],
    "kind": ["server", "client", "internal"],
    "duration": ["1ms", "100ms", "500ms", "1s"],
    "statusMessage": ['"upstream timeout"', '""'],
}


def _literal(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v)
    return str(v)


def _attr_condition(field: str, op: str, value: object) -> str:
    return f"{field} {op} {_literal(value)}"


attr_conditions = st.builds(
    _attr_condition,
    st.sampled_from(sorted(ATTRS)),
    st.sampled_from(["=", "!=", ">", ">=", "<", "<="]),
    st.sampled_from([v for vs in ATTRS.values() for v in vs]),
)
intrinsic_conditions = st.builds(
    lambda k, op, v: f"{k} {op} {v}",
    st.sampled_from(sorted(INTRINSICS)),
    st.sampled_from(["=", "!="]),
    st.sampled_from([v for vs in INTRINSICS.values() for v in vs]),
)
nil_conditions = st.builds(
    lambda k, v: f"{k} {v}", st.sampled_from(sorted(ATTRS)), st.sampled_from(["= nil", "!= nil"])
)
regex_conditions = st.builds(
    lambda op, v: f'name {op} "{v}"', st.sampled_from(["=~", "!~"]), st.sampled_from(["GET.*", "POST", ".*"])
)
conditions = st.one_of(attr_conditions, intrinsic_conditions, nil_conditions, regex_conditions)
filters = st.recursive(
    conditions,
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["&&", "||"]), inner
    ),
    max_leaves=3,
)
spansets = st.recursive(
    filters.map(lambda f: "{ " + f + " }"),
    lambda inner: st.builds(
        lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(list(ast.SPANSET_OPS)), inner
    ),
    max_leaves=3,
)


@settings(max_examples=150, deadline=None)
@given(spansets)
def test_random_queries_keep_every_match(db: Database, text: str) -> None:
    query = parse(text)
    assert _brute_force(db, query) <= _candidates(db, query), format_query(query)


def _without_exemplar_order(body: dict[str, object]) -> list[object]:
    series = []
    for s in body["series"]:  # type: ignore[attr-defined]
        s = dict(s)
        s["exemplars"] = sorted(json.dumps(e, sort_keys=True) for e in s.get("exemplars", []))
        series.append(json.dumps(s, sort_keys=True))
    return sorted(series)


@pytest.mark.parametrize(
    "text",
    [
        "{ } | rate()",
        '{ resource.service.name = "checkout" } | rate()',
        "{ status = error } | count_over_time() by (resource.service.name)",
        '{ kind = server && duration > 20ms || name = "cache.lookup" } | rate() by (name, kind)',
        '{ resource.service.name != "email" && status != ok } | count_over_time() by (status)',
        '{ statusMessage = "upstream timeout" } | rate() by (resource.service.name)',
    ],
)
@pytest.mark.parametrize("step_s", [15, 60])
def test_sql_metrics_equal_the_evaluator(db: Database, text: str, step_s: int) -> None:
    from labkit.lgtm.traces.metrics_sql import fast_query_range
    from labkit.lgtm.traces.traceql import query_range

    query = parse(text)
    start, end, step = T0 - 120 * 10**9, T0, step_s * 10**9
    fast = fast_query_range(db, query, start, end, step)
    assert fast is not None
    slow = query_range(query, tq.load_traces(db, start - step, end + step, query), start, end, step)
    assert fast["series"] and _without_exemplar_order(fast) == _without_exemplar_order(slow)


@pytest.mark.parametrize(
    "text",
    ["{ span.cache.hit = true } | rate()", "{ } | rate() by (span.http.route)", "{ } | by(name) | rate()",
     '{ name =~ "GET.*" } | rate()', "{ } | avg_over_time(duration)"],
)  # fmt: skip
def test_sql_metrics_decline_what_they_cannot_say_exactly(db: Database, text: str) -> None:
    from labkit.lgtm.traces.metrics_sql import fast_query_range

    assert fast_query_range(db, parse(text), T0 - 60 * 10**9, T0, 15 * 10**9) is None
