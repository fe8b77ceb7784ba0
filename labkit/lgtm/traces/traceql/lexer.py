"""TraceQL tokens, with 1-based line/column positions for Tempo-style error messages."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from labkit.lgtm._strings import GO_ESCAPES

__all__ = [
    "ATTR_TERMINATORS",
    "INT64_MAX",
    "ParseError",
    "Token",
    "format_duration",
    "parse_duration",
    "tokenize",
]

INT64_MAX = 2**63 - 1

# Characters that end an unquoted attribute name (besides whitespace).
ATTR_TERMINATORS = frozenset('{}()=!<>&|~,"`+*%^')

_PUNCT = (
    "&&",
    "||",
    "!=",
    ">=",
    "<=",
    "=~",
    "!~",
    ">>",
    "<<",
    "{",
    "}",
    "(",
    ")",
    ",",
    "|",
    "=",
    ">",
    "<",
    "!",
    "~",
    "-",
)

# Keyword spellings -> the token names goyacc prints in Tempo's "unexpected X" messages.
_KEYWORD_NAMES = {
    "true": "TRUE",
    "false": "FALSE",
    "nil": "NIL",
    "error": "STATUS_ERROR",
    "ok": "STATUS_OK",
    "unset": "STATUS_UNSET",
    "unspecified": "KIND_UNSPECIFIED",
    "internal": "KIND_INTERNAL",
    "server": "KIND_SERVER",
    "client": "KIND_CLIENT",
    "producer": "KIND_PRODUCER",
    "consumer": "KIND_CONSUMER",
    "name": "NAME",
    "status": "STATUS",
    "statusMessage": "STATUS_MESSAGE",
    "duration": "IDURATION",
    "kind": "KIND",
    "count": "COUNT",
    "avg": "AVG",
    "min": "MIN",
    "max": "MAX",
    "sum": "SUM",
    "by": "BY",
    "select": "SELECT",
    "coalesce": "COALESCE",
    "rate": "RATE",
    "count_over_time": "COUNT_OVER_TIME",
}

# Go's time.ParseDuration units, in nanoseconds.
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "μs": 1_000,
    "ms": 1_000_000,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(ns|us|µs|μs|ms|s|m|h)")
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_:]*")
_DIGITS = frozenset("0123456789")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")


class ParseError(ValueError):
    """A query Tempo would refuse; ``str()`` reads like Tempo's parser error."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        self.message = message
        self.line = line
        self.col = col
        where = f"parse error at line {line}, col {col}: " if line else "parse error : "
        super().__init__(where + message)


@dataclass(frozen=True)
class Token:
    kind: str  # punctuation text, or STRING INTEGER FLOAT DURATION IDENT ATTR EOF
    text: str
    value: object
    line: int
    col: int

    def describe(self) -> str:
        """The token as goyacc names it in 'unexpected X'."""
        if self.kind == "EOF":
            return "$end"
        if self.kind == "IDENT":
            return _KEYWORD_NAMES.get(self.text, "IDENTIFIER")
        if self.kind == "ATTR":
            scope = self.value[0]  # type: ignore[index]
            return {"span": "SPAN_DOT", "resource": "RESOURCE_DOT"}.get(scope, "DOT")
        if self.kind in ("STRING", "INTEGER", "FLOAT", "DURATION"):
            return self.kind
        return self.text


def parse_duration(text: str) -> int | None:
    """Go-style duration (``1h30m``, ``1.5s``, ``250ms``) -> integer ns, or None if not one."""
    pos, total = 0, Fraction(0)
    if not text:
        return None
    while pos < len(text):
        m = _DURATION_PART.match(text, pos)
        if m is None:
            return None
        total += Fraction(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return int(total)


def format_duration(ns: int) -> str:
    """The shortest exact TraceQL duration literal for ``ns`` (sign not included)."""
    for unit, size in (("h", 3600 * 10**9), ("m", 60 * 10**9), ("s", 10**9), ("ms", 10**6), ("us", 10**3)):
        if ns % size == 0 and ns:
            return f"{ns // size}{unit}"
    return f"{ns}ns"


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.line_start = 0

    def error(self, message: str, pos: int | None = None) -> ParseError:
        pos = self.pos if pos is None else pos
        line = self.text.count("\n", 0, pos) + 1
        col = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return ParseError(message, line, col)

    def _where(self, pos: int) -> tuple[int, int]:
        line = self.text.count("\n", 0, pos) + 1
        return line, pos - (self.text.rfind("\n", 0, pos) + 1) + 1

    def tokens(self) -> list[Token]:
        out: list[Token] = []
        text = self.text
        while True:
            while self.pos < len(text) and text[self.pos].isspace():
                self.pos += 1
            start = self.pos
            line, col = self._where(start)
            if self.pos >= len(text):
                out.append(Token("EOF", "", None, line, col))
                return out
            ch = text[self.pos]
            if ch in '"`':
                value = self._string()
                out.append(Token("STRING", text[start : self.pos], value, line, col))
            elif ch in _DIGITS:
                out.append(self._number(start, line, col))
            elif ch == ".":
                self.pos += 1
                out.append(Token("ATTR", text[start : self.pos], ("", self._attr_name()), line, col))
            elif ch in _WORD_START:
                m = _WORD.match(text, self.pos)
                assert m is not None
                word = m.group(0)
                self.pos = m.end()
                if word in ("span", "resource") and self.pos < len(text) and text[self.pos] == ".":
                    self.pos += 1
                    name = self._attr_name()
                    out.append(Token("ATTR", text[start : self.pos], (word, name), line, col))
                else:
                    out.append(Token("IDENT", word, word, line, col))
            else:
                for p in _PUNCT:
                    if text.startswith(p, self.pos):
                        self.pos += len(p)
                        out.append(Token(p, p, None, line, col))
                        break
                else:
                    raise self.error(f"syntax error: unexpected character {ch!r}")

    def _attr_name(self) -> str:
        text = self.text
        if self.pos < len(text) and text[self.pos] in '"`':
            start = self.pos
            name = self._string()
            if not name:
                raise self.error("syntax error: empty attribute name", start)
            return name
        start = self.pos
        while (
            self.pos < len(text) and not text[self.pos].isspace() and text[self.pos] not in ATTR_TERMINATORS
        ):
            self.pos += 1
        if self.pos == start:
            raise self.error("syntax error: attribute name expected after '.'", start)
        return text[start : self.pos]

    def _string(self) -> str:
        text, quote, start = self.text, self.text[self.pos], self.pos
        self.pos += 1
        if quote == "`":
            end = text.find("`", self.pos)
            if end < 0:
                raise self.error("syntax error: unterminated string", start)
            value = text[self.pos : end]
            self.pos = end + 1
            return value
        parts: list[str] = []
        while True:
            if self.pos >= len(text) or text[self.pos] == "\n":
                raise self.error("syntax error: unterminated string", start)
            ch = text[self.pos]
            if ch == '"':
                self.pos += 1
                return "".join(parts)
            if ch != "\\":
                parts.append(ch)
                self.pos += 1
                continue
            esc = text[self.pos + 1 : self.pos + 2]
            if esc in GO_ESCAPES:
                parts.append(GO_ESCAPES[esc])
                self.pos += 2
            elif esc in ("u", "U", "x"):
                width = {"u": 4, "U": 8, "x": 2}[esc]
                digits = text[self.pos + 2 : self.pos + 2 + width]
                if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                    raise self.error("syntax error: invalid escape in string", self.pos)
                code = int(digits, 16)
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    raise self.error("syntax error: invalid escape in string", self.pos)
                parts.append(chr(code))
                self.pos += 2 + width
            else:
                raise self.error("syntax error: invalid escape in string", self.pos)

    def _number(self, start: int, line: int, col: int) -> Token:
        text = self.text
        # A duration is digits with units, possibly compound (1h30m, 1.5s).
        end = start
        while end < len(text) and (text[end].isalnum() or text[end] in ".µμ+-_"):
            if text[end] in "+-" and text[end - 1] not in "eE":
                break
            end += 1
        word = text[start:end]
        dur = parse_duration(word)
        if dur is not None:
            if dur > INT64_MAX:
                raise self.error(f"syntax error: duration out of range {word!r}", start)
            self.pos = end
            return Token("DURATION", word, dur, line, col)
        m = _NUMBER.match(text, start)
        assert m is not None
        self.pos = m.end()
        if self.pos < len(text) and (text[self.pos].isalnum() or text[self.pos] in "_µμ"):
            raise self.error(f"syntax error: invalid number or duration {word!r}", start)
        num = m.group(0)
        if any(c in num for c in ".eE"):
            value = float(num)
            if value in (float("inf"), float("-inf")):
                raise self.error(f"syntax error: number out of range {num!r}", start)
            return Token("FLOAT", num, value, line, col)
        ivalue = int(num)
        if ivalue > INT64_MAX:
            raise self.error(f"syntax error: integer out of range {num!r}", start)
        return Token("INTEGER", num, ivalue, line, col)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens ending with an EOF token; ParseError on bad input."""
    return _Lexer(text).tokens()
