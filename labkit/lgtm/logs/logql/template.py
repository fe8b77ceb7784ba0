"""The Go text/template subset ``| line_format`` needs: ``{{.label}}``, literals, functions, pipes.

Supported actions: ``{{ .name }}``, ``{{ "text" }}``, ``{{ func arg ... }}``, ``{{ x | func }}``,
with the functions tutorials use (upper, lower, title, trim*, replace, default, printf,
substr, trunc, contains, hasPrefix, hasSuffix, toJson-free). ``{{ if }}``/``{{ range }}`` are not.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ParseError

__all__ = ["Template", "compile_template"]

_ACTION = re.compile(r"\{\{-?\s*(.*?)\s*-?\}\}", re.DOTALL)
_ARG = re.compile(
    r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\.[A-Za-z_][A-Za-z0-9_]*|\.|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)'
)


def _printf(fmt: str, *args: object) -> str:
    out = []
    it = iter(args)
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 >= len(fmt):
            out.append(c)
            i += 1
            continue
        m = re.match(r"%([-+ 0#]*\d*(?:\.\d+)?)([vsdfgqxXe%])", fmt[i:])
        if not m:
            out.append(c)
            i += 1
            continue
        flags, verb = m.groups()
        i += m.end()
        if verb == "%":
            out.append("%")
            continue
        arg = next(it, "")
        if verb in "vs":
            out.append(("%" + flags + "s") % (arg,))
        elif verb == "q":
            out.append('"' + str(arg).replace("\\", "\\\\").replace('"', '\\"') + '"')
        else:
            try:
                num: float = float(str(arg))
                if verb in "dxX":
                    num = int(num)
                out.append(("%" + flags + verb) % (num,))
            except ValueError:
                out.append(f"%!{verb}(string={arg})")
    return "".join(out)


def _substr(start: object, end: object, s: object) -> str:
    text = str(s)
    a, b = int(str(start)), int(str(end))
    if a < 0:
        return text[:b] if b >= 0 else text
    return text[a:b] if b >= 0 else text[a:]


def _trunc(n: object, s: object) -> str:
    k = int(str(n))
    text = str(s)
    return text[:k] if k >= 0 else text[k:]


FUNCS: dict[str, Callable[..., object]] = {
    "upper": lambda s: str(s).upper(),
    "ToUpper": lambda s: str(s).upper(),
    "lower": lambda s: str(s).lower(),
    "ToLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
    "Title": lambda s: str(s).title(),
    "trim": lambda s: str(s).strip(),
    "TrimSpace": lambda s: str(s).strip(),
    "trimPrefix": lambda p, s: str(s).removeprefix(str(p)),
    "TrimPrefix": lambda s, p: str(s).removeprefix(str(p)),
    "trimSuffix": lambda p, s: str(s).removesuffix(str(p)),
    "TrimSuffix": lambda s, p: str(s).removesuffix(str(p)),
    "replace": lambda old, new, s: str(s).replace(str(old), str(new)),
    "Replace": lambda s, old, new, n=-1: str(s).replace(str(old), str(new), int(str(n))),
    "default": lambda d, s="": str(s) if str(s) else str(d),
    "printf": lambda fmt, *args: _printf(str(fmt), *args),
    "substr": _substr,
    "trunc": _trunc,
    "contains": lambda sub, s: str(sub) in str(s),
    "hasPrefix": lambda p, s: str(s).startswith(str(p)),
    "hasSuffix": lambda x, s: str(s).endswith(str(x)),
    "len": lambda s: len(str(s)),
    "repeat": lambda n, s: str(s) * int(str(n)),
}


@dataclass(frozen=True)
class _Command:
    name: str  # a function name, or "" for a bare value
    args: tuple[str, ...]


def _literal(token: str, labels: Mapping[str, str]) -> object:
    if token.startswith('"'):
        return token[1:-1].encode("utf-8").decode("unicode_escape") if "\\" in token else token[1:-1]
    if token.startswith("`"):
        return token[1:-1]
    if token == ".":
        return ""
    if token.startswith("."):
        return labels.get(token[1:], "")
    return token  # a number


class Template:
    def __init__(self, source: str, parts: list[str | list[_Command]]) -> None:
        self.source = source
        self.parts = parts

    def render(self, labels: Mapping[str, str]) -> str:
        out: list[str] = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value: object = None
            for i, cmd in enumerate(part):
                args = [_literal(a, labels) for a in cmd.args]
                if i > 0:
                    args.append(value)
                value = FUNCS[cmd.name](*args) if cmd.name else (args[0] if args else "")
            if isinstance(value, bool):
                out.append("true" if value else "false")
            elif isinstance(value, float) and value.is_integer():
                out.append(str(int(value)))
            else:
                out.append("" if value is None else str(value))
        return "".join(out)


def _split_pipes(action: str) -> list[str]:
    parts, depth_quote, current = [], "", []
    for ch in action:
        if depth_quote:
            current.append(ch)
            if ch == depth_quote:
                depth_quote = ""
            continue
        if ch in '"`':
            depth_quote = ch
        if ch == "|":
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def compile_template(source: str) -> Template:
    """Compile a line_format template; unknown functions raise ParseError like Loki's template errors."""
    parts: list[str | list[_Command]] = []
    pos = 0
    for m in _ACTION.finditer(source):
        if m.start() > pos:
            parts.append(source[pos : m.start()])
        commands: list[_Command] = []
        for piece in _split_pipes(m.group(1)):
            tokens: list[str] = []
            rest = piece.strip()
            while rest:
                am = _ARG.match(rest)
                if not am:
                    raise ParseError(f"template: line:1: unexpected {rest!r} in command")
                tokens.append(am.group(1))
                rest = rest[am.end() :].strip()
            if not tokens:
                raise ParseError("template: line:1: missing value for command")
            head = tokens[0]
            if head[0].isalpha() or head[0] == "_":
                if head not in FUNCS:
                    raise ParseError(f'template: line:1: function "{head}" not defined')
                commands.append(_Command(head, tuple(tokens[1:])))
            else:
                commands.append(_Command("", tuple(tokens)))
        parts.append(commands)
        pos = m.end()
    if "{{" in source[pos:]:
        raise ParseError("template: line:1: unclosed action")
    if pos < len(source):
        parts.append(source[pos:])
    return Template(source, parts)
