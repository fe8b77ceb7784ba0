"""Prometheus rule files: parse and validate YAML ``groups:`` of recording and alerting rules.

The format is Prometheus's ``rulefmt`` (also what Mimir's and Loki's rulers read)::

    groups:
      - name: rag
        interval: 30s            # optional; the ruler's default otherwise
        rules:
          - record: job:requests:rate5m
            expr: sum by (job) (rate(http_requests_total[5m]))
          - alert: HallucinationDetected
            expr: sum(count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0
            for: 1m
            keep_firing_for: 30s
            labels: {severity: page}
            annotations: {summary: "{{ $value }} hallucinations in 5m"}

Validation is strict, as ``promtool check rules`` is: unknown keys, bad durations, bad
label names, templates and query syntax are all errors. Every error names the file, the
group and the rule, and the line/column in the file (of the ``expr`` value for a query
error, shifted by the position the query parser reports).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from labkit.lgtm.rules.template import TemplateError, compile_template

__all__ = [
    "ExprError",
    "Rule",
    "RuleFile",
    "RuleFileError",
    "RuleGroup",
    "format_duration",
    "parse_duration",
    "parse_group_text",
    "parse_rule_file",
    "parse_rule_text",
]

_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
_GROUP_KEYS = {"name", "interval", "limit", "query_offset", "rules", "labels"}
_RULE_KEYS = {"record", "alert", "expr", "for", "keep_firing_for", "labels", "annotations"}


class ExprError(ValueError):
    """A query that does not parse; ``line``/``col`` (1-based, inside the query) when known."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class RuleFileError(ValueError):
    """A rule file that cannot be loaded; the message names file, group, rule and position."""

    def __init__(
        self, path: str, message: str, *, group: str = "", rule: str = "", line: int = 0, col: int = 0
    ) -> None:
        self.path, self.group, self.rule, self.line, self.col = path, group, rule, line, col
        self.message = message
        where = path
        if line:
            where += f":{line}:{col}"
        parts = [where]
        if group:
            parts.append(f"group {group!r}")
        if rule:
            parts.append(f"rule {rule!r}")
        super().__init__(", ".join(parts) + ": " + message)


def parse_duration(text: object) -> int | None:
    """A Prometheus duration (``1h30m``, ``15s``, ``0``) in ms, or None if it is not one."""
    if isinstance(text, int) and not isinstance(text, bool) and text == 0:
        return 0
    if not isinstance(text, str) or not text:
        return None
    if text == "0":
        return 0
    m = _DURATION.match(text)
    if m is None:
        return None
    return sum(int(g) * u for g, u in zip(m.groups()[1::2], _UNITS_MS, strict=True) if g)


def format_duration(ms: int) -> str:
    """Prometheus's way of printing a duration: ``1h30m``, ``15s``, ``0s``."""
    if ms == 0:
        return "0s"
    out = []
    for unit, size in zip(("y", "w", "d", "h", "m", "s", "ms"), _UNITS_MS, strict=True):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


@dataclass
class Rule:
    """One recording (``record``) or alerting (``alert``) rule, as written in the file."""

    kind: str  # "record" | "alert"
    name: str
    expr: str
    for_ms: int = 0
    keep_firing_for_ms: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    compiled: Any = None  # the engine's parsed query, reused at every evaluation
    line: int = 0

    def to_yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {self.kind: self.name, "expr": self.expr}
        if self.for_ms:
            out["for"] = format_duration(self.for_ms)
        if self.keep_firing_for_ms:
            out["keep_firing_for"] = format_duration(self.keep_firing_for_ms)
        if self.labels:
            out["labels"] = dict(self.labels)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        return out


@dataclass
class RuleGroup:
    name: str
    file: str
    interval_ms: int | None  # None: the ruler's default interval
    rules: list[Rule]
    limit: int = 0
    query_offset_ms: int = 0

    def to_yaml_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        if self.interval_ms is not None:
            out["interval"] = format_duration(self.interval_ms)
        if self.limit:
            out["limit"] = self.limit
        out["rules"] = [r.to_yaml_dict() for r in self.rules]
        return out


@dataclass
class RuleFile:
    path: str
    groups: list[RuleGroup]


# engine check: parse the query, return the compiled form, raise ExprError on a syntax error
ExprChecker = Callable[[str], Any]


class _Ctx:
    def __init__(self, path: str) -> None:
        self.path = path
        self.group = ""
        self.rule = ""

    def error(self, node: yaml.Node | None, message: str, *, line: int = 0, col: int = 0) -> RuleFileError:
        if node is not None and not line:
            line, col = node.start_mark.line + 1, node.start_mark.column + 1
        return RuleFileError(self.path, message, group=self.group, rule=self.rule, line=line, col=col)


def _is_null(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and node.tag.endswith(":null")


def _mapping(ctx: _Ctx, node: yaml.Node, what: str) -> list[tuple[str, yaml.Node, yaml.Node]]:
    if not isinstance(node, yaml.MappingNode):
        raise ctx.error(node, f"{what} must be a mapping")
    out = []
    seen: set[str] = set()
    for key, value in node.value:
        if not isinstance(key, yaml.ScalarNode):
            raise ctx.error(key, f"{what} has a non-string key")
        if key.value in seen:
            raise ctx.error(key, f"{what} repeats the key {key.value!r}")
        seen.add(key.value)
        out.append((key.value, key, value))
    return out


def _scalar(ctx: _Ctx, node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise ctx.error(node, f"{what} must be a string")
    return str(node.value)


def _duration(ctx: _Ctx, node: yaml.Node, what: str) -> int:
    text = _scalar(ctx, node, what)
    ms = parse_duration(text)
    if ms is None:
        raise ctx.error(node, f'{what}: not a valid duration string: "{text}" (use e.g. 30s, 5m, 1h)')
    return ms


def _string_map(ctx: _Ctx, node: yaml.Node, what: str, templated: bool) -> dict[str, str]:
    if _is_null(node):
        return {}
    out: dict[str, str] = {}
    for key, key_node, value_node in _mapping(ctx, node, what):
        if not _LABEL_NAME.match(key) or key.startswith("__"):
            raise ctx.error(key_node, f"{what}: invalid name {key!r}")
        value = _scalar(ctx, value_node, f"{what}.{key}")
        if templated:
            try:
                compile_template(value)
            except TemplateError as exc:
                raise ctx.error(value_node, f"{what}.{key}: template: {exc}") from None
        out[key] = value
    return out


def _expr_position(node: yaml.ScalarNode, exc: ExprError) -> tuple[int, int]:
    """File line/column of a position inside the query (exact for one-line and block scalars)."""
    line, col = node.start_mark.line + 1, node.start_mark.column + 1
    if not exc.line:
        return line, col
    if node.style in ("|", ">"):
        # A block scalar's text starts on the line after the indicator, at the block's indentation.
        lines = (node.start_mark.buffer or "").splitlines()
        first = node.start_mark.line + 1
        text = lines[first] if first < len(lines) else ""
        indent = len(text) - len(text.lstrip(" "))
        return first + exc.line, indent + exc.col
    if exc.line == 1:
        return line, col + exc.col - 1 + (1 if node.style in ('"', "'") else 0)
    return line + exc.line - 1, exc.col


def _rule(ctx: _Ctx, node: yaml.Node, index: int, check: ExprChecker) -> Rule:
    items = _mapping(ctx, node, f"rule {index + 1}")
    values = {k: (kn, vn) for k, kn, vn in items}
    for field_name in ("alert", "record"):  # name the rule in every later error
        if field_name in values and isinstance(values[field_name][1], yaml.ScalarNode):
            ctx.rule = str(values[field_name][1].value).strip() or f"#{index + 1}"
            break
    else:
        ctx.rule = f"#{index + 1}"
    for key, key_node, _ in items:
        if key not in _RULE_KEYS:
            raise ctx.error(key_node, f"field {key} not found in type rulefmt.Rule")
    has_record, has_alert = "record" in values, "alert" in values
    if has_record == has_alert:
        ctx.rule = f"#{index + 1}"
        raise ctx.error(
            node,
            "one of 'record' or 'alert' must be set"
            if not has_record
            else "only one of 'record' and 'alert' may be set",
        )
    kind = "record" if has_record else "alert"
    name = _scalar(ctx, values[kind][1], kind).strip()
    ctx.rule = name or f"#{index + 1}"
    if not name:
        raise ctx.error(values[kind][1], f"field '{kind}' must be set in rule")
    if kind == "record":
        if not _METRIC_NAME.match(name):
            raise ctx.error(values[kind][1], f"invalid recording rule name: {name}")
        for bad in ("for", "keep_firing_for", "annotations"):
            if bad in values:
                raise ctx.error(values[bad][0], f"invalid field '{bad}' in recording rule")
    if "expr" not in values:
        raise ctx.error(node, "field 'expr' must be set in rule")
    expr_node = values["expr"][1]
    expr = _scalar(ctx, expr_node, "expr").strip()
    if not expr:
        raise ctx.error(expr_node, "field 'expr' must be set in rule")
    try:
        compiled = check(expr)
    except ExprError as exc:
        assert isinstance(expr_node, yaml.ScalarNode)
        line, col = _expr_position(expr_node, exc)
        raise ctx.error(None, f"could not parse expression: {exc.message}", line=line, col=col) from None
    rule = Rule(kind, name, expr, compiled=compiled, line=node.start_mark.line + 1)
    if "for" in values:
        rule.for_ms = _duration(ctx, values["for"][1], "for")
    if "keep_firing_for" in values:
        rule.keep_firing_for_ms = _duration(ctx, values["keep_firing_for"][1], "keep_firing_for")
    if "labels" in values:
        rule.labels = _string_map(ctx, values["labels"][1], "labels", templated=kind == "alert")
        if kind == "record" and "__name__" in rule.labels:
            raise ctx.error(values["labels"][1], "invalid label name: __name__")
    if "annotations" in values:
        rule.annotations = _string_map(ctx, values["annotations"][1], "annotations", templated=True)
    return rule


def _group(ctx: _Ctx, node: yaml.Node, index: int, check: ExprChecker) -> RuleGroup:
    ctx.group, ctx.rule = f"#{index + 1}", ""
    items = _mapping(ctx, node, f"group {index + 1}")
    values = {k: (kn, vn) for k, kn, vn in items}
    if "name" not in values or not _scalar(ctx, values["name"][1], "name").strip():
        raise ctx.error(node, "groupname must not be empty")
    ctx.group = _scalar(ctx, values["name"][1], "name").strip()
    for key, key_node, _ in items:
        if key not in _GROUP_KEYS:
            raise ctx.error(key_node, f"field {key} not found in type rulefmt.RuleGroup")
    interval = _duration(ctx, values["interval"][1], "interval") if "interval" in values else None
    if interval == 0:
        raise ctx.error(values["interval"][1], "interval must be greater than 0")
    limit = 0
    if "limit" in values:
        text = _scalar(ctx, values["limit"][1], "limit")
        if not text.isdigit():
            raise ctx.error(values["limit"][1], f"limit must be a non-negative integer, got {text!r}")
        limit = int(text)
    offset = _duration(ctx, values["query_offset"][1], "query_offset") if "query_offset" in values else 0
    rules_node = values.get("rules", (None, None))[1]
    rules: list[Rule] = []
    if rules_node is not None and not (
        isinstance(rules_node, yaml.ScalarNode) and rules_node.tag.endswith(":null")
    ):
        if not isinstance(rules_node, yaml.SequenceNode):
            raise ctx.error(rules_node, "rules must be a list")
        for i, rule_node in enumerate(rules_node.value):
            rules.append(_rule(ctx, rule_node, i, check))
            ctx.rule = ""
    return RuleGroup(ctx.group, ctx.path, interval, rules, limit, offset)


def parse_rule_text(text: str, path: str, check: ExprChecker) -> RuleFile:
    """Parse and validate rule-file text; ``check`` parses one query (PromQL or LogQL)."""
    ctx = _Ctx(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RuleFileError(path, f"YAML syntax error: {exc.problem or exc}", line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(path, f"YAML error: {exc}") from None
    if root is None:
        return RuleFile(path, [])
    top = _mapping(ctx, root, "the rule file")
    groups_node = None
    for key, key_node, value in top:
        if key != "groups":
            raise ctx.error(key_node, f"field {key} not found in type rulefmt.RuleGroups")
        groups_node = value
    if groups_node is None or (
        isinstance(groups_node, yaml.ScalarNode) and groups_node.tag.endswith(":null")
    ):
        return RuleFile(path, [])
    if not isinstance(groups_node, yaml.SequenceNode):
        raise ctx.error(groups_node, "groups must be a list")
    groups: list[RuleGroup] = []
    seen: set[str] = set()
    for i, group_node in enumerate(groups_node.value):
        group = _group(ctx, group_node, i, check)
        if group.name in seen:
            raise ctx.error(group_node, f"{group.name!r}: repeated in the same file")
        seen.add(group.name)
        groups.append(group)
    return RuleFile(path, groups)


def parse_group_text(text: str, path: str, check: ExprChecker) -> RuleGroup:
    """Parse one rule group (the body the ruler APIs take: ``name:``, ``rules:`` ...)."""
    ctx = _Ctx(path)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
        raise RuleFileError(path, f"YAML syntax error: {exc.problem or exc}", line=line, col=col) from None
    except yaml.YAMLError as exc:
        raise RuleFileError(path, f"YAML error: {exc}") from None
    if root is None:
        raise RuleFileError(path, "empty rule group: send YAML with name: and rules:")
    return _group(ctx, root, 0, check)


def parse_rule_file(path: Path | str, check: ExprChecker) -> RuleFile:
    """Read and validate one rule file (UTF-8 YAML)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RuleFileError(str(p), f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise RuleFileError(str(p), f"cannot read: {exc.strerror or exc}") from None
    return parse_rule_text(text, str(p), check)
