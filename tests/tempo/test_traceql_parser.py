"""TraceQL parser: data-file cases (parse, print, round trip) and property tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from labkit.lgtm.traces import traceql
from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.printer import to_string

CASES_FILE = Path(__file__).parent / "data" / "traceql_cases.txt"
SEP = "  =>  "


def _cases(kind: str) -> list[tuple[str, str]]:
    out = []
    for line in CASES_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        k, rest = line[:5].strip(), line[5:]
        query, _, expected = rest.partition(SEP)
        if k == kind:
            out.append((query, expected or query))
    return out


def test_case_file_has_both_kinds() -> None:
    assert len(_cases("ok")) >= 50 and len(_cases("err")) >= 15


@pytest.mark.parametrize(("query", "printed"), _cases("ok"))
def test_parse_print_round_trip(query: str, printed: str) -> None:
    tree = traceql.parse(query)
    assert traceql.format_query(tree) == printed
    assert traceql.parse(printed) == tree


@pytest.mark.parametrize(("query", "message"), _cases("err"))
def test_syntax_errors_name_the_position(query: str, message: str) -> None:
    with pytest.raises(traceql.ParseError) as info:
        traceql.parse(query)
    assert str(info.value) == message
    assert info.value.line >= 1 and info.value.col >= 1


def test_precedence_trees() -> None:
    a, b, c = (ast.BinaryOp("=", ast.Attribute("", n), ast.Static("int", 1)) for n in "abc")
    got = traceql.parse("{ .a = 1 || .b = 1 && .c = 1 }").pipeline.stages[0]
    assert got == ast.SpansetFilter(ast.BinaryOp("&&", ast.BinaryOp("||", a, b), c))
    sa, sb, sc = (ast.SpansetFilter(ast.Attribute("", n)) for n in "abc")
    got = traceql.parse("{ .a } > { .b } && { .c }").pipeline.stages[0]
    assert got == ast.SpansetOp("&&", ast.SpansetOp(">", sa, sb), sc)


def test_multiline_positions() -> None:
    with pytest.raises(traceql.ParseError) as info:
        traceql.parse("{ .a = 1 }\n| by(\n  ) ")
    assert (info.value.line, info.value.col) == (3, 3)


def test_static_values_are_typed() -> None:
    expr = traceql.parse("{ .d = 1.5s && .i = 7 && .f = 7.0 && .b = true && .s = error && .k = client }")
    statics = []

    def walk(e: object) -> None:
        if isinstance(e, ast.BinaryOp):
            walk(e.lhs)
            walk(e.rhs)
        elif isinstance(e, ast.Static):
            statics.append(e)

    walk(expr.pipeline.stages[0].expr)  # type: ignore[union-attr]
    assert statics == [
        ast.Static("duration", 1_500_000_000),
        ast.Static("int", 7),
        ast.Static("float", 7.0),
        ast.Static("bool", True),
        ast.Static("status", "error"),
        ast.Static("kind", "client"),
    ]


# ------------------------------------------------------------------ property tests
_name_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
names = st.one_of(
    st.from_regex(r"[a-z][a-z0-9_]{0,6}(\.[a-z][a-z0-9_]{0,6}){0,2}", fullmatch=True),
    st.text(_name_chars, min_size=1, max_size=8),
)
attributes = st.builds(ast.Attribute, st.sampled_from(["span", "resource", ""]), names)
intrinsics = st.builds(ast.Intrinsic, st.sampled_from(sorted(ast.INTRINSICS)))
fields = st.one_of(attributes, intrinsics)
int64 = st.integers(min_value=-(2**63) + 1, max_value=2**63 - 1)
statics = st.one_of(
    st.builds(ast.Static, st.just("string"), st.text(_name_chars, max_size=10)),
    st.builds(ast.Static, st.just("int"), int64),
    st.builds(ast.Static, st.just("float"), st.floats(allow_nan=False, allow_infinity=False, width=64)),
    st.builds(ast.Static, st.just("duration"), int64),
    st.builds(ast.Static, st.just("bool"), st.booleans()),
    st.builds(ast.Static, st.just("status"), st.sampled_from(ast.STATUSES)),
    st.builds(ast.Static, st.just("kind"), st.sampled_from(ast.KINDS)),
    st.just(ast.Static("nil", None)),
)
field_exprs = st.recursive(
    st.one_of(statics, fields),
    lambda inner: st.one_of(
        st.builds(ast.BinaryOp, st.sampled_from(ast.COMPARISON_OPS + ast.LOGICAL_OPS), inner, inner),
        st.builds(ast.Not, inner),
    ),
    max_leaves=8,
)
filters = st.builds(ast.SpansetFilter, st.one_of(st.none(), field_exprs))
number_statics = st.one_of(
    st.builds(ast.Static, st.just("int"), int64),
    st.builds(ast.Static, st.just("duration"), int64),
    st.builds(ast.Static, st.just("float"), st.floats(allow_nan=False, allow_infinity=False)),
)
aggregates = st.one_of(
    st.just(ast.Aggregate("count")),
    st.builds(ast.Aggregate, st.sampled_from(["avg", "min", "max", "sum"]), fields),
)
field_tuples = st.lists(fields, min_size=1, max_size=3).map(tuple)


def _stages(spanset: st.SearchStrategy[ast.SpansetExpr]) -> st.SearchStrategy[ast.Stage]:
    return st.one_of(
        spanset,
        st.builds(
            ast.ScalarFilter, st.sampled_from([">", ">=", "<", "<=", "=", "!="]), aggregates, number_statics
        ),
        st.builds(ast.GroupBy, field_tuples),
        st.builds(ast.Select, field_tuples),
        st.just(ast.Coalesce()),
    )


spanset_exprs = st.recursive(
    filters,
    lambda inner: st.one_of(
        st.builds(ast.SpansetOp, st.sampled_from(ast.SPANSET_OPS), inner, inner),
        # a nested pipeline keeps two stages or more (one stage is unwrapped by the parser)
        st.builds(
            lambda first, rest: ast.Pipeline((first, *rest)),
            inner,
            st.lists(_stages(inner), min_size=1, max_size=2),
        ),
    ),
    max_leaves=5,
)
metrics = st.one_of(
    st.none(),
    st.builds(
        ast.MetricsAggregate,
        st.sampled_from(["rate", "count_over_time"]),
        st.none(),
        st.lists(fields, max_size=2).map(tuple),
    ),
    st.builds(
        ast.MetricsAggregate,
        st.sampled_from(["sum_over_time", "avg_over_time", "min_over_time", "max_over_time"]),
        fields,
        st.lists(fields, max_size=2).map(tuple),
    ),
)
queries = st.builds(
    lambda first, rest, m: ast.Query(ast.Pipeline((first, *rest)), m),
    spanset_exprs,
    st.lists(_stages(spanset_exprs), max_size=3),
    metrics,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries)
def test_generated_trees_print_and_parse_back(tree: ast.Query) -> None:
    text = traceql.format_query(tree)
    assert traceql.parse(text) == tree, text


@settings(max_examples=300, deadline=None)
@given(field_exprs)
def test_every_field_expression_prints_back(expr: ast.FieldExpr) -> None:
    text = "{ " + to_string(expr) + " }"
    assert traceql.parse(text).pipeline.stages[0] == ast.SpansetFilter(expr)


_alphabet = st.sampled_from(
    [
        *'{}()|&=!~<>"`.,-_ \n\tabcdeklmnrstuxyz0123456789:µ\\',
        "span.",
        "resource.",
        "count()",
        "rate()",
        "by(",
    ]
)


@settings(max_examples=1500, deadline=None)
@given(st.one_of(st.text(max_size=40), st.lists(_alphabet, max_size=25).map("".join)))
def test_random_text_only_ever_raises_parse_error(text: str) -> None:
    try:
        tree = traceql.parse(text)
    except traceql.ParseError as exc:
        assert exc.line >= 1 and exc.col >= 1
        return
    assert traceql.parse(traceql.format_query(tree)) == tree
