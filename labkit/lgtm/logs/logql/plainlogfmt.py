"""Field values of *plain* logfmt lines, read with two regex matches instead of the full tokenizer.

A plain line is ``key=value`` tokens separated by single spaces, where keys are label
names, unquoted values are printable ASCII without ``" = \\`` and quoted values are
printable ASCII (spaces allowed) without ``" = \\``. On such a line the go-logfmt
tokenizer (``pipeline.logfmt_pairs``) cannot fail, every key is already a valid label
name, and a quoted value decodes to the text between its quotes, so the first token
whose key is ``name`` gives exactly the label ``| logfmt`` would add. Tokens cannot start
inside a quoted value (a quoted value needs its closing quote and contains no ``=``),
so the anchored, lazy search below walks the real tokens. Any other line returns None
and goes through the full pipeline.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import orjson

from . import ast

__all__ = ["PlainLogfmt", "label_expr_names", "plain_label_name", "top_level_json_values"]

_KEY = r"[A-Za-z_][A-Za-z0-9_]*"
_UNQUOTED = r"[!#-<>-\[\]-~]*"  # printable ASCII but space " = \
_QUOTED = r'"[ !#-<>-\[\]-~]*"'  # the same, spaces allowed, between quotes
_TOKEN = f"{_KEY}(?:=(?:{_QUOTED}|{_UNQUOTED}))?"
_LINE = re.compile(f"{_TOKEN}(?: {_TOKEN})*")
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")


def plain_label_name(name: str) -> bool:
    """Names this shortcut may look up: no ``__`` internals, no ``_extracted`` clash names."""
    return _NAME.fullmatch(name) is not None and not name.endswith("_extracted")


def label_expr_names(expr: ast.LabelExpr) -> set[str]:
    if isinstance(expr, (ast.LabelAnd, ast.LabelOr)):
        return label_expr_names(expr.left) | label_expr_names(expr.right)
    return {expr.name}


class PlainLogfmt:
    """Look up a few fields of plain logfmt lines; ``values`` is None for any other line."""

    def __init__(self, names: Iterable[str]) -> None:
        self.names = tuple(dict.fromkeys(names))
        self._patterns = [
            (name, re.compile(f"(?:{_TOKEN} )*?{re.escape(name)}(?:=({_QUOTED}|{_UNQUOTED}))?(?: |$)"))
            for name in self.names
        ]
        # The first name's search also checks the rest of the line, which saves the separate
        # plain-line check on every line that has the field.
        first = re.escape(self.names[0]) if self.names else "(?!)"
        self._first_whole = re.compile(f"(?:{_TOKEN} )*?{first}(?:=({_QUOTED}|{_UNQUOTED}))?(?: {_TOKEN})*")

    def values(self, line: str) -> dict[str, str] | None:
        """The first value of each name present on a plain line (a bare key has value "")."""
        out: dict[str, str] = {}
        m = self._first_whole.fullmatch(line)
        if m is not None:  # a plain line that has the first name
            out[self.names[0]] = _decode(m.group(1))
        elif _LINE.fullmatch(line) is None:
            return None
        for name, pattern in self._patterns[1:]:
            found = pattern.match(line)
            if found is not None:
                out[name] = _decode(found.group(1))
        return out


def _decode(raw: str | None) -> str:
    return "" if raw is None else raw[1:-1] if raw.startswith('"') else raw


class _Unknown(Exception):
    pass


def _json_text(value: object) -> str | None:
    """A top-level JSON field as the ``json`` stage labels it; None: no label of that name."""
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return None  # objects become name_sub labels, arrays are skipped
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value != 0:
        return str(value)
    raise _Unknown  # a float or 0 (maybe "-0"): its source text is not known here


def top_level_json_values(line: str, names: Iterable[str]) -> dict[str, str] | None:
    """The labels ``| json`` gives ``names`` on ``line``; None when that cannot be told cheaply.

    Only for names without ``_``: such a label can only come from the top-level key of the
    same name (nested keys and sanitised characters always bring a ``_``).
    """
    try:
        obj = orjson.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    out: dict[str, str] = {}
    try:
        for name in names:
            if name in obj:
                text = _json_text(obj[name])
                if text is not None:
                    out[name] = text
    except _Unknown:
        return None
    return out
