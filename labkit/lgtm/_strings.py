"""Go-style string quoting shared by the LogQL/TraceQL lexers and printers and Loki label strings.

Loki and Tempo print strings with Go's ``strconv.Quote`` and read them with ``strconv.Unquote``;
labkit reproduces the subset those query languages and stream keys need.
"""

from __future__ import annotations

import re

__all__ = ["GO_ESCAPES", "go_quote"]

# Single-character escapes a Go interpreted string literal accepts, mapped to what they decode to.
GO_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
}

_SHORT = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r"}

# Strings with none of these print as-is: labels_string runs on every ingested stream and every
# result series, and almost no label value needs escaping.
_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\\x7f\ud800-\udfff]')


def go_quote(value: str, *, escape_unprintable: bool = False) -> str:
    """Double-quote ``value`` so a Go-style lexer decodes it back to the same string.

    By default ASCII control characters print as ``\\xHH`` and lone surrogates as ``\\uHHHH``; every
    other character is kept as-is. That output is stable on purpose: Loki stream keys built from it
    are stored. ``escape_unprintable=True`` instead writes every non-printable character as
    ``\\uHHHH``/``\\UHHHHHHHH`` (the TraceQL printer's form).
    """
    if not escape_unprintable and not _NEEDS_ESCAPE.search(value):
        return f'"{value}"'
    out = ['"']
    for ch in value:
        short = _SHORT.get(ch)
        if short is not None:
            out.append(short)
            continue
        code = ord(ch)
        if escape_unprintable:
            if ch.isprintable():
                out.append(ch)
            else:
                out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\x{code:02x}")
        elif 0xD800 <= code <= 0xDFFF:
            out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)
