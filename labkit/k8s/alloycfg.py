"""A structural check of Alloy configuration files (the River/Alloy syntax), without Alloy.

No Alloy binary can be fetched here, so ``k8s/alloy/config.alloy`` is checked by this parser:

- lexical: strings (``"..."`` with escapes, raw backtick strings), ``//`` and ``/* */``
  comments, numbers, identifiers, punctuation; an unterminated string or comment is an error;
- structure: balanced ``{ } [ ] ( )``; a body holds attributes (``name = expression``) and
  blocks (``a.b.c "label" { ... }``);
- top level: every block is a known component (with exactly one label) or a known
  configuration block (``logging``, ``tracing``...; without a label); ``(component, label)``
  pairs are unique;
- wiring: every reference ``<component>.<label>.<export>`` in an expression names a component
  defined in the file and an export that component has (``.input`` of an otelcol exporter,
  ``.receiver`` of ``loki.write``, ``.targets``/``.output`` of discovery...).

It does not type-check arguments or know every Alloy component (the table below holds those
labkit's configs use and their common neighbours); ``alloy fmt`` / ``alloy run`` are the full
check where the binary exists. Errors carry ``file:line:column``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "COMPONENT_EXPORTS",
    "AlloyBlock",
    "AlloyConfigError",
    "check_alloy",
    "check_alloy_file",
    "parse_alloy",
]

# Component -> the fields it exports (what other components may reference).
COMPONENT_EXPORTS: dict[str, frozenset[str]] = {
    name: frozenset(exports)
    for name, exports in {
        "discovery.kubernetes": ["targets"],
        "discovery.relabel": ["output", "rules"],
        "local.file_match": ["targets"],
        "loki.process": ["receiver"],
        "loki.relabel": ["receiver", "rules"],
        "loki.write": ["receiver"],
        "loki.source.kubernetes": [],
        "loki.source.kubernetes_events": [],
        "loki.source.file": [],
        "loki.source.podlogs": [],
        "otelcol.receiver.otlp": [],
        "otelcol.receiver.prometheus": ["receiver"],
        "otelcol.receiver.loki": ["receiver"],
        "otelcol.processor.batch": ["input"],
        "otelcol.processor.memory_limiter": ["input"],
        "otelcol.processor.k8sattributes": ["input"],
        "otelcol.processor.transform": ["input"],
        "otelcol.processor.attributes": ["input"],
        "otelcol.processor.resourcedetection": ["input"],
        "otelcol.exporter.otlp": ["input"],
        "otelcol.exporter.otlphttp": ["input"],
        "otelcol.exporter.prometheus": ["input"],
        "otelcol.exporter.loki": ["input"],
        "otelcol.exporter.debug": ["input"],
        "otelcol.connector.spanmetrics": ["input"],
        "otelcol.connector.servicegraph": ["input"],
        "prometheus.remote_write": ["receiver"],
        "prometheus.scrape": [],
        "prometheus.relabel": ["receiver", "rules"],
        "prometheus.exporter.unix": ["targets"],
        "prometheus.exporter.self": ["targets"],
    }.items()
}
# Blocks of the top level that configure Alloy itself and take no label.
CONFIG_BLOCKS = frozenset({"logging", "tracing", "http", "remotecfg", "livedebugging", "foreach"})
# Namespaces of the standard library: ``sys.env(...)``, ``string.format(...)`` are calls, not references.
_STDLIB = frozenset(
    {"sys", "string", "array", "encoding", "convert", "file", "constants", "json_path", "env"}
)
_PREFIXES = frozenset(name.split(".", 1)[0] for name in COMPONENT_EXPORTS)

_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r]+)
  | (?P<nl>\n)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<number>\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|<=|>=|&&|\|\||[-+*/%^<>!=.,:\[\](){}])
    """,
    re.VERBOSE | re.DOTALL,
)


class AlloyConfigError(ValueError):
    """The file is not a valid Alloy configuration; the message starts with ``file:line:col``."""


@dataclass(frozen=True)
class _Tok:
    kind: str
    text: str
    line: int
    col: int


@dataclass
class AlloyBlock:
    name: str  # dotted: "otelcol.exporter.otlp"
    label: str | None
    line: int
    attributes: dict[str, list[str]] = field(default_factory=dict)  # name -> expression tokens
    blocks: list[AlloyBlock] = field(default_factory=list)


def _tokens(text: str, source: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos, line, line_start = 0, 1, 0
    while pos < len(text):
        col = pos - line_start + 1
        if text.startswith("/*", pos) and "*/" not in text[pos + 2 :]:
            raise AlloyConfigError(f"{source}:{line}:{col}: unterminated /* comment")
        m = _TOKEN.match(text, pos)
        if m is None:
            ch = text[pos]
            if ch == '"':
                raise AlloyConfigError(f"{source}:{line}:{col}: unterminated string")
            if ch == "`":
                raise AlloyConfigError(f"{source}:{line}:{col}: unterminated raw string")
            raise AlloyConfigError(f"{source}:{line}:{col}: unexpected character {ch!r}")
        kind = m.lastgroup or ""
        value = m.group()
        if kind not in ("ws", "line_comment", "block_comment"):
            out.append(_Tok(kind, value, line, col))
        newlines = value.count("\n")
        if newlines:
            line += newlines
            line_start = pos + value.rindex("\n") + 1
        pos = m.end()
    out.append(_Tok("eof", "", line, pos - line_start + 1))
    return out


_CLOSE = {"{": "}", "[": "]", "(": ")"}


class _Parser:
    def __init__(self, toks: list[_Tok], source: str) -> None:
        self.toks, self.i, self.source = toks, 0, source

    def err(self, tok: _Tok, message: str) -> AlloyConfigError:
        return AlloyConfigError(f"{self.source}:{tok.line}:{tok.col}: {message}")

    def peek(self, k: int = 0) -> _Tok:
        return self.toks[min(self.i + k, len(self.toks) - 1)]

    def next(self) -> _Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def skip_newlines(self) -> None:
        while self.peek().kind == "nl":
            self.i += 1

    def body(self, closing: _Tok | None) -> tuple[dict[str, list[str]], list[AlloyBlock]]:
        attributes: dict[str, list[str]] = {}
        blocks: list[AlloyBlock] = []
        while True:
            self.skip_newlines()
            tok = self.peek()
            if tok.kind == "eof":
                if closing is not None:
                    raise self.err(closing, "block opened here is never closed (missing '}')")
                return attributes, blocks
            if tok.text == "}":
                if closing is None:
                    raise self.err(tok, "'}' without a block to close")
                self.i += 1
                return attributes, blocks
            if tok.kind != "ident":
                raise self.err(tok, f"expected an attribute or a block name, found {tok.text!r}")
            name_tok = tok
            name = self.dotted()
            after = self.peek()
            if after.text == "=" and "." not in name:
                self.i += 1
                if name in attributes:
                    raise self.err(name_tok, f"attribute {name!r} set twice")
                attributes[name] = self.expression(after)
                continue
            label = None
            if after.kind == "string":
                label = after.text[1:-1]
                self.i += 1
                after = self.peek()
            if after.text != "{":
                raise self.err(
                    after, f"expected '=' or '{{' after {name!r}, found {after.text or 'end of file'!r}"
                )
            self.i += 1
            inner_attrs, inner_blocks = self.body(after)
            blocks.append(AlloyBlock(name, label, name_tok.line, inner_attrs, inner_blocks))

    def dotted(self) -> str:
        parts = [self.next().text]
        while self.peek().text == "." and self.peek(1).kind == "ident":
            self.i += 1
            parts.append(self.next().text)
        return ".".join(parts)

    def expression(self, start: _Tok) -> list[str]:
        """The expression's tokens up to the end of its line, across balanced brackets."""
        stack: list[_Tok] = []
        out: list[str] = []
        while True:
            tok = self.peek()
            if tok.kind == "eof":
                if stack:
                    raise self.err(stack[-1], f"{stack[-1].text!r} is never closed")
                break
            if tok.kind == "nl" and not stack:
                if out and out[-1] in {
                    "+",
                    "-",
                    "*",
                    "/",
                    "%",
                    "^",
                    "&&",
                    "||",
                    "==",
                    "!=",
                    "<",
                    ">",
                    "<=",
                    ">=",
                }:
                    self.i += 1  # an operator at the end of a line continues on the next
                    continue
                break
            if tok.text == "}" and not stack:
                break  # "{ a = 1 }" on one line: the block's brace ends the attribute
            self.i += 1
            if tok.kind == "nl":
                continue
            if tok.text in _CLOSE:
                stack.append(tok)
            elif tok.text in _CLOSE.values():
                if not stack or _CLOSE[stack[-1].text] != tok.text:
                    raise self.err(tok, f"unbalanced {tok.text!r}")
                stack.pop()
            out.append(tok.text if tok.kind != "string" else "\0" + tok.text)
        if not out:
            raise self.err(start, "'=' without a value")
        return out


def parse_alloy(text: str, source: str = "<config>") -> list[AlloyBlock]:
    """The top-level blocks of an Alloy configuration; raises :class:`AlloyConfigError`."""
    parser = _Parser(_tokens(text, source), source)
    attributes, blocks = parser.body(None)
    if attributes:
        name = next(iter(attributes))
        raise AlloyConfigError(f"{source}: attribute {name!r} outside any block")
    return blocks


def _references(tokens: list[str]) -> list[str]:
    """Dotted identifier chains in an expression that are not calls (``sys.env(...)``)."""
    chains: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if re.fullmatch(r"[A-Za-z_]\w*", tok) and (i == 0 or tokens[i - 1] != "."):
            parts = [tok]
            j = i + 1
            while j + 1 < len(tokens) and tokens[j] == "." and re.fullmatch(r"[A-Za-z_]\w*", tokens[j + 1]):
                parts.append(tokens[j + 1])
                j += 2
            is_call = j < len(tokens) and tokens[j] == "("
            if len(parts) > 1 and not is_call and parts[0] not in _STDLIB:
                chains.append(".".join(parts))
            i = j
        else:
            i += 1
    return chains


def _walk(block: AlloyBlock) -> list[list[str]]:
    out = list(block.attributes.values())
    for inner in block.blocks:
        out.extend(_walk(inner))
    return out


def check_alloy(text: str, source: str = "<config>") -> list[AlloyBlock]:
    """Parse and check ``text`` (see the module doc); returns the blocks or raises with the first problem."""
    blocks = parse_alloy(text, source)
    defined: dict[tuple[str, str], AlloyBlock] = {}
    for b in blocks:
        where = f"{source}:{b.line}"
        if b.name in CONFIG_BLOCKS:
            if b.label is not None:
                raise AlloyConfigError(f"{where}: the {b.name} block takes no label")
            continue
        if b.name not in COMPONENT_EXPORTS:
            raise AlloyConfigError(f"{where}: unknown component {b.name!r}")
        if not b.label:
            raise AlloyConfigError(f'{where}: component {b.name} needs a label: {b.name} "<name>" {{ ... }}')
        if (b.name, b.label) in defined:
            raise AlloyConfigError(f'{where}: {b.name} "{b.label}" is defined twice')
        defined[(b.name, b.label)] = b
    for b in blocks:
        for expr in _walk(b):
            for ref in _references(expr):
                parts = ref.split(".")
                if parts[0] not in _PREFIXES:
                    continue
                for n in range(len(parts) - 2, 0, -1):
                    component = ".".join(parts[:n])
                    if component in COMPONENT_EXPORTS:
                        label, export = parts[n], parts[n + 1] if len(parts) > n + 1 else None
                        if (component, label) not in defined:
                            raise AlloyConfigError(
                                f'{source}:{b.line}: {ref} refers to {component} "{label}", '
                                "which is not defined"
                            )
                        if export is None or export not in COMPONENT_EXPORTS[component]:
                            known = ", ".join(sorted(COMPONENT_EXPORTS[component])) or "nothing"
                            raise AlloyConfigError(
                                f"{source}:{b.line}: {ref}: {component} exports {known}, not {export!r}"
                            )
                        break
                else:
                    raise AlloyConfigError(f"{source}:{b.line}: {ref} is not a known component's export")
    return blocks


def check_alloy_file(path: Path) -> list[AlloyBlock]:
    return check_alloy(path.read_text(encoding="utf-8"), str(path))
