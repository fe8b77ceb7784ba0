"""The Go-template subset alert labels and annotations use: ``{{ $labels.x }}``, ``{{ $value }}``.

Supported actions (Prometheus names): ``$labels.<name>``, ``$labels``, ``$value``,
``$externalLabels.<name>``, ``.Labels.<name>``, ``.Value``, string and number literals,
pipes (``{{ $value | humanize }}``) and the functions ``humanize``, ``humanize1024``,
``humanizePercentage``, ``humanizeDuration``, ``printf``, ``toUpper``, ``toLower``,
``title``, ``index``. Control structures (``if``/``range``/``with``) are not supported and
are rejected when the rule file is loaded, so a rule never fails later at evaluation.
Values print as Go's ``%v`` does (``1e+06``); a missing label prints ``<no value>``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Template", "TemplateError", "compile_template", "go_float", "humanize", "humanize_duration"]

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)
_TOKEN = re.compile(
    r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\$[A-Za-z_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|'
    r"\.[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?|"
    r"[A-Za-z_][A-Za-z0-9_]*|\|)"
)
_CONTROL = {"if", "else", "end", "range", "with", "define", "template", "block", "break", "continue"}


class TemplateError(ValueError):
    """A template that uses something this subset does not support, or is malformed."""


def go_float(v: float) -> str:
    """``fmt.Sprint(v)`` of a float64: shortest digits, exponent when exp < -4 or >= 6 (strconv "g", -1)."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == 0:
        return "0" if math.copysign(1, v) > 0 else "-0"
    digits = repr(abs(v))
    mantissa, _, exp_text = digits.partition("e")
    whole, _, frac = mantissa.partition(".")
    frac = frac.rstrip("0")
    sig = (whole + frac).strip("0")
    exp = (len(whole) - 1 if whole != "0" else -(len(frac) - len(frac.lstrip("0")) + 1)) + int(exp_text or 0)
    sign = "-" if v < 0 else ""
    if exp < -4 or exp >= 6:
        body = sig[0] + ("." + sig[1:] if len(sig) > 1 else "")
        return f"{sign}{body}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if exp < 0:
        return f"{sign}0.{'0' * (-exp - 1)}{sig}"
    if len(sig) <= exp + 1:
        return sign + sig + "0" * (exp + 1 - len(sig))
    return f"{sign}{sig[: exp + 1]}.{sig[exp + 1 :]}"


def _g4(v: float) -> str:
    return "%.4g" % v  # noqa: UP031 - C's %g is Go's %g for these values


def humanize(v: float, base: float = 1000.0) -> str:
    """Prometheus ``humanize``: 1234 -> ``1.234k``, 0.0012 -> ``1.2m``."""
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    if abs(v) >= 1:
        prefix = ""
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y") if base == 1000.0 else ("ki", "Mi", "Gi", "Ti"):
            if abs(v) < base:
                break
            prefix, v = p, v / base
        return _g4(v) + prefix
    if base != 1000.0:
        return _g4(v)
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return _g4(v) + prefix


def humanize_duration(v: float) -> str:
    """Prometheus ``humanizeDuration`` of seconds: ``1d 2h 3m 4s``, ``1.5s``, ``250ms``."""
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return _g4(v) + "s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        v = abs(v)
        d = int(v)
        s, m, h, days = d % 60, (d // 60) % 60, (d // 3600) % 24, d // 86400
        if days:
            return f"{sign}{days}d {h}h {m}m {s}s"
        if h:
            return f"{sign}{h}h {m}m {s}s"
        if m:
            return f"{sign}{m}m {s}s"
        return f"{sign}{_g4(v)}s"
    prefix = ""
    for p in ("m", "u", "n", "p", "f", "a", "z", "y"):
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


def _text(value: Any) -> str:
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{v}" for k, v in sorted(value.items())) + "]"
    return str(value)


def _num(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TemplateError(f"cannot use {value!r} as a number") from None


def _printf(fmt: Any, *args: Any) -> str:
    def one(m: re.Match[str]) -> str:
        flags, verb = m.group(1), m.group(2)
        if verb == "%":
            return "%"
        if not rest:
            return f"%!{verb}(MISSING)"
        arg = rest.pop(0)
        if verb in "vs":
            return ("%" + flags + "s") % _text(arg)
        if verb == "q":
            return '"' + str(arg).replace("\\", "\\\\").replace('"', '\\"') + '"'
        n = _num(arg)
        return ("%" + flags + verb) % (int(n) if verb in "dxX" else n)

    rest = list(args)
    return re.sub(r"%([-+ 0#]*\d*(?:\.\d+)?)([vsdfgeqxX%])", one, str(fmt))


def _index(mapping: Any, key: Any) -> Any:
    if not isinstance(mapping, Mapping):
        raise TemplateError("index of a non-map")
    return mapping.get(str(key), "<no value>")


_FUNCS: dict[str, Callable[..., Any]] = {
    "humanize": lambda v: humanize(_num(v)),
    "humanize1024": lambda v: humanize(_num(v), 1024.0),
    "humanizePercentage": lambda v: _g4(_num(v) * 100) + "%",
    "humanizeDuration": lambda v: humanize_duration(_num(v)),
    "printf": _printf,
    "toUpper": lambda s: str(s).upper(),
    "toLower": lambda s: str(s).lower(),
    "title": lambda s: str(s).title(),
    "index": _index,
}


@dataclass(frozen=True)
class _Operand:
    kind: str  # "var" | "literal"
    path: tuple[str, ...] = ()
    value: Any = None

    def resolve(self, data: Mapping[str, Any]) -> Any:
        if self.kind == "literal":
            return self.value
        value: Any = data.get(self.path[0])
        for part in self.path[1:]:
            value = value.get(part, "<no value>") if isinstance(value, Mapping) else "<no value>"
        return value


_VARS = {"$labels": "labels", "$value": "value", "$externalLabels": "external_labels", "$": "dot"}
_DOT = {"Labels": "labels", "Value": "value", "ExternalLabels": "external_labels"}


def _operand(token: str) -> _Operand:
    if token.startswith('"'):
        return _Operand("literal", value=bytes(token[1:-1], "utf-8").decode("unicode_escape"))
    if token.startswith("`"):
        return _Operand("literal", value=token[1:-1])
    if token.startswith("$"):
        head, _, field_name = token.partition(".")
        if head not in _VARS:
            raise TemplateError(f"undefined variable {head!r} (use $labels, $value or $externalLabels)")
        return _Operand("var", (_VARS[head], field_name) if field_name else (_VARS[head],))
    if token.startswith("."):
        parts = token[1:].split(".")
        if parts[0] not in _DOT:
            raise TemplateError(f"unknown field .{parts[0]} (use .Labels or .Value)")
        return _Operand("var", (_DOT[parts[0]], *parts[1:]))
    if re.fullmatch(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?", token):
        return _Operand("literal", value=float(token) if re.search(r"[.eE]", token) else int(token))
    raise TemplateError(f"unexpected {token!r}")


Command = tuple[str | None, list[_Operand]]  # (function name or None, operands)


def _pipeline(action: str) -> list[Command]:
    tokens: list[str] = []
    pos = 0
    while pos < len(action):
        if action[pos:].strip() == "":
            break
        m = _TOKEN.match(action, pos)
        if m is None:
            raise TemplateError(f"cannot parse {action[pos:].strip()!r}")
        tokens.append(m.group(1))
        pos = m.end()
    if not tokens:
        raise TemplateError("missing value for command")
    if tokens[0] in _CONTROL:
        raise TemplateError(f"{{{{ {tokens[0]} }}}} is not supported here; only values and functions")
    commands: list[Command] = []
    current: list[str] = []
    for tok in [*tokens, "|"]:
        if tok != "|":
            current.append(tok)
            continue
        if not current:
            raise TemplateError("missing command in pipeline")
        head, *args = current
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", head):
            if head not in _FUNCS:
                raise TemplateError(f'function "{head}" not defined')
            commands.append((head, [_operand(a) for a in args]))
        else:
            if args:
                raise TemplateError(f"{head} is not a function and takes no arguments")
            commands.append((None, [_operand(head)]))
        current = []
    if commands[0][0] is not None and commands[0][0] != "printf" and not commands[0][1]:
        raise TemplateError(f"wrong number of args for {commands[0][0]}: want 1 got 0")
    return commands


@dataclass(frozen=True)
class Template:
    parts: tuple[str | list[Command], ...]

    def render(
        self, labels: Mapping[str, str], value: float, external: Mapping[str, str] | None = None
    ) -> str:
        data = {"labels": labels, "value": value, "external_labels": external or {}}
        data["dot"] = data
        out = []
        for part in self.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            result: Any = None
            for i, (fn, operands) in enumerate(part):
                args = [o.resolve(data) for o in operands]
                if i > 0:
                    args.append(result)
                result = args[0] if fn is None else _FUNCS[fn](*args)
            out.append(_text(result))
        return "".join(out)


def compile_template(source: str) -> Template:
    """Parse a template once; raise :class:`TemplateError` with what is wrong."""
    parts: list[str | list[Command]] = []
    pos = 0
    for m in _ACTION.finditer(source):
        text = source[pos : m.start()]
        if m.group(1):
            text = text.rstrip()
        parts.append(text)
        parts.append(_pipeline(m.group(2)))
        pos = m.end()
        if m.group(3):
            while pos < len(source) and source[pos].isspace():
                pos += 1
    tail = source[pos:]
    if "{{" in tail:
        raise TemplateError("unclosed action (a '{{' without '}}')")
    parts.append(tail)
    return Template(tuple(p for p in parts if p != ""))
