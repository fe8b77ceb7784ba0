"""Print LogQL AST nodes back to query text; ``parse(to_string(node)) == node`` for every node."""

from __future__ import annotations

import math

from . import ast
from .lexer import go_quote
from .units import format_duration

__all__ = ["format_number", "to_string"]


def format_number(v: float) -> str:
    """A float as LogQL text that lexes back to the same float."""
    if math.isinf(v) or math.isnan(v):
        raise ValueError(f"{v} has no LogQL literal")
    if v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(v)


def _label_expr(e: ast.LabelExpr, parent: str = "") -> str:
    if isinstance(e, ast.LabelMatch):
        return f"{e.name}{e.op}{go_quote(e.value)}"
    if isinstance(e, ast.LabelCompare):
        if e.text and e.kind != "number":
            value = e.text
        elif e.kind == "duration":
            value = format_duration(int(e.value))
        elif e.kind == "bytes":
            value = f"{format_number(e.value)}B"
        else:
            value = format_number(e.value)
        return f"{e.name}{e.op}{value}"
    if isinstance(e, ast.LabelAnd):
        text = f"{_label_expr(e.left, 'and')} and {_label_expr(e.right, 'and_r')}"
        return f"({text})" if parent in ("and_r",) else text
    text = f"{_label_expr(e.left, 'or')} or {_label_expr(e.right, 'or_r')}"
    return f"({text})" if parent in ("and", "and_r", "or_r") else text


def _items(items: tuple[str | ast.LabelMatch, ...]) -> str:
    return ",".join(i if isinstance(i, str) else _label_expr(i) for i in items)


def _stage(s: ast.Stage) -> str:
    if isinstance(s, ast.LineFilter):
        return f"{s.op} {go_quote(s.value)}"
    if isinstance(s, ast.JsonParser):
        if not s.params:
            return "| json"
        return "| json " + ",".join(f"{name}={go_quote(path)}" for name, path in s.params)
    if isinstance(s, ast.LogfmtParser):
        return "| logfmt"
    if isinstance(s, ast.PatternParser):
        return f"| pattern {go_quote(s.pattern)}"
    if isinstance(s, ast.RegexpParser):
        return f"| regexp {go_quote(s.regex)}"
    if isinstance(s, ast.LabelFilterStage):
        return f"| {_label_expr(s.expr)}"
    if isinstance(s, ast.LineFormat):
        return f"| line_format {go_quote(s.template)}"
    if isinstance(s, ast.KeepStage):
        return f"| keep {_items(s.items)}"
    return f"| drop {_items(s.items)}"


def _selector(s: ast.LogSelector) -> str:
    matchers = ", ".join(f"{m.name}{m.op}{go_quote(m.value)}" for m in s.matchers)
    return " ".join(["{" + matchers + "}", *(_stage(st) for st in s.stages)])


def _grouping(g: ast.Grouping | None) -> str:
    if g is None:
        return ""
    return f" {'without' if g.without else 'by'} ({', '.join(g.labels)})"


def _log_range(r: ast.LogRange) -> str:
    text = _selector(r.selector)
    if r.unwrap is not None:
        u = r.unwrap
        label = f"{u.conversion}({u.label})" if u.conversion else u.label
        text += f" | unwrap {label}" + "".join(f" | {_label_expr(f)}" for f in u.post_filters)
    text += f" [{format_duration(r.range_ns)}]"
    if r.offset_ns:
        text += f" offset {format_duration(r.offset_ns)}"
    return text


def to_string(node: ast.Query) -> str:
    if isinstance(node, ast.LogSelector):
        return _selector(node)
    if isinstance(node, ast.NumberLiteral):
        return format_number(node.value)
    if isinstance(node, ast.VectorLiteral):
        return f"vector({format_number(node.value)})"
    if isinstance(node, ast.RangeAggregation):
        param = "" if node.param is None else f"{format_number(node.param)}, "
        return f"{node.op}({param}{_log_range(node.range)}){_grouping(node.grouping)}"
    if isinstance(node, ast.VectorAggregation):
        param = "" if node.param is None else f"{node.param}, "
        return f"{node.op}{_grouping(node.grouping)} ({param}{to_string(node.expr)})"
    # Binary operations are fully parenthesised so precedence never changes the tree.
    modifier = " bool" if node.return_bool else ""
    return f"({to_string(node.lhs)} {node.op}{modifier} {to_string(node.rhs)})"
