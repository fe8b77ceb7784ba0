"""Recursive-descent TraceQL parser producing :mod:`labkit.lgtm.traces.traceql.ast` trees.

Precedences follow Tempo's grammar (``pkg/traceql/expr.y``): ``|`` binds loosest, then
``&&`` and ``||`` (one level, left-associative — so ``a || b && c`` is ``(a || b) && c``,
as in Tempo), then the comparisons and the structural spanset operators, then ``!``.
Errors name the first unexpected token with its line and column, as goyacc does.
"""

from __future__ import annotations

from typing import Any, NoReturn, cast

from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.lexer import ParseError, Token, tokenize

__all__ = ["ParseError", "parse", "parse_field"]

_STATIC_WORDS: dict[str, ast.Static] = {
    "true": ast.Static("bool", True),
    "false": ast.Static("bool", False),
    "nil": ast.Static("nil", None),
    **{s: ast.Static("status", s) for s in ast.STATUSES},
    **{k: ast.Static("kind", k) for k in ast.KINDS},
}
_AGGREGATES = ("count", "avg", "min", "max", "sum")
_STRUCTURAL = (">", ">>", "<", "<<", "~")


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers -------------------------------------------------------------
    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def peek(self, k: int = 1) -> Token:
        return self.tokens[min(self.i + k, len(self.tokens) - 1)]

    def advance(self) -> Token:
        t = self.tokens[self.i]
        if t.kind != "EOF":
            self.i += 1
        return t

    def unexpected(self, tok: Token | None = None) -> NoReturn:
        tok = tok or self.tok
        raise ParseError(f"syntax error: unexpected {tok.describe()}", tok.line, tok.col)

    def expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            self.unexpected()
        return self.advance()

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "IDENT" and self.tok.text in words

    # -- query / pipeline ----------------------------------------------------------
    def query(self) -> ast.Query:
        stages: list[ast.Stage] = [self.spanset_expr()]
        metrics: ast.MetricsAggregate | None = None
        while self.tok.kind == "|":
            self.advance()
            if self.is_word(*ast.METRICS_FUNCTIONS) and self.peek().kind == "(":
                metrics = self.metrics_aggregate()
                break
            stages.append(self.stage())
        if self.tok.kind != "EOF":
            self.unexpected()
        return ast.Query(ast.Pipeline(tuple(stages)), metrics)

    def pipeline(self) -> ast.SpansetExpr:
        stages: list[ast.Stage] = [self.spanset_expr()]
        while self.tok.kind == "|":
            self.advance()
            stages.append(self.stage())
        if len(stages) == 1:
            return stages[0]  # type: ignore[return-value]
        return ast.Pipeline(tuple(stages))

    def stage(self) -> ast.Stage:
        tok = self.tok
        if tok.kind == "IDENT" and self.peek().kind == "(":
            if tok.text in _AGGREGATES:
                return self.scalar_filter()
            if tok.text == "by":
                self.advance()
                return ast.GroupBy(self.field_list())
            if tok.text == "select":
                self.advance()
                return ast.Select(self.field_list())
            if tok.text == "coalesce":
                self.advance()
                self.expect("(")
                self.expect(")")
                return ast.Coalesce()
        if tok.kind in ("{", "("):
            return self.spanset_expr()
        self.unexpected()

    def field_list(self) -> tuple[ast.Field, ...]:
        self.expect("(")
        fields = [self.field()]
        while self.tok.kind == ",":
            self.advance()
            fields.append(self.field())
        self.expect(")")
        return tuple(fields)

    def scalar_filter(self) -> ast.ScalarFilter:
        agg = self.aggregate()
        if self.tok.kind not in ast.COMPARISON_OPS or self.tok.kind in ("=~", "!~"):
            self.unexpected()
        op = self.advance().kind
        rhs = self.static()
        if rhs.type not in ("int", "float", "duration"):
            raise ParseError(
                f"syntax error: aggregate {agg.fn}() must be compared with a number or a duration",
                self.tokens[self.i - 1].line,
                self.tokens[self.i - 1].col,
            )
        return ast.ScalarFilter(op, agg, rhs)

    def aggregate(self) -> ast.Aggregate:
        fn = self.advance().text
        self.expect("(")
        if fn == "count":
            self.expect(")")
            return ast.Aggregate("count")
        arg = self.field()
        self.expect(")")
        return ast.Aggregate(fn, arg)

    def metrics_aggregate(self) -> ast.MetricsAggregate:
        fn = self.advance().text
        self.expect("(")
        arg: ast.Field | None = None
        quantiles: list[float] = []
        if fn not in ("rate", "count_over_time"):
            arg = self.field()
        if fn == "quantile_over_time":
            # At least one quantile: quantile_over_time(duration, .99, .5).
            self.expect(",")
            quantiles.append(self.quantile())
            while self.tok.kind == ",":
                self.advance()
                quantiles.append(self.quantile())
        self.expect(")")
        by: tuple[ast.Field, ...] = ()
        if self.is_word("by"):
            self.advance()
            by = self.field_list()
        return ast.MetricsAggregate(fn, arg, by, tuple(quantiles))

    def quantile(self) -> float:
        tok = self.tok
        # Tempo's docs write quantiles as `.99`, which this lexer reads as the unscoped attribute
        # named "99": an unscoped attribute whose name is all digits spells the fraction.
        scope, name = tok.value if tok.kind == "ATTR" and isinstance(tok.value, tuple) else (None, "")
        if scope == "" and name.isdigit():
            self.advance()
            value = float("0." + name)
        elif tok.kind in ("FLOAT", "INTEGER"):
            self.advance()
            value = float(tok.value)  # type: ignore[arg-type]
        else:
            self.unexpected()
        if not 0.0 <= value <= 1.0:
            raise ParseError(f"syntax error: quantile {tok.text} must be between 0 and 1", tok.line, tok.col)
        return value

    # -- spanset expressions ---------------------------------------------------------
    def spanset_expr(self) -> ast.SpansetExpr:
        lhs = self.spanset_term()
        while self.tok.kind in ("&&", "||"):
            op = self.advance().kind
            lhs = ast.SpansetOp(op, lhs, self.spanset_term())
        return lhs

    def spanset_term(self) -> ast.SpansetExpr:
        lhs = self.spanset_primary()
        while self.tok.kind in _STRUCTURAL:
            op = self.advance().kind
            lhs = ast.SpansetOp(op, lhs, self.spanset_primary())
        return lhs

    def spanset_primary(self) -> ast.SpansetExpr:
        if self.tok.kind == "{":
            self.advance()
            if self.tok.kind == "}":
                self.advance()
                return ast.SpansetFilter(None)
            expr = self.field_expr()
            self.expect("}")
            return ast.SpansetFilter(expr)
        if self.tok.kind == "(":
            self.advance()
            inner = self.pipeline()
            self.expect(")")
            return inner
        self.unexpected()

    # -- field expressions (inside { }) ------------------------------------------------
    def field_expr(self) -> ast.FieldExpr:
        lhs = self.comparison()
        while self.tok.kind in ast.LOGICAL_OPS:
            op = self.advance().kind
            lhs = ast.BinaryOp(op, lhs, self.comparison())
        return lhs

    def comparison(self) -> ast.FieldExpr:
        lhs = self.unary()
        while self.tok.kind in ast.COMPARISON_OPS:
            op = self.advance().kind
            lhs = ast.BinaryOp(op, lhs, self.unary())
        return lhs

    def unary(self) -> ast.FieldExpr:
        if self.tok.kind == "!":
            self.advance()
            return ast.Not(self.unary())
        return self.primary()

    def primary(self) -> ast.FieldExpr:
        tok = self.tok
        if tok.kind == "(":
            self.advance()
            expr = self.field_expr()
            self.expect(")")
            return expr
        if tok.kind == "ATTR" or (tok.kind == "IDENT" and _intrinsic_name(tok.text)):
            return self.field()
        return self.static()

    def static(self) -> ast.Static:
        tok = self.tok
        if tok.kind == "-":
            nxt = self.peek()
            if nxt.kind not in ("INTEGER", "FLOAT", "DURATION"):
                self.unexpected(nxt)
            self.advance()
            value = self.static()
            return ast.Static(value.type, -value.value)  # type: ignore[operator]
        if tok.kind == "STRING":
            self.advance()
            return ast.Static("string", tok.value)  # type: ignore[arg-type]
        if tok.kind == "INTEGER":
            self.advance()
            return ast.Static("int", tok.value)  # type: ignore[arg-type]
        if tok.kind == "FLOAT":
            self.advance()
            return ast.Static("float", tok.value)  # type: ignore[arg-type]
        if tok.kind == "DURATION":
            self.advance()
            return ast.Static("duration", tok.value)  # type: ignore[arg-type]
        if tok.kind == "IDENT" and tok.text in _STATIC_WORDS:
            self.advance()
            return _STATIC_WORDS[tok.text]
        self.unexpected()

    def field(self) -> ast.Field:
        tok = self.tok
        if tok.kind == "ATTR":
            self.advance()
            scope, attr_name = cast("tuple[Any, str]", tok.value)
            return ast.Attribute(scope, attr_name)
        if tok.kind == "IDENT":
            name = _intrinsic_name(tok.text)
            if name:
                self.advance()
                return ast.Intrinsic(name)
        self.unexpected()


def _intrinsic_name(word: str) -> str | None:
    if word in ast.INTRINSICS:
        return word
    return ast.INTRINSIC_ALIASES.get(word)


def parse(text: str) -> ast.Query:
    """Parse a TraceQL query; raises :class:`ParseError` (a ValueError) with line/column."""
    return _Parser(text).query()


def parse_field(text: str) -> ast.Field:
    """Parse a single attribute or intrinsic such as ``resource.service.name`` or ``kind``."""
    p = _Parser(text)
    field = p.field()
    if p.tok.kind != "EOF":
        p.unexpected()
    return field
