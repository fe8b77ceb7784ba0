"""Recursive-descent LogQL parser producing ``ast`` nodes.

Syntax errors mimic Loki's goyacc parser: ``syntax error: unexpected X`` with an
``expecting A or B`` list when at most four tokens could follow (goyacc's limit), at the
1-based line/column of the offending token.
"""

from __future__ import annotations

import re

from . import ast
from .errors import ParseError
from .lexer import Token, tokenize

__all__ = ["parse", "parse_selector"]

_MATCH_OPS = ("=", "!=", "=~", "!~")
_COMPARE_OPS = ("==", "!=", ">", ">=", "<", "<=")
_LINE_OPS = ("|=", "!=", "|~", "!~")
_CONVERSIONS = ("duration", "duration_seconds", "bytes")
# Binary operator precedence, lowest first (as PromQL/LogQL); ^ is right-associative.
_PRECEDENCE = [
    ("or",),
    ("and", "unless"),
    ("==", "!=", ">", ">=", "<", "<="),
    ("+", "-"),
    ("*", "/", "%"),
    ("^",),
]
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def _empty_compatible(m: ast.Matcher) -> bool:
    if m.op == "=":
        return m.value == ""
    if m.op == "=~":
        try:
            return re.fullmatch(m.value, "") is not None
        except re.error:
            return False
    return True


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    # -- token helpers ---------------------------------------------------------------
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

    def is_word(self, *words: str) -> bool:
        return self.tok.kind == "IDENT" and self.tok.text in words

    def error(self, expecting: tuple[str, ...] = (), tok: Token | None = None) -> ParseError:
        t = tok or self.tok
        msg = f"syntax error: unexpected {t.display}"
        if expecting and len(expecting) <= 4:
            msg += ", expecting " + " or ".join(expecting)
        return ParseError(msg, t.line, t.col)

    def expect(self, kind: str, expecting: tuple[str, ...] | None = None) -> Token:
        if self.tok.kind != kind:
            raise self.error(expecting if expecting is not None else (kind,))
        return self.advance()

    def expect_word(self, word: str) -> Token:
        if not self.is_word(word):
            raise self.error((word,))
        return self.advance()

    # -- entry -----------------------------------------------------------------------
    def parse(self) -> ast.Query:
        if self.tok.kind == "EOF":
            raise ParseError("syntax error: unexpected $end")
        if self.tok.kind == "{":
            q: ast.Query = self.log_selector(in_range=False)
        else:
            q = self.expr(0)
        if self.tok.kind != "EOF":
            raise self.error()
        return q

    # -- log queries -----------------------------------------------------------------
    def selector(self) -> tuple[ast.Matcher, ...]:
        start = self.expect("{")
        matchers: list[ast.Matcher] = []
        while True:
            if self.tok.kind != "IDENT":
                raise self.error(("IDENTIFIER",) if matchers else ("IDENTIFIER", "}"))
            name = self.advance().text
            if self.tok.kind not in _MATCH_OPS:
                raise self.error(_MATCH_OPS)
            op = self.advance().kind
            value = self.expect("STRING").text
            if op in ("=~", "!~"):
                self.check_regex(value, self.tokens[self.i - 1])
            matchers.append(ast.Matcher(name, op, value))  # type: ignore[arg-type]
            if self.tok.kind == "}":
                self.advance()
                break
            if self.tok.kind != ",":
                raise self.error(("}", ","))
            self.advance()
        if all(_empty_compatible(m) for m in matchers):
            raise ParseError(
                "queries require at least one regexp or equality matcher that does not have an "
                'empty-compatible value. For instance, app=~".*" does not meet this requirement, '
                'but app=~".+" will',
                start.line,
                start.col,
            )
        return tuple(matchers)

    def check_regex(self, pattern: str, tok: Token) -> None:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ParseError(f"error parsing regexp: {exc}: `{pattern}`", tok.line, tok.col) from None

    def log_selector(self, in_range: bool) -> ast.LogSelector:
        matchers = self.selector()
        return ast.LogSelector(matchers, self.stages(in_range))

    def stages(self, in_range: bool) -> tuple[ast.Stage, ...]:
        stages: list[ast.Stage] = []
        while True:
            kind = self.tok.kind
            if kind in ("|=", "|~") or (kind in ("!=", "!~") and self.peek().kind == "STRING"):
                op = self.advance().kind
                value = self.expect("STRING").text
                if op in ("|~", "!~"):
                    self.check_regex(value, self.tokens[self.i - 1])
                stages.append(ast.LineFilter(op, value))  # type: ignore[arg-type]
                continue
            if kind != "|":
                return tuple(stages)
            if self.peek().kind == "IDENT" and self.peek().text == "unwrap":
                if not in_range:
                    raise self.error(tok=self.peek())
                return tuple(stages)  # the range aggregation parses the unwrap
            self.advance()
            stages.append(self.stage())

    def stage(self) -> ast.Stage:
        t = self.tok
        if t.kind == "IDENT":
            word = t.text
            # Stage names are keywords, as in Loki's lexer: ``| logfmt != "x"`` is a parser then a
            # line filter, never a label filter on a label called "logfmt".
            if word == "json":
                self.advance()
                return ast.JsonParser(self.json_params())
            if word == "logfmt":
                self.advance()
                return ast.LogfmtParser()
            if word in ("pattern", "regexp", "line_format"):
                self.advance()
                arg = self.expect("STRING", ("STRING",))
                if word == "pattern":
                    return ast.PatternParser(arg.text)
                if word == "line_format":
                    return ast.LineFormat(arg.text)
                self.check_regex(arg.text, arg)
                if not re.compile(arg.text).groupindex:
                    raise ParseError("at least one named capture must be supplied", arg.line, arg.col)
                return ast.RegexpParser(arg.text)
            if word in ("keep", "drop"):
                self.advance()
                items = self.label_list_items()
                return ast.KeepStage(items) if word == "keep" else ast.DropStage(items)
            if word in ("unpack", "label_format", "decolorize", "ip"):
                raise self.error()  # real LogQL, outside the supported subset
            return ast.LabelFilterStage(self.label_or())
        if t.kind == "(":
            return ast.LabelFilterStage(self.label_or())
        raise self.error()

    def json_params(self) -> tuple[tuple[str, str], ...]:
        params: list[tuple[str, str]] = []
        while self.tok.kind == "IDENT" and self.peek().kind in ("=", ",", "|", ")", "[", "EOF", "RANGE"):
            name = self.advance().text
            if self.tok.kind == "=":
                self.advance()
                path = self.expect("STRING").text
            else:
                path = name
            params.append((name, path))
            if self.tok.kind != ",":
                break
            self.advance()
        return tuple(params)

    def label_list_items(self) -> tuple[str | ast.LabelMatch, ...]:
        items: list[str | ast.LabelMatch] = []
        while True:
            name = self.expect("IDENT").text
            # Only ``name="value"``: ``keep a != "x"`` would read as a line filter after ``keep a``.
            if self.tok.kind == "=":
                self.advance()
                items.append(ast.LabelMatch(name, "=", self.expect("STRING").text))
            else:
                items.append(name)
            if self.tok.kind != ",":
                return tuple(items)
            self.advance()

    def label_or(self) -> ast.LabelExpr:
        left = self.label_and()
        while self.is_word("or"):
            self.advance()
            left = ast.LabelOr(left, self.label_and())
        return left

    def label_and(self) -> ast.LabelExpr:
        left = self.label_primary()
        while self.is_word("and") or self.tok.kind == ",":
            self.advance()
            left = ast.LabelAnd(left, self.label_primary())
        return left

    def label_primary(self) -> ast.LabelExpr:
        if self.tok.kind == "(":
            self.advance()
            inner = self.label_or()
            self.expect(")")
            return inner
        if self.tok.kind != "IDENT":
            raise self.error(("IDENTIFIER", "("))
        name = self.advance().text
        op = self.tok.kind
        if op not in _MATCH_OPS and op not in _COMPARE_OPS:
            raise self.error()
        self.advance()
        v = self.tok
        if v.kind == "STRING":
            if op not in _MATCH_OPS:
                raise self.error(("NUMBER", "DURATION", "BYTES"))
            self.advance()
            if op in ("=~", "!~"):
                self.check_regex(v.text, v)
            return ast.LabelMatch(name, op, v.text)  # type: ignore[arg-type]
        if op in ("=~", "!~"):
            raise self.error(("STRING",))
        sign = 1.0
        if v.kind == "-" and self.peek().kind in ("NUMBER", "DURATION", "BYTES"):
            self.advance()
            sign = -1.0
            v = self.tok
        if v.kind not in ("NUMBER", "DURATION", "BYTES"):
            raise self.error()
        self.advance()
        cmp = "==" if op == "=" else op
        kind = {"NUMBER": "number", "DURATION": "duration", "BYTES": "bytes"}[v.kind]
        text = ("-" if sign < 0 else "") + v.text
        return ast.LabelCompare(name, cmp, sign * float(v.value or 0), kind, text)  # type: ignore[arg-type]

    # -- metric queries --------------------------------------------------------------
    def expr(self, level: int) -> ast.MetricExpr:
        if level == len(_PRECEDENCE):
            return self.unary()
        ops = _PRECEDENCE[level]
        lhs = self.expr(level + 1)
        while self.binary_op_here(ops):
            op = self.advance().text
            return_bool = False
            if self.is_word("bool"):
                self.advance()
                return_bool = True
            # ^ is right-associative: its right operand parses at the same level.
            rhs = self.expr(level) if op == "^" else self.expr(level + 1)
            lhs = ast.BinaryOp(op, lhs, rhs, return_bool)
        return lhs

    def binary_op_here(self, ops: tuple[str, ...]) -> bool:
        t = self.tok
        if t.kind == "IDENT":
            return t.text in ops and t.text in ("or", "and", "unless")
        return t.kind in ops

    def unary(self) -> ast.MetricExpr:
        t = self.tok
        if t.kind in ("-", "+") and self.peek().kind == "NUMBER":
            self.advance()
            n = self.advance()
            return ast.NumberLiteral(-float(n.value or 0) if t.kind == "-" else float(n.value or 0))
        if t.kind == "NUMBER":
            self.advance()
            return ast.NumberLiteral(float(t.value or 0))
        if t.kind == "(":
            self.advance()
            inner = self.expr(0)
            self.expect(")")
            return inner
        if t.kind == "IDENT":
            if t.text == "vector":
                self.advance()
                self.expect("(")
                sign = -1.0 if self.tok.kind == "-" and self.advance() else 1.0
                n = self.expect("NUMBER")
                self.expect(")")
                return ast.VectorLiteral(sign * float(n.value or 0))
            if t.text in ast.RANGE_OPS:
                return self.range_aggregation()
            if t.text in ast.VECTOR_OPS:
                return self.vector_aggregation()
        if t.kind == "{":
            # A log selector where a metric is needed: the range-aggregation wrapper is missing.
            self.log_selector(in_range=True)
            raise self.error()
        raise self.error()

    def grouping(self) -> ast.Grouping | None:
        if not self.is_word("by", "without"):
            return None
        without = self.advance().text == "without"
        self.expect("(", ("(",))
        labels: list[str] = []
        while self.tok.kind != ")":
            labels.append(self.expect("IDENT", ("IDENTIFIER", ")")).text)
            if self.tok.kind == ",":
                self.advance()
            elif self.tok.kind != ")":
                raise self.error((",", ")"))
        self.advance()
        return ast.Grouping(tuple(labels), without)

    def range_aggregation(self) -> ast.RangeAggregation:
        op = self.advance().text
        self.expect("(", ("(",))
        param = None
        if op == "quantile_over_time":
            n = self.expect("NUMBER")
            param = float(n.value or 0)
            self.expect(",", (",",))
        log_range = self.log_range()
        self.expect(")", (")",))
        grouping = self.grouping()
        needs_unwrap = ast.RANGE_OPS[op]
        if needs_unwrap and log_range.unwrap is None:
            raise ParseError(f"invalid aggregation {op} without unwrap")
        if not needs_unwrap and log_range.unwrap is not None and op not in ("rate",):
            raise ParseError(f"invalid aggregation {op} with unwrap")
        if grouping is not None and op in (
            "count_over_time",
            "rate",
            "bytes_over_time",
            "bytes_rate",
            "absent_over_time",
        ):
            raise ParseError(f"grouping not allowed for {op} aggregation")
        return ast.RangeAggregation(op, log_range, grouping, param)

    def log_range(self) -> ast.LogRange:
        if self.tok.kind == "(":
            self.advance()
            inner = self.log_range()
            self.expect(")")
            return inner
        matchers = self.selector()
        range_ns = None
        if self.tok.kind == "RANGE":
            range_ns = int(self.advance().value or 0)
        stages = self.stages(in_range=True)
        unwrap = None
        if self.tok.kind == "|" and self.peek().kind == "IDENT" and self.peek().text == "unwrap":
            self.advance()
            self.advance()
            unwrap = self.unwrap()
        if range_ns is None:
            range_ns = int(self.expect("RANGE", ("RANGE",)).value or 0)
        offset_ns = 0
        if self.is_word("offset"):
            self.advance()
            offset_ns = int(self.expect("DURATION").value or 0)
        return ast.LogRange(ast.LogSelector(matchers, stages), range_ns, unwrap, offset_ns)

    def unwrap(self) -> ast.Unwrap:
        conversion = ""
        if self.is_word(*_CONVERSIONS) and self.peek().kind == "(":
            conversion = self.advance().text
            self.advance()
            label = self.expect("IDENT").text
            self.expect(")")
        else:
            label = self.expect("IDENT", ("IDENTIFIER",)).text
        post: list[ast.LabelExpr] = []
        while self.tok.kind == "|":
            self.advance()
            post.append(self.label_or())
        return ast.Unwrap(label, conversion, tuple(post))  # type: ignore[arg-type]

    def vector_aggregation(self) -> ast.VectorAggregation:
        op = self.advance().text
        grouping = self.grouping()
        self.expect("(", ("(",))
        param = None
        if op in ("topk", "bottomk"):
            n = self.expect("NUMBER")
            if n.value is None or float(n.value) != int(n.value) or n.value <= 0:
                raise ParseError(f"invalid parameter {op}({n.text},)", n.line, n.col)
            param = int(n.value)
            self.expect(",", (",",))
        inner = self.expr(0)
        self.expect(")", (")",))
        if grouping is None:
            grouping = self.grouping()
        elif self.is_word("by", "without"):
            raise self.error()
        return ast.VectorAggregation(op, inner, grouping, param)


def parse(text: str) -> ast.Query:
    """Parse a LogQL query; raises ``ParseError`` worded like Loki's."""
    return _Parser(text).parse()


def parse_selector(text: str) -> tuple[ast.Matcher, ...]:
    """Parse a bare stream selector (``match[]`` of /series, ``query`` of label values)."""
    p = _Parser(text)
    if p.tok.kind == "EOF":
        raise ParseError("syntax error: unexpected $end")
    q = p.log_selector(in_range=False)
    if p.tok.kind != "EOF":
        raise p.error()
    return q.matchers
