"""Filters the store runs in DuckDB (regex line filters, ``| logfmt | name op number``) and the
plain-logfmt shortcut of the tokenizer answer exactly like line-by-line evaluation in memory."""

from __future__ import annotations

import json
import random

import pytest

from labkit.lgtm.db import Database
from labkit.lgtm.logs.logql.evaluate import evaluate_range, select_logs
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.logql.pipeline import _LOGFMT_TOKEN, logfmt_pairs
from labkit.lgtm.logs.push import LokiEntry, LokiPush, LokiStream
from labkit.lgtm.logs.source import MemorySource, StoreSource
from labkit.lgtm.logs.store import store_loki_push

S = 10**9
T0 = 1_800_000_000 * S
STREAMS = [
    {"service_name": "web"},
    {"service_name": "api", "env": "prod"},
    {"service_name": "db", "status": "up"},  # a stream label named like the parsed field
]
# Lines the DuckDB filter must judge exactly as the evaluator does: duplicate keys, bare keys,
# quoted values, leading zeros, exponents, long digit runs, unicode digits, non-logfmt lines.
STATUS_VALUES = ["200", "500", "0500", "499", "501", "5e2", "500.0", "", "-1", "9" * 16, "５００", "abc"]


def _line(rng: random.Random) -> str:
    status = rng.choice(STATUS_VALUES)
    shapes = [
        f"level=info status={status} route=/cart",
        f"status={status} status=200",
        f"route=/a status={status}",
        f'msg="hello world" status={status}',
        f'status="{status}" x=1',
        f"status {status}",
        f"statuses={status} status=5",
        f"  status={status}",
        f"status={status}  extra=1",
        f'{{"status": "{status}"}}',
        f"route=/x\\y status={status}",
        "no fields here",
        "status",
        # The name inside a quoted value, and a bare key before the real field.
        f'msg="the status is" status={status}',
        f'msg="last status" status={status}',
        f"status x=1 status={status}",
    ]
    return rng.choice(shapes)


def _push(rng: random.Random) -> LokiPush:
    streams = []
    for labels in STREAMS:
        entries = []
        for _ in range(200):
            ts = T0 - rng.randrange(0, 600) * S
            meta: tuple[tuple[str, str], ...] = ()
            if labels["service_name"] == "api" and rng.random() < 0.3:
                meta = (("status", "7"),)  # metadata named like the parsed field
            entries.append(LokiEntry(ts, _line(rng), meta))
        streams.append(LokiStream(labels, entries))
    return LokiPush(streams)


@pytest.fixture(scope="module")
def sources() -> tuple[StoreSource, MemorySource]:
    db = Database(None)
    rng = random.Random(11)
    with db.transaction() as con:
        store_loki_push(db, con, _push(rng))
    rows = db.query("SELECT ts_ns, labels::VARCHAR, line, metadata::VARCHAR FROM log_entries ORDER BY seq")
    memory = MemorySource([(ts, json.loads(lb), line, json.loads(md)) for ts, lb, line, md in rows])
    return StoreSource(db), memory


SELECTORS = ['{service_name=~".+"}', '{service_name="web"}', '{service_name="db"}', '{env="prod"}']
FILTERS = [
    "status >= 500",
    "status > 500",
    "status == 500",
    "status != 500",
    "status < 500.5",
    "status <= -1",
    "status > 1e3",
]


@pytest.mark.parametrize("selector", SELECTORS)
@pytest.mark.parametrize("field_filter", FILTERS)
def test_logfmt_number_filter_matches_memory(
    sources: tuple[StoreSource, MemorySource], selector: str, field_filter: str
) -> None:
    store, memory = sources
    query = parse(f"{selector} | logfmt | {field_filter}")
    start, end = T0 - 700 * S, T0 + S
    got = select_logs(query, store, start, end, limit=5000)
    want = select_logs(query, memory, start, end, limit=5000)
    assert [(e.ts_ns, e.line, e.labels.all()) for e in got] == [
        (e.ts_ns, e.line, e.labels.all()) for e in want
    ]
    assert want  # the filter keeps something, so a store that kept nothing would fail


@pytest.mark.parametrize("field_filter", FILTERS[:4])
def test_metric_query_with_logfmt_number_filter_matches_memory(
    sources: tuple[StoreSource, MemorySource], field_filter: str
) -> None:
    store, memory = sources
    query = parse(
        f'sum by (route) (count_over_time({{service_name="web"}} | logfmt | {field_filter} '
        '| __error__="" [2m]))'
    )
    args = (T0 - 600 * S, T0, 30 * S)
    assert evaluate_range(query, store, *args) == evaluate_range(query, memory, *args)


@pytest.mark.parametrize(
    "pattern",
    ["status=5.*cart", "^status=", "route=/(a|cart)", "[0-9]+ status", "st.tus=[45]", r"x\\y", r"\d{3}$"],
)
def test_regex_line_filter_matches_memory(sources: tuple[StoreSource, MemorySource], pattern: str) -> None:
    store, memory = sources
    for op in ("|~", "!~"):
        query = parse(f'{{service_name=~".+"}} {op} `{pattern}`')  # a raw string: no unescaping
        start, end = T0 - 700 * S, T0 + S
        got = select_logs(query, store, start, end, limit=5000)
        want = select_logs(query, memory, start, end, limit=5000)
        assert [(e.ts_ns, e.line) for e in got] == [(e.ts_ns, e.line) for e in want]
        assert want


def _tokenized(line: str) -> list[tuple[str, str]] | None:
    """The general tokenizer alone (values unquoted only where no escapes are involved)."""
    pairs, pos = [], 0
    for m in _LOGFMT_TOKEN.finditer(line):
        if m.start() != pos:
            return None
        key, raw = m.group(1, 2)
        pairs.append((key, "" if raw is None else raw))
        pos = m.end()
    if pos != len(line) and not line[pos:].isspace():
        return None
    return pairs


def test_plain_logfmt_shortcut_matches_the_tokenizer() -> None:
    rng = random.Random(5)
    alphabet = "ab_Z9=  \\x.-:/"
    checked = 0
    for _ in range(20_000):
        line = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 14)))
        assert logfmt_pairs(line) == _tokenized(line), line
        checked += 1
    assert checked == 20_000
