"""The per-query line memo of metric queries changes no result, and gives up when lines do not repeat."""

from __future__ import annotations

import random

import pytest

from labkit.lgtm.logs.logql import evaluate
from labkit.lgtm.logs.logql.evaluate import _LineMemo, evaluate_range
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.source import MemorySource

S = 10**9
T0 = 1_800_000_000 * S


def _source(distinct: int) -> MemorySource:
    """Lines drawn from ``distinct`` texts over two streams, shared metadata dicts, some not logfmt."""
    rnd = random.Random(3)
    streams = [
        {"service_name": "web", "env": "prod"},
        {"service_name": "web", "env": "staging", "status": "x"},
    ]
    metas = [{"detected_level": "info"}, {"detected_level": "error", "route": "/m"}, {}]
    texts = [
        f"level=info route=/r{i % 3} status={500 if i % 4 == 0 else 200} duration={i % 50}ms"
        for i in range(distinct)
    ]
    texts += [
        '{"route": "/j", "status": 503, "duration": "7ms"}',
        "status=oops duration=zz",
        'a="b c" duration=3s',
    ]
    entries = []
    for k in range(3000):
        line = texts[rnd.randrange(len(texts))]
        entries.append((T0 - (3000 - k) * S // 10, streams[k % 2], line, metas[k % 3]))
    return MemorySource(entries)


QUERIES = [
    'quantile_over_time(0.9, {service_name="web"} | logfmt | __error__="" | unwrap duration(duration) [1m])',
    'sum by (route) (count_over_time({service_name="web"} | logfmt | status >= 500 [1m]))',
    'sum_over_time({service_name="web"} | logfmt | unwrap duration(duration) | __error__="" [2m])',
    'bytes_over_time({service_name="web"} |= "route" | logfmt | drop level [1m])',
    'count_over_time({service_name="web"} | json | status >= 500 [1m])',
    'count_over_time({service_name="web"} | logfmt | line_format "{{.__timestamp__}}" |= "7" [1m])',
]


@pytest.mark.parametrize("distinct", [5, 5000])
@pytest.mark.parametrize("query", QUERIES)
def test_memo_changes_no_result(monkeypatch: pytest.MonkeyPatch, query: str, distinct: int) -> None:
    source = _source(distinct)
    args = (parse(query), source, T0 - 300 * S, T0, 15 * S)
    try:
        with_memo = evaluate_range(*args)
    except evaluate.QueryError as exc:
        with_memo = [repr(exc)]  # type: ignore[list-item]
    monkeypatch.setattr(evaluate, "_memoizable", lambda stages: False)
    try:
        without = evaluate_range(*args)
    except evaluate.QueryError as exc:
        without = [repr(exc)]  # type: ignore[list-item]
    assert with_memo == without
    assert with_memo  # the queries select something, so the comparison means something


def test_memo_gives_up_when_lines_do_not_repeat() -> None:
    memo = _LineMemo()
    stream: dict[str, str] = {}
    meta: dict[str, str] = {}
    kept = [memo.put(f"line {i}", stream, meta, None, 1.0) for i in range(_LineMemo._CHECK + 1)]
    assert all(kept[:-1]) and not kept[-1]


def test_memo_never_matches_other_objects_with_a_reused_id() -> None:
    memo = _LineMemo()
    stream = {"a": "1"}
    meta: dict[str, str] = {}
    memo.put("x", stream, meta, None, 2.0)
    assert memo.get("x", stream, meta) == (None, 2.0)
    assert memo.get("x", dict(stream), meta) is None
    assert memo.get("y", stream, meta) is None
