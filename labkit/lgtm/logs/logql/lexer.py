"""LogQL lexer: text -> tokens with 1-based line/column positions (as Loki reports them)."""

from __future__ import annotations

from dataclasses import dataclass

from ..._strings import GO_ESCAPES, go_quote
from .errors import ParseError
from .units import parse_bytes, parse_duration

__all__ = ["FUNCTIONS", "KEYWORDS", "Token", "go_quote", "tokenize"]

# Longest first, so ``|=`` wins over ``|`` and ``>=`` over ``>``.
_SYMBOLS = (
    "|=",
    "|~",
    "!=",
    "!~",
    "=~",
    "==",
    ">=",
    "<=",
    "{",
    "}",
    "(",
    ")",
    ",",
    "=",
    "|",
    ">",
    "<",
    "+",
    "-",
    "*",
    "/",
    "%",
    "^",
)
# Display names of token kinds in syntax errors; Loki replaces goyacc's names with these.
_DISPLAY = {
    "IDENT": "IDENTIFIER",
    "STRING": "STRING",
    "NUMBER": "NUMBER",
    "DURATION": "DURATION",
    "BYTES": "BYTES",
    "RANGE": "RANGE",
    "EOF": "$end",
}
KEYWORDS = frozenset(
    {
        "by",
        "without",
        "and",
        "or",
        "unless",
        "bool",
        "on",
        "ignoring",
        "offset",
        "json",
        "logfmt",
        "pattern",
        "regexp",
        "unpack",
        "line_format",
        "label_format",
        "unwrap",
        "keep",
        "drop",
        "duration",
        "duration_seconds",
        "bytes",
        "vector",
        "ip",
        "decolorize",
    }
)
FUNCTIONS = frozenset(
    {
        "count_over_time",
        "rate",
        "bytes_over_time",
        "bytes_rate",
        "absent_over_time",
        "sum_over_time",
        "avg_over_time",
        "max_over_time",
        "min_over_time",
        "first_over_time",
        "last_over_time",
        "stddev_over_time",
        "stdvar_over_time",
        "quantile_over_time",
        "rate_counter",
        "sum",
        "avg",
        "min",
        "max",
        "count",
        "stddev",
        "stdvar",
        "topk",
        "bottomk",
        "sort",
        "sort_desc",
    }
)


@dataclass(frozen=True)
class Token:
    kind: str  # IDENT STRING NUMBER DURATION BYTES RANGE EOF, or the symbol itself
    text: str  # source text (decoded value for STRING)
    pos: int  # 0-based offset in the query
    line: int
    col: int
    value: float | int | None = None  # numbers, durations (ns), bytes, ranges (ns)

    @property
    def display(self) -> str:
        """How goyacc (with Loki's token names) shows this token in ``unexpected X``."""
        if self.kind == "IDENT" and (self.text in KEYWORDS or self.text in FUNCTIONS):
            return self.text
        return _DISPLAY.get(self.kind, self.kind)


def _position(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    start = text.rfind("\n", 0, pos) + 1
    return line, pos - start + 1


def _unquote(text: str, start: int, quote: str) -> tuple[str, int]:
    """Decode a Go double-quoted string starting after its opening quote; returns (value, end offset)."""
    out: list[str] = []
    i = start
    while i < len(text):
        c = text[i]
        if c == quote:
            return "".join(out), i + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt in GO_ESCAPES:
            out.append(GO_ESCAPES[nxt])
            i += 2
        elif nxt in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[nxt]
            digits = text[i + 2 : i + 2 + width]
            try:
                out.append(chr(int(digits, 16)) if len(digits) == width else "")
            except ValueError:
                digits = ""
            if len(digits) != width:
                raise ParseError("invalid syntax", *_position(text, i))
            i += 2 + width
        elif nxt.isdigit():
            digits = text[i + 1 : i + 4]
            try:
                out.append(chr(int(digits, 8)))
            except ValueError:
                raise ParseError("invalid syntax", *_position(text, i)) from None
            i += 4
        else:
            raise ParseError("invalid syntax", *_position(text, i))
    raise ParseError("literal not terminated", *_position(text, start - 1))


def _ident_char(c: str) -> bool:
    return c.isascii() and (c.isalnum() or c == "_")


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)

    def add(kind: str, tok_text: str, pos: int, value: float | int | None = None) -> None:
        tokens.append(Token(kind, tok_text, pos, *_position(text, pos), value))

    while i < n:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == "#":  # comment to end of line, as in Loki
            nl = text.find("\n", i)
            i = n if nl < 0 else nl
            continue
        if c == '"':
            value, end = _unquote(text, i + 1, '"')
            add("STRING", value, i)
            i = end
            continue
        if c == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise ParseError("literal not terminated", *_position(text, i))
            add("STRING", text[i + 1 : end], i)
            i = end + 1
            continue
        if c == "[":
            end = text.find("]", i + 1)
            if end < 0:
                raise ParseError("missing closing ']' in duration", *_position(text, i))
            body = text[i + 1 : end].strip()
            ns = parse_duration(body)
            if ns is None or ns <= 0:
                raise ParseError(f'not a valid duration string: "{body}"', *_position(text, i))
            add("RANGE", text[i : end + 1], i, ns)
            i = end + 1
            continue
        if c.isdigit() or (c == "." and text[i + 1 : i + 2].isdigit()):
            j = i
            while j < n and (text[j].isdigit() or text[j] == "."):
                j += 1
            if (
                j < n
                and text[j] in "eE"
                and (
                    text[j + 1 : j + 2].isdigit()
                    or (text[j + 1 : j + 2] in ("+", "-") and text[j + 2 : j + 3].isdigit())
                )
            ):
                j += 2
                while j < n and text[j].isdigit():
                    j += 1
            k = j
            while k < n and (_ident_char(text[k]) or text[k] in "µμ"):
                k += 1
            word = text[i:k]
            if k == j:
                try:
                    add("NUMBER", word, i, float(word))
                except ValueError:
                    raise ParseError(f"syntax error: unexpected {word!r}", *_position(text, i)) from None
            elif (ns := parse_duration(word)) is not None:
                add("DURATION", word, i, ns)
            elif (size := parse_bytes(word)) is not None:
                add("BYTES", word, i, size)
            else:
                raise ParseError(f"syntax error: unexpected {word!r}", *_position(text, i))
            i = k
            continue
        if c.isascii() and (c.isalpha() or c == "_"):
            j = i
            while j < n and _ident_char(text[j]):
                j += 1
            add("IDENT", text[i:j], i)
            i = j
            continue
        for sym in _SYMBOLS:
            if text.startswith(sym, i):
                add(sym, sym, i)
                i += len(sym)
                break
        else:
            raise ParseError(f"syntax error: unexpected character {c!r}", *_position(text, i))
    add("EOF", "", n)
    return tokens
