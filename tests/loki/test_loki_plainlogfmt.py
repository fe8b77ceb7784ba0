"""Shortcuts for parsed fields (plain logfmt, top-level JSON) agree with the full pipeline."""

from __future__ import annotations

import json
import random

import pytest

from labkit.lgtm.logs.labels import sanitize_label_name
from labkit.lgtm.logs.logql import evaluate
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.logql.pipeline import logfmt_pairs
from labkit.lgtm.logs.logql.plainlogfmt import PlainLogfmt, plain_label_name
from labkit.lgtm.logs.source import MemorySource

NAMES = ["path", "status", "a", "path_x", "msg"]
KEYS = [*NAMES, "pa", "pathx", "_p", "1path", "pa.th", "path-x", "é", "x"]
VALUE_CHARS = ["a", "/", "5", " ", "=", '"', "\\", "é", "\t", "path", "status=1", "-", "\x01"]


def _line(rng: random.Random) -> str:
    tokens = []
    for _ in range(rng.randrange(0, 6)):
        key = rng.choice(KEYS)
        value = "".join(rng.choice(VALUE_CHARS) for _ in range(rng.randrange(0, 4)))
        form = rng.randrange(4)
        if form == 0:
            tokens.append(key)
        elif form == 1:
            tokens.append(f"{key}={value.replace(' ', '')}")
        else:
            tokens.append(f'{key}="{value}"')
    return rng.choice([" ", " ", " ", "  ", "\t"]).join(tokens) + rng.choice(["", "", " "])


def _reference(line: str, name: str) -> str | None:
    pairs = logfmt_pairs(line)
    assert pairs is not None  # a plain line always tokenizes
    for key, value in pairs:
        if sanitize_label_name(key) == name:
            return value
    return None


def test_plain_lines_give_the_tokenizers_first_values():
    rng = random.Random(5)
    plain = PlainLogfmt(NAMES)
    accepted = 0
    for _ in range(40_000):
        line = _line(rng)
        got = plain.values(line)
        if got is None:
            continue
        accepted += 1
        for name in NAMES:
            assert got.get(name) == _reference(line, name), (line, name)
    assert accepted > 1_000  # the generator really produces plain lines


def test_lines_that_are_not_plain_are_refused():
    plain = PlainLogfmt(["a"])
    refused = ['a="x\\"y"', 'a="b=c"', "a=b  c=d", " a=b", "a=b ", 'a="x', "a=é", "a=\tb", "", "=a", 'a=b"c"']
    for line in refused:
        assert plain.values(line) is None, line
    assert plain.values('b="a=1" a=2') is None  # '=' inside quotes is never plain
    assert plain.values('m="a x" a') == {"a": ""}
    assert plain.values('m="a x" ab=1') == {}


def test_lookup_names():
    assert plain_label_name("path") and plain_label_name("http_status")
    assert not plain_label_name("__error__") and not plain_label_name("path_extracted")


S = 10**9
T0 = 1_800_000_000 * S
LOG_QUERIES = [
    '{env="prod"} | logfmt | status>=500',
    '{env=~".+"} |= "a" | logfmt | path="/a" or status<300',
    '{env=~".+"} | logfmt | a!="" | msg=~".*a.*"',
    '{env=~".+"} | logfmt | path_x=""',
]
METRIC_QUERIES = [
    'sum by (path) (count_over_time({env=~".+"} | logfmt [1m]))',
    'sum by (status, a) (bytes_over_time({env="prod"} |= "a" | logfmt [30s]))',
    'topk(2, sum by (path) (rate({env=~".+"} | logfmt [2m])))',
]


def _memory_source() -> MemorySource:
    rng = random.Random(9)
    streams = [{"env": "prod"}, {"env": "dev", "status": "200"}, {"env": "prod", "app": "x"}]
    entries = []
    for i in range(3000):
        line = _line(rng)
        if rng.random() < 0.5:  # mostly plain lines, like real logfmt
            line = " ".join(
                f"{k}={rng.choice(['/a', '/b', '500', '200', '404', '', 'x'])}" for k in rng.sample(NAMES, 3)
            )
            line += rng.choice(["", ' msg="a b"'])
        meta = {"path": "/meta"} if rng.random() < 0.1 else {}
        entries.append((T0 - rng.randrange(600) * S - i, rng.choice(streams), line, meta))
    return MemorySource(entries)


def _both(monkeypatch, run):
    fast = run()
    with monkeypatch.context() as m:
        m.setattr(evaluate, "plain_label_name", lambda name: False)  # turns the shortcut off
        slow = run()
    return fast, slow


@pytest.mark.parametrize("query", LOG_QUERIES)
@pytest.mark.parametrize("limit", [5, 5000])
def test_log_filter_shortcut_changes_nothing(monkeypatch, query, limit):
    src = _memory_source()

    def run():
        got = evaluate.select_logs(parse(query), src, T0 - 700 * S, T0 + S, limit, True)  # type: ignore[arg-type]
        return [(e.ts_ns, e.line, e.labels.all()) for e in got]

    fast, slow = _both(monkeypatch, run)
    assert fast and fast == slow


@pytest.mark.parametrize("query", METRIC_QUERIES)
def test_metric_shortcut_changes_nothing(monkeypatch, query):
    src = _memory_source()
    fast, slow = _both(
        monkeypatch, lambda: evaluate.evaluate_range(parse(query), src, T0 - 600 * S, T0, 20 * S)
    )
    assert fast and fast == slow


JSON_QUERIES = [
    '{env=~".+"} | json | level="error"',
    '{env=~".+"} | json | level!="info" and code>=500',
    '{env="prod"} | json | code<0 or msg=~"a.*"',
    '{env=~".+"} | json | level="true" or code="-0" or code="1.50"',
    '{env=~".+"} | json | level=""',
]


def _json_source() -> MemorySource:
    rng = random.Random(4)
    values = ["error", "info", 500, 0, 0, -1, 1.5, 2.0, None, True, {"level": "error"}, [1], "a b", 2**70]
    entries = []
    for i in range(3000):
        obj = {k: rng.choice(values) for k in rng.sample(["level", "code", "msg", "level_x", "lev.el"], 3)}
        line = json.dumps(obj)
        roll = rng.random()
        if roll < 0.05:
            line = line.replace(": 0", ": -0", 1)
        elif roll < 0.1:
            line = line[:-1]  # not JSON
        elif roll < 0.15:
            line = '{"level": "error", "level": "info"}'
        elif roll < 0.2:
            line = '{"code": 1.50, "level": 1E2}'
        meta = {"level": "error"} if rng.random() < 0.1 else {}
        stream = rng.choice([{"env": "prod"}, {"env": "dev", "code": "500"}])
        entries.append((T0 - rng.randrange(600) * S - i, stream, line, meta))
    return MemorySource(entries)


@pytest.mark.parametrize("query", JSON_QUERIES)
@pytest.mark.parametrize("limit", [5, 5000])
def test_json_filter_shortcut_changes_nothing(monkeypatch, query, limit):
    src = _json_source()

    def run():
        got = evaluate.select_logs(parse(query), src, T0 - 700 * S, T0 + S, limit, True)  # type: ignore[arg-type]
        return [(e.ts_ns, e.line, e.labels.all()) for e in got]

    fast, slow = _both(monkeypatch, run)
    assert fast and fast == slow
