"""LogQL evaluation against an in-memory source: log selection and metric semantics."""

from __future__ import annotations

import pytest

from labkit.lgtm.logs.logql.errors import QueryError
from labkit.lgtm.logs.logql.evaluate import (
    Scalar,
    evaluate_instant,
    evaluate_range,
    iter_streams,
    select_logs,
    steps_for,
)
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.source import MemorySource

S = 10**9
T0 = 1_800_000_000 * S  # a whole minute
WEB = {"service_name": "web", "env": "prod"}
API = {"service_name": "api", "env": "prod"}
STAGING = {"service_name": "web", "env": "staging"}


def _source() -> MemorySource:
    entries = []
    for i in range(10):  # web: one access line every 10 s, T0-100s .. T0-10s
        status = 500 if i % 5 == 0 else 200
        level = "error" if status == 500 else "info"
        line = f"level={level} method=GET path=/p{i % 2} status={status} duration={i * 150}ms"
        entries.append(
            (T0 - (100 - 10 * i) * S, WEB, line, {"detected_level": "error" if status == 500 else "info"})
        )
    for i in range(4):  # api: JSON
        line = f'{{"level":"warn","msg":"slow","latency_ms":{100 * (i + 1)},"user":{{"id":"u{i % 2}"}}}}'
        entries.append((T0 - (40 - 10 * i) * S, API, line, {"detected_level": "warn"}))
    entries.append((T0 - 5 * S, API, "not json at all", {}))
    entries.append((T0 - 30 * S, STAGING, "level=info msg=hello size=2KB", {"trace_id": "abc"}))
    return MemorySource(entries)


def _logs(query: str, limit: int = 100, backward: bool = True, start=T0 - 3600 * S, end=T0):
    return select_logs(parse(query), _source(), start, end, limit, backward)  # type: ignore[arg-type]


def test_limit_and_direction_pick_newest_or_oldest():
    newest = _logs('{service_name="web"}', limit=3)
    assert [e.ts_ns for e in newest] == [T0 - 10 * S, T0 - 20 * S, T0 - 30 * S]
    oldest = _logs('{service_name="web"}', limit=2, backward=False)
    assert [e.ts_ns for e in oldest] == [T0 - 100 * S, T0 - 90 * S]


def test_end_is_exclusive_and_start_inclusive():
    got = _logs('{service_name="web", env="prod"}', start=T0 - 100 * S, end=T0 - 10 * S)
    assert next(e.ts_ns for e in got) == T0 - 20 * S and got[-1].ts_ns == T0 - 100 * S


def test_line_filters():
    got = _logs('{env="prod"} |= "status=500" != "p1"')
    assert [e.line.split()[2] for e in got] == ["path=/p0"]  # i=0 (p0) and i=5 (p1) are the 500s
    assert len(_logs('{env=~"prod|staging"} |~ "size=\\\\d+KB"')) == 1


def test_logfmt_labels_split_streams_and_numeric_filters():
    got = _logs('{service_name="web", env="prod"} | logfmt | status >= 500 and duration > 100ms')
    assert [e.labels.all()["duration"] for e in got] == ["750ms"]
    streams = list(iter_streams(_logs('{service_name="web"} | logfmt | status=500'), categorize=False))
    assert len(streams) == 2  # different durations -> different label sets
    assert all(labels["status"] == "500" and labels["detected_level"] == "error" for labels, _ in streams)


def test_json_flattening_errors_and_categories():
    got = _logs('{service_name="api"} | json')
    bad = next(e for e in got if e.line == "not json at all")
    assert bad.labels.all()["__error__"] == "JSONParserErr"
    good = got[1]
    stream, metadata, parsed = good.labels.categories()
    assert stream == API and metadata == {"detected_level": "warn"}
    assert parsed == {"level": "warn", "msg": "slow", "latency_ms": "400", "user_id": "u1"}
    assert len(_logs('{service_name="api"} | json | __error__=""')) == 4


def test_parsed_label_clashing_with_stream_label_gets_extracted_suffix():
    src = MemorySource([(T0 - S, {"service_name": "x"}, "service_name=y level=info", {})])
    (entry,) = select_logs(parse('{service_name="x"} | logfmt'), src, T0 - 10 * S, T0, 10)  # type: ignore[arg-type]
    assert entry.labels.all()["service_name"] == "x"
    assert entry.labels.all()["service_name_extracted"] == "y"


def test_pattern_regexp_line_format_keep_drop():
    got = _logs(
        '{service_name="web", env="prod"} | pattern "level=<lvl> method=<_> path=<path> <_>" | lvl="error"'
    )
    assert {e.labels.all()["path"] for e in got} == {"/p0", "/p1"}  # the 500s are i=0 and i=5
    got = _logs('{service_name="web", env="prod"} | regexp "duration=(?P<ms>\\\\d+)ms" | ms > 1000')
    assert [e.labels.all()["ms"] for e in got] == ["1350", "1200", "1050"]
    got = _logs(
        '{service_name="api"} | json | __error__="" | line_format "{{.missing}}[{{.user_id}}]"', limit=1
    )
    assert got[0].line == "[u1]"  # a missing label renders empty
    got = _logs('{service_name="api"} | json | __error__="" | line_format "{{.msg | upper}} {{.latency_ms}}"')
    assert got[0].line == "SLOW 400"
    kept = _logs('{service_name="api"} | json | __error__="" | keep level, service_name', limit=1)[0]
    assert kept.labels.all() == {"service_name": "api", "level": "warn"}
    dropped = _logs('{env="staging"} | logfmt | drop msg, trace_id')[0]
    assert "msg" not in dropped.labels.all() and "trace_id" not in dropped.labels.all()


def test_bytes_label_filter():
    assert len(_logs('{env="staging"} | logfmt | size > 1KB')) == 1
    assert len(_logs('{env="staging"} | logfmt | size > 1MB')) == 0


def test_steps_are_aligned_to_the_step_from_the_epoch():
    assert steps_for(T0 - 617 * S, T0 - 13 * S, 60 * S)[0] == T0 - 660 * S
    assert steps_for(T0 - 617 * S, T0 - 13 * S, 60 * S)[-1] == T0


def test_instant_count_rate_bytes():
    src = _source()
    (sample,) = evaluate_instant(
        parse('sum(count_over_time({service_name="web", env="prod"}[30s]))'), src, T0 - 40 * S
    )
    assert sample.value == 3  # (T0-70s, T0-40s]: -60, -50, -40
    (sample,) = evaluate_instant(parse('sum(rate({service_name="web", env="prod"}[100s]))'), src, T0)
    assert sample.value == pytest.approx(9 / 100)  # T0-100s itself is outside (T0-100s, T0]
    (sample,) = evaluate_instant(parse('sum(bytes_over_time({env="staging"}[1m]))'), src, T0)
    assert sample.value == len("level=info msg=hello size=2KB")


def test_unwrap_aggregations_and_conversions():
    src = _source()
    q = 'sum_over_time({service_name="api"} | json | __error__="" | unwrap latency_ms [1m])'
    samples = evaluate_instant(parse(q), src, T0)
    # one series per parsed label set: user u0 has 100 + 300, u1 has 200 + 400
    assert [(s.labels["user_id"], s.value) for s in samples] == [("u0", 400), ("u1", 600)]
    assert all("latency_ms" not in s.labels for s in samples)  # the unwrapped label is dropped
    q = 'max_over_time({service_name="api"} | json | __error__="" | unwrap latency_ms [1m]) by (service_name)'
    (s,) = evaluate_instant(parse(q), src, T0)
    assert s.labels == {"service_name": "api"} and s.value == 400
    q = (
        'quantile_over_time(0.5, {service_name="web", env="prod"} | logfmt | unwrap duration(duration) [5m])'
        " by (env)"
    )
    (s,) = evaluate_instant(parse(q), src, T0)
    assert s.value == pytest.approx(0.675)
    q = 'avg_over_time({env="staging"} | logfmt | unwrap bytes(size) [5m]) by (env)'
    assert evaluate_instant(parse(q), src, T0)[0].value == 2000


def test_vector_aggregations_topk_and_label_order():
    src = _source()
    q = 'sum by (path) (count_over_time({service_name="web", env="prod"} | logfmt [5m]))'
    got = evaluate_instant(parse(q), src, T0)
    assert [(s.labels, s.value) for s in got] == [({"path": "/p0"}, 5), ({"path": "/p1"}, 5)]
    q = 'topk(1, sum by (service_name) (count_over_time({env=~".+"}[5m])))'
    (top,) = evaluate_instant(parse(q), src, T0)
    assert top.labels == {"service_name": "web"} and top.value == 11
    q = 'bottomk(2, sum by (service_name, env) (count_over_time({env=~".+"}[5m])))'
    got = evaluate_instant(parse(q), src, T0)
    # sorted by labels, not by value
    assert [s.labels["service_name"] + "/" + s.labels["env"] for s in got] == ["api/prod", "web/staging"]
    q = 'count(sum by (service_name, env) (count_over_time({env=~".+"}[5m])))'
    assert evaluate_instant(parse(q), src, T0)[0].value == 3
    q = 'sum without (env) (count_over_time({service_name="web"}[5m]))'
    got = evaluate_instant(parse(q), src, T0)
    assert [(s.labels, s.value) for s in got] == [
        ({"detected_level": "error", "service_name": "web"}, 2),
        ({"detected_level": "info", "service_name": "web"}, 8),
        ({"service_name": "web", "trace_id": "abc"}, 1),
    ]


def test_binary_operations():
    src = _source()
    assert evaluate_instant(parse("vector(1)+vector(1)"), src, T0)[0].value == 2
    assert evaluate_instant(parse("2 * 3 + 1"), src, T0) == Scalar(7)
    q = 'sum by (env) (count_over_time({service_name="web"}[5m])) * 10'
    assert [s.value for s in evaluate_instant(parse(q), src, T0)] == [100, 10]
    q = 'sum by (env) (count_over_time({service_name="web"}[5m])) > 5'
    assert [s.labels for s in evaluate_instant(parse(q), src, T0)] == [{"env": "prod"}]
    q = 'sum by (env) (count_over_time({service_name="web"}[5m])) > bool 5'
    assert [s.value for s in evaluate_instant(parse(q), src, T0)] == [1, 0]
    q = (
        'sum by (env) (count_over_time({service_name="web"} |= "status=500" [5m])) / '
        'sum by (env) (count_over_time({service_name="web"}[5m]))'
    )
    assert [s.value for s in evaluate_instant(parse(q), src, T0)] == [0.2]


def test_range_query_omits_empty_steps():
    q = 'sum(count_over_time({env="staging"}[1m]))'
    (series,) = evaluate_range(parse(q), _source(), T0 - 180 * S, T0, 60 * S)
    assert series.points == [(T0, 1.0)]  # the line at T0-30s is only inside the window ending at T0


def test_errors():
    with pytest.raises(QueryError, match="log queries are not supported as an instant query"):
        evaluate_instant(parse('{service_name="web"}'), _source(), T0)
    with pytest.raises(QueryError, match="pipeline error: 'JSONParserErr'"):
        evaluate_instant(parse('count_over_time({service_name="api"} | json [5m])'), _source(), T0)
    # grouping away the error label makes the query valid, as in Loki
    q = 'sum by (level) (count_over_time({service_name="api"} | json [5m]))'
    got = evaluate_instant(parse(q), _source(), T0)
    assert [(s.labels, s.value) for s in got] == [({}, 1), ({"level": "warn"}, 4)]
