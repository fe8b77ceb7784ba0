"""Compile a LogQL pipeline into small runtime stages (Loki's ``log.Stage``) and run lines through it.

A line travels with a :class:`LabelSet` that keeps Loki's three label categories apart
(stream labels, structured metadata, parsed labels), because the categorize-labels
encoding reports them separately.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ..labels import sanitize_label_name
from . import ast
from .template import compile_template
from .units import duration_seconds, parse_bytes, parse_go_duration

__all__ = ["ERROR", "ERROR_DETAILS", "LabelSet", "Pipeline", "compile_label_expr", "compile_pipeline"]

ERROR = "__error__"
ERROR_DETAILS = "__error_details__"


@dataclass
class LabelSet:
    stream: dict[str, str]
    metadata: dict[str, str]
    parsed: dict[str, str] = field(default_factory=dict)
    dropped: set[str] = field(default_factory=set)

    def get(self, name: str) -> str | None:
        if name in self.dropped:
            return None
        for source in (self.parsed, self.metadata, self.stream):
            if name in source:
                return source[name]
        return None

    def has_error(self) -> bool:
        return ERROR in self.parsed

    def set_error(self, error: str, details: str = "") -> None:
        if ERROR not in self.parsed:
            self.parsed[ERROR] = error
            if details:
                self.parsed[ERROR_DETAILS] = details

    def add_parsed(self, name: str, value: str) -> None:
        # Loki keeps an existing stream/metadata label and stores the clash as ``<name>_extracted``.
        if name in self.stream or name in self.metadata:
            name = f"{name}_extracted"
        if name not in self.parsed:
            self.parsed[name] = value
        self.dropped.discard(name)

    def all(self) -> dict[str, str]:
        out = {**self.stream, **self.metadata, **self.parsed}
        for name in self.dropped:
            out.pop(name, None)
        return out

    def categories(self) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
        def keep(d: dict[str, str]) -> dict[str, str]:
            return {k: v for k, v in d.items() if k not in self.dropped}

        return keep(self.stream), keep(self.metadata), keep(self.parsed)

    def remove(self, name: str) -> None:
        self.dropped.add(name)


StageFn = Callable[[int, str, LabelSet], "str | None"]


# -- parsers -------------------------------------------------------------------------------
def _json_flatten(obj: dict[str, object], prefix: str, labels: LabelSet) -> None:
    for key, value in obj.items():
        name = sanitize_label_name(prefix + key)
        if isinstance(value, dict):
            _json_flatten(value, name + "_", labels)
        elif isinstance(value, list):
            continue  # Loki's json parser skips arrays unless a path selects an element
        elif value is None:
            labels.add_parsed(name, "")
        elif isinstance(value, bool):
            labels.add_parsed(name, "true" if value else "false")
        else:
            labels.add_parsed(name, str(value))


def _json_loads(line: str) -> object:
    # Numbers keep their source text ("1.10" stays "1.10"), as Loki copies the raw token.
    return json.loads(line, parse_float=str, parse_int=str)


def _json_error(line: str) -> str:
    if not line.lstrip().startswith("{"):
        return "Value looks like object, but can't find closing '}' symbol"
    return "Malformed JSON error"


_PATH_PART = re.compile(r'\.?([A-Za-z_][A-Za-z0-9_\-]*)|\[(\d+)\]|\["((?:[^"\\]|\\.)*)"\]')


def _json_path(obj: object, path: str) -> str | None:
    pos = 0
    cur = obj
    while pos < len(path):
        m = _PATH_PART.match(path, pos)
        if not m:
            return None
        pos = m.end()
        key = m.group(1) or m.group(3)
        if key is not None:
            if not isinstance(cur, dict) or key not in cur:
                return None
            cur = cur[key]
        else:
            idx = int(m.group(2))
            if not isinstance(cur, list) or idx >= len(cur):
                return None
            cur = cur[idx]
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, (dict, list)):
        return json.dumps(cur, separators=(",", ":"))
    return "" if cur is None else str(cur)


class _NotExact(Exception):
    """orjson's numbers lost their source text; parse again with the json module."""


def _exact_pairs(obj: dict[str, object], prefix: str, out: list[tuple[str, str]]) -> None:
    for key, value in obj.items():
        name = sanitize_label_name(prefix + key)
        if isinstance(value, str):
            out.append((name, value))
        elif isinstance(value, dict):
            _exact_pairs(value, name + "_", out)
        elif isinstance(value, list):
            continue
        elif value is None:
            out.append((name, ""))
        elif isinstance(value, bool):
            out.append((name, "true" if value else "false"))
        elif isinstance(value, int) and value != 0:
            out.append((name, str(value)))  # JSON integers other than 0/-0 print as written
        else:
            raise _NotExact


def _fast_json_pairs(line: str) -> list[tuple[str, str]] | None:
    """The ``json`` stage's labels via orjson (several times faster); None: use the json module.

    Only taken when every number is an integer that prints as its source text.
    """
    try:
        obj = orjson.loads(line)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    out: list[tuple[str, str]] = []
    try:
        _exact_pairs(obj, "", out)
    except _NotExact:
        return None
    return out


def _json_stage(stage: ast.JsonParser) -> StageFn:
    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        if not stage.params:
            pairs = _fast_json_pairs(line)
            if pairs is not None:
                for name, value in pairs:
                    labels.add_parsed(name, value)
                return line
        try:
            obj = _json_loads(line)
            if not isinstance(obj, dict):
                raise ValueError
        except ValueError:
            labels.set_error("JSONParserErr", _json_error(line))
            return line
        if stage.params:
            for name, path in stage.params:
                found = _json_path(obj, path)
                if found is not None:
                    labels.add_parsed(sanitize_label_name(name), found)
        else:
            _json_flatten(obj, "", labels)
        return line

    return run


# A quoted value is written as an unrolled loop (same language as ``"(?:[^"\\]|\\.)*"``, faster).
_LOGFMT_TOKEN = re.compile(r'\s*([^\s="]+)(?:=("[^"\\]*(?:\\.[^"\\]*)*"|[^\s"]*))?')


# The usual line: ``key=value`` tokens, single spaces, no quotes, no ``=`` or ``\\`` in values.
# The tokenizer below reads exactly the split of such a line on spaces and its first ``=``.
_PLAIN_UNQUOTED = re.compile(
    r"[A-Za-z_][A-Za-z0-9_]*(?:=[!#-<>-\[\]-~]*)?(?: [A-Za-z_][A-Za-z0-9_]*(?:=[!#-<>-\[\]-~]*)?)*"
)


def logfmt_pairs(line: str) -> list[tuple[str, str]] | None:
    """go-logfmt's decoding of one line; None when the line is not logfmt.

    Tokens must follow each other with only whitespace between them: ``finditer`` would skip
    what does not parse, so a gap between two matches means the line is not logfmt.
    """
    if '"' not in line and _PLAIN_UNQUOTED.fullmatch(line) is not None:
        return [(key, value) for key, _, value in (token.partition("=") for token in line.split(" "))]
    pairs: list[tuple[str, str]] = []
    pos = 0
    for m in _LOGFMT_TOKEN.finditer(line):
        if m.start() != pos:
            return None
        key, raw = m.group(1, 2)
        if raw is None:
            value = ""
        elif raw.startswith('"'):
            if "\\" not in raw and raw.isprintable():
                value = raw[1:-1]  # what json.loads returns for a string without escapes
            else:
                try:
                    value = json.loads(raw)
                except ValueError:
                    return None
        else:
            value = raw
        pairs.append((key, value))
        pos = m.end()
    if pos != len(line) and not line[pos:].isspace():
        return None
    return pairs


def _logfmt_stage(_stage: ast.LogfmtParser) -> StageFn:
    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        pairs = logfmt_pairs(line)
        if pairs is None:
            labels.set_error("LogfmtParserErr", "logfmt syntax error")
            return line
        # add_parsed inlined: this loop runs for every field of every line.
        stream, metadata, parsed, dropped = labels.stream, labels.metadata, labels.parsed, labels.dropped
        for key, value in pairs:
            name = sanitize_label_name(key)
            if not name:
                continue
            if name in stream or name in metadata:
                name = f"{name}_extracted"
            if name not in parsed:
                parsed[name] = value
            if dropped:
                dropped.discard(name)
        return line

    return run


_PATTERN_CAPTURE = re.compile(r"<(_|[A-Za-z_][A-Za-z0-9_]*)>")


def _pattern_stage(stage: ast.PatternParser) -> StageFn:
    # Split into literal/capture parts; matching walks the line literal by literal, as Loki's
    # pattern matcher does (each literal is the next occurrence after the previous capture).
    parts: list[tuple[str, str]] = []
    pos = 0
    for m in _PATTERN_CAPTURE.finditer(stage.pattern):
        if m.start() > pos:
            parts.append(("lit", stage.pattern[pos : m.start()]))
        parts.append(("cap", m.group(1)))
        pos = m.end()
    if pos < len(stage.pattern):
        parts.append(("lit", stage.pattern[pos:]))

    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        found: list[tuple[str, str]] = []
        i = 0
        k = 0
        while k < len(parts):
            kind, text = parts[k]
            if kind == "lit":
                if not line.startswith(text, i):
                    return line
                i += len(text)
                k += 1
                continue
            nxt = parts[k + 1][1] if k + 1 < len(parts) else None
            if nxt is None:
                value, i = line[i:], len(line)
            else:
                j = line.find(nxt, i)
                if j < 0:
                    return line
                value, i = line[i:j], j
            if text != "_":
                found.append((text, value))
            k += 1
        for name, value in found:
            labels.add_parsed(name, value)
        return line

    return run


def _regexp_stage(stage: ast.RegexpParser) -> StageFn:
    regex = re.compile(stage.regex)

    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        m = regex.search(line)
        if m:
            for name, value in m.groupdict().items():
                if value is not None:
                    labels.add_parsed(sanitize_label_name(name), value)
        return line

    return run


# -- filters ---------------------------------------------------------------------------------
def _line_filter(stage: ast.LineFilter) -> StageFn:
    if stage.op in ("|=", "!="):
        needle, keep_if_found = stage.value, stage.op == "|="

        def run(ts: int, line: str, labels: LabelSet) -> str | None:
            return line if (needle in line) == keep_if_found else None

        return run
    regex = re.compile(stage.value)
    keep_if_match = stage.op == "|~"

    def run_re(ts: int, line: str, labels: LabelSet) -> str | None:
        return line if (regex.search(line) is not None) == keep_if_match else None

    return run_re


_CMP: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}

LabelPredicate = Callable[[LabelSet], bool]


def compile_label_expr(expr: ast.LabelExpr) -> LabelPredicate:
    """A label filter as a predicate; it may set ``__error__`` (conversion failures keep the line)."""
    if isinstance(expr, ast.LabelAnd):
        left, right = compile_label_expr(expr.left), compile_label_expr(expr.right)
        return lambda labels: bool(left(labels) & right(labels))  # both run, as in Loki
    if isinstance(expr, ast.LabelOr):
        left, right = compile_label_expr(expr.left), compile_label_expr(expr.right)
        return lambda labels: left(labels) or right(labels)
    if isinstance(expr, ast.LabelMatch):
        name, op, want = expr.name, expr.op, expr.value
        if op in ("=", "!="):
            equal = op == "="
            return lambda labels: ((labels.get(name) or "") == want) == equal
        regex = re.compile(want)
        positive = op == "=~"
        return lambda labels: (regex.fullmatch(labels.get(name) or "") is not None) == positive
    name, cmp, bound, kind = expr.name, _CMP[expr.op], expr.value, expr.kind

    def numeric(labels: LabelSet) -> bool:
        if labels.has_error():
            return True
        raw = labels.get(name)
        if raw is None:
            return False
        value: float | None
        if kind == "duration":
            ns = parse_go_duration(raw)
            value = None if ns is None else float(ns)
        elif kind == "bytes":
            value = parse_bytes(raw)
        else:
            try:
                value = float(raw)
            except ValueError:
                value = None
        if value is None:
            labels.set_error("LabelFilterErr", f"cannot convert {raw!r} for the {kind} filter on {name}")
            return True
        return cmp(value, bound)

    return numeric


def _label_filter(stage: ast.LabelFilterStage) -> StageFn:
    predicate = compile_label_expr(stage.expr)

    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        return line if predicate(labels) else None

    return run


def _line_format(stage: ast.LineFormat) -> StageFn:
    template = compile_template(stage.template)

    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        values = labels.all()
        values["__line__"] = line
        values["__timestamp__"] = str(ts)
        return template.render(values)

    return run


def _keep_drop(stage: ast.KeepStage | ast.DropStage) -> StageFn:
    names = {i for i in stage.items if isinstance(i, str)}
    matchers = [compile_label_expr(i) for i in stage.items if isinstance(i, ast.LabelMatch)]
    matcher_names = [i.name for i in stage.items if isinstance(i, ast.LabelMatch)]
    keep = isinstance(stage, ast.KeepStage)

    def run(ts: int, line: str, labels: LabelSet) -> str | None:
        selected = set(names)
        for mname, pred in zip(matcher_names, matchers, strict=True):
            if labels.get(mname) is not None and pred(labels):
                selected.add(mname)
        for name in list(labels.all()):
            if (name in selected) != keep and name not in (ERROR, ERROR_DETAILS):
                labels.remove(name)
        return line

    return run


_BUILDERS: dict[type, Callable[..., StageFn]] = {
    ast.LineFilter: _line_filter,
    ast.JsonParser: _json_stage,
    ast.LogfmtParser: _logfmt_stage,
    ast.PatternParser: _pattern_stage,
    ast.RegexpParser: _regexp_stage,
    ast.LabelFilterStage: _label_filter,
    ast.LineFormat: _line_format,
    ast.KeepStage: _keep_drop,
    ast.DropStage: _keep_drop,
}


class Pipeline:
    """Run (ts, line, labels) through the stages; ``None`` means the line was filtered out."""

    def __init__(self, stages: tuple[ast.Stage, ...]) -> None:
        self.stages = stages
        self._fns = [_BUILDERS[type(s)](s) for s in stages]
        # Leading line filters need no labels; the evaluator can run them before building a LabelSet.
        self.line_only = 0
        for s in stages:
            if not isinstance(s, ast.LineFilter):
                break
            self.line_only += 1

    def prefilter(self, ts: int, line: str) -> bool:
        if not self.line_only:
            return True
        return all(fn(ts, line, _EMPTY) is not None for fn in self._fns[: self.line_only])

    def process(self, ts: int, line: str, labels: LabelSet, skip_prefilter: bool = False) -> str | None:
        start = self.line_only if skip_prefilter else 0
        out = line
        for fn in self._fns[start:]:
            kept = fn(ts, out, labels)
            if kept is None:
                return None
            out = kept
        return out


_EMPTY = LabelSet({}, {})


def compile_pipeline(stages: tuple[ast.Stage, ...]) -> Pipeline:
    return Pipeline(stages)


def unwrap_value(labels: LabelSet, unwrap: ast.Unwrap) -> float | None:
    """The sample value of ``| unwrap``; None (and ``__error__``) when the label does not convert."""
    raw = labels.get(unwrap.label)
    if raw is None:
        raw = ""
    try:
        if unwrap.conversion in ("duration", "duration_seconds"):
            ns = parse_go_duration(raw)
            if ns is None:
                raise ValueError(raw)
            return duration_seconds(ns)
        if unwrap.conversion == "bytes":
            size = parse_bytes(raw)
            if size is None:
                raise ValueError(raw)
            return size
        return float(raw)
    except ValueError:
        labels.set_error("SampleExtractionErr", f"cannot convert {raw!r} of label {unwrap.label} to a number")
        return None
