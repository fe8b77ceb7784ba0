"""LogQL parser: the data-file cases (parse, print, round trip, errors) and property tests."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.lgtm.logs.logql import ast
from labkit.lgtm.logs.logql.errors import LogQLError, ParseError
from labkit.lgtm.logs.logql.lexer import FUNCTIONS, KEYWORDS
from labkit.lgtm.logs.logql.parser import parse
from labkit.lgtm.logs.logql.printer import to_string
from labkit.lgtm.logs.logql.units import format_duration, parse_bytes, parse_duration


def _load_cases() -> list[dict[str, str]]:
    text = (Path(__file__).parent / "parse_cases.txt").read_text()
    cases = []
    for block in text.split("\n\n"):
        case = {}
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            key, _, value = line.partition(":")
            case[key] = value[1:] if value.startswith(" ") else value
        if case:
            cases.append(case)
    return cases


CASES = _load_cases()
GOOD = [c for c in CASES if "p" in c]
BAD = [c for c in CASES if "e" in c]


def test_case_file_is_not_empty():
    assert len(GOOD) >= 20 and len(BAD) >= 6


@pytest.mark.parametrize("case", GOOD, ids=[c["q"] for c in GOOD])
def test_parse_and_print(case):
    node = parse(case["q"])
    assert to_string(node) == case["p"]


@pytest.mark.parametrize("case", GOOD, ids=[c["q"] for c in GOOD])
def test_round_trip(case):
    node = parse(case["q"])
    assert parse(to_string(node)) == node
    assert parse(case["p"]) == node


@pytest.mark.parametrize("case", BAD, ids=[c["q"] or "<empty>" for c in BAD])
def test_errors_match_loki(case):
    with pytest.raises(ParseError) as info:
        parse(case["q"])
    assert str(info.value) == case["e"]


def test_ast_shapes():
    q = parse('sum by (env) (sum_over_time({a="b"} | json | level="info" | unwrap total [10m]))')
    assert isinstance(q, ast.VectorAggregation) and q.grouping == ast.Grouping(("env",))
    inner = q.expr
    assert isinstance(inner, ast.RangeAggregation) and inner.op == "sum_over_time"
    assert inner.range.range_ns == 600 * 10**9
    assert inner.range.unwrap == ast.Unwrap("total")
    assert inner.range.selector.stages == (
        ast.JsonParser(),
        ast.LabelFilterStage(ast.LabelMatch("level", "=", "info")),
    )


def test_label_filter_values_are_typed():
    q = parse('{a="b"} | logfmt | duration > 1.5s and size <= 1KiB and n != -2')
    assert isinstance(q, ast.LogSelector)
    expr = q.stages[1].expr
    assert isinstance(expr, ast.LabelAnd) and isinstance(expr.left, ast.LabelAnd)
    assert expr.left.left == ast.LabelCompare("duration", ">", 1.5e9, "duration", "1.5s")
    assert expr.left.right == ast.LabelCompare("size", "<=", 1024.0, "bytes", "1KiB")
    assert expr.right == ast.LabelCompare("n", "!=", -2.0, "number", "-2")


@pytest.mark.parametrize(
    "query",
    [
        'sum_over_time({a="b"}[5m])',  # needs unwrap
        'count_over_time({a="b"} | unwrap x [5m])',  # must not unwrap
        '{a="b"} | regexp "no named group"',
        '{a="b"} |~ "("',
        'topk(0, count_over_time({a="b"}[1m]))',
        'count_over_time({a="b"}[0s])',
    ],
)
def test_semantic_errors(query):
    with pytest.raises(ParseError):
        parse(query)


# -- property tests -----------------------------------------------------------------------------
_RESERVED = KEYWORDS | FUNCTIONS
names = st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True).filter(lambda s: s not in _RESERVED)
texts = st.text(max_size=12)
regexes = st.sampled_from(["a.*", "WARN|ERROR", r"\d+ms", "^x$", "(?i)err", "[a-z]+"])
matchers = st.one_of(
    st.builds(ast.Matcher, names, st.sampled_from(["=", "!="]), texts),
    st.builds(ast.Matcher, names, st.sampled_from(["=~", "!~"]), regexes),
)
anchor = st.builds(ast.Matcher, names, st.just("="), texts.filter(bool))


def _compare(name: str, op: str, kind: str, raw: float | int) -> ast.LabelCompare:
    if kind == "duration":
        text = format_duration(int(raw))
        return ast.LabelCompare(name, op, float(parse_duration(text) or 0), "duration", text)
    if kind == "bytes":
        text = f"{int(raw)}KB"
        return ast.LabelCompare(name, op, float(parse_bytes(text) or 0), "bytes", text)
    return ast.LabelCompare(name, op, float(raw), "number", "")


compare_ops = st.sampled_from(["==", "!=", ">", ">=", "<", "<="])
numbers = st.floats(min_value=-1e12, max_value=1e12, allow_nan=False, allow_infinity=False)
compares = st.one_of(
    st.builds(_compare, names, compare_ops, st.just("number"), numbers),
    st.builds(
        _compare, names, compare_ops, st.just("duration"), st.integers(1, 10**6).map(lambda n: n * 10**6)
    ),
    st.builds(_compare, names, compare_ops, st.just("bytes"), st.integers(0, 10**6)),
)
label_leaf = st.one_of(
    st.builds(ast.LabelMatch, names, st.sampled_from(["=", "!="]), texts),
    st.builds(ast.LabelMatch, names, st.sampled_from(["=~", "!~"]), regexes),
    compares,
)
label_exprs = st.recursive(
    label_leaf,
    lambda inner: st.one_of(st.builds(ast.LabelAnd, inner, inner), st.builds(ast.LabelOr, inner, inner)),
    max_leaves=5,
)
keep_items = st.lists(
    st.one_of(names, st.builds(ast.LabelMatch, names, st.just("="), texts)), min_size=1, max_size=3
).map(tuple)
stages = st.one_of(
    st.builds(ast.LineFilter, st.sampled_from(["|=", "!="]), texts),
    st.builds(ast.LineFilter, st.sampled_from(["|~", "!~"]), regexes),
    st.builds(ast.JsonParser, st.lists(st.tuples(names, texts), max_size=2).map(tuple)),
    st.just(ast.LogfmtParser()),
    st.builds(ast.PatternParser, texts),
    st.builds(ast.RegexpParser, st.sampled_from([r"in (?P<ms>\d+)ms", "(?P<a>.)"])),
    st.builds(ast.LabelFilterStage, label_exprs),
    st.builds(ast.LineFormat, texts),
    st.builds(ast.KeepStage, keep_items),
    st.builds(ast.DropStage, keep_items),
)
selectors = st.builds(
    lambda first, rest, pipeline: ast.LogSelector((first, *rest), tuple(pipeline)),
    anchor,
    st.lists(matchers, max_size=2),
    st.lists(stages, max_size=4),
)
durations = st.integers(1, 48 * 60).map(lambda m: m * 60 * 10**9)
groupings = st.none() | st.builds(ast.Grouping, st.lists(names, max_size=3).map(tuple), st.booleans())


@st.composite
def range_aggregations(draw):
    op = draw(
        st.sampled_from(sorted(o for o in ast.RANGE_OPS if o not in ("absent_over_time", "rate_counter")))
    )
    needs_unwrap = ast.RANGE_OPS[op]
    unwrap = None
    if needs_unwrap or (op == "rate" and draw(st.booleans())):
        unwrap = ast.Unwrap(
            draw(names),
            draw(st.sampled_from(["", "duration", "duration_seconds", "bytes"])),
            tuple(draw(st.lists(label_exprs, max_size=1))),
        )
    grouping = None
    if op not in ("count_over_time", "rate", "bytes_over_time", "bytes_rate"):
        grouping = draw(groupings)
    param = draw(st.floats(0, 1)) if op == "quantile_over_time" else None
    offset = draw(st.sampled_from([0, 3600 * 10**9]))
    return ast.RangeAggregation(
        op, ast.LogRange(draw(selectors), draw(durations), unwrap, offset), grouping, param
    )


literals = st.one_of(
    st.builds(ast.NumberLiteral, st.floats(0, 1e9, allow_nan=False)),
    st.builds(ast.VectorLiteral, st.floats(0, 1e9, allow_nan=False)),
)


def _extend(inner):
    vector_ops = st.sampled_from(["sum", "avg", "min", "max", "count", "stddev", "stdvar"])
    return st.one_of(
        st.builds(ast.VectorAggregation, vector_ops, inner, groupings),
        st.builds(
            ast.VectorAggregation, st.sampled_from(["topk", "bottomk"]), inner, groupings, st.integers(1, 9)
        ),
        st.builds(
            ast.BinaryOp, st.sampled_from(["+", "-", "*", "/", "%", "^", "and", "or", "unless"]), inner, inner
        ),
        st.builds(
            ast.BinaryOp, st.sampled_from(["==", "!=", ">", ">=", "<", "<="]), inner, inner, st.booleans()
        ),
    )


metric_exprs = st.recursive(st.one_of(range_aggregations(), literals), _extend, max_leaves=4)
queries = st.one_of(selectors, metric_exprs)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_generated_asts_print_and_reparse_equal(node):
    text = to_string(node)
    assert parse(text) == node, text


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from([*'{}()[],=!~|<>"`+-*/%^ .#\\\n5mabsjonlgfmtuwrpy_', "sum", "by", "json"])))
def test_random_text_only_raises_parse_errors(pieces):
    with contextlib.suppress(LogQLError):
        parse("".join(pieces))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_unicode_only_raises_parse_errors(text):
    with contextlib.suppress(LogQLError):
        parse(text)


@settings(max_examples=200, deadline=None)
@given(queries, st.integers(0, 200), st.sampled_from(["", " ", "(", ")", "|", '"', "{", "[5m]"]))
def test_mutated_queries_only_raise_parse_errors(node, cut, insert):
    text = to_string(node)
    cut %= len(text) + 1
    with contextlib.suppress(LogQLError):
        parse(text[:cut] + insert + text[cut:])
