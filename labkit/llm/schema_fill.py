"""Build a JSON value that validates against a JSON schema, preferring given hints.

The offline model answers forced tool calls with this: for any tool it builds a
schema-valid ``input``; for tools it understands (the prompt-review tool) it passes
its analysis as ``hint`` and the builder keeps every hinted value that fits the
schema, filling the rest. So the specialised answer is still shaped by the caller's
schema, never by an assumption about it.

Supported: ``type`` (and type lists), ``enum``, ``const``, ``$ref`` into ``$defs`` /
``definitions``, ``anyOf`` / ``oneOf`` (first branch that fits the hint), ``allOf``
(merged), ``properties`` / ``required`` / ``additionalProperties``, ``items`` /
``prefixItems`` / ``minItems`` / ``maxItems``, string ``minLength`` / ``maxLength`` /
``format``, number ``minimum`` / ``maximum`` / exclusive bounds / ``multipleOf``,
``default``. ``pattern`` is not solved: a hinted string is kept only if it matches.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["SchemaError", "fill"]

_MAX_DEPTH = 24


class SchemaError(ValueError):
    """The schema is malformed (e.g. a ``$ref`` that points nowhere)."""


def fill(schema: Mapping[str, Any], hint: Any = None, *, seed: str = "") -> Any:
    """A value valid for ``schema``; ``hint`` values are used wherever they fit."""
    if not isinstance(schema, Mapping):
        raise SchemaError(f"a JSON schema must be an object, got {type(schema).__name__}")
    return _Filler(schema, seed).value(schema, hint, "$", 0)


class _Filler:
    def __init__(self, root: Mapping[str, Any], seed: str) -> None:
        self.root = root
        self.seed = seed

    def resolve(self, schema: Mapping[str, Any]) -> Mapping[str, Any]:
        seen = 0
        while "$ref" in schema:
            ref = schema["$ref"]
            if not isinstance(ref, str) or not ref.startswith("#"):
                raise SchemaError(f"only local $ref is supported, got {ref!r}")
            target: Any = self.root
            for part in [p for p in ref[1:].split("/") if p]:
                part = part.replace("~1", "/").replace("~0", "~")
                if not isinstance(target, Mapping) or part not in target:
                    raise SchemaError(f"$ref {ref!r} does not resolve")
                target = target[part]
            merged = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **merged}
            seen += 1
            if seen > _MAX_DEPTH:
                raise SchemaError(f"$ref {ref!r} is circular")
        return schema

    def value(self, schema: Any, hint: Any, path: str, depth: int) -> Any:
        if schema is True or schema == {}:
            return hint if hint is not None else ""
        if not isinstance(schema, Mapping):
            raise SchemaError(f"schema at {path} must be an object or true")
        if depth > _MAX_DEPTH:
            raise SchemaError(f"schema at {path} nests deeper than {_MAX_DEPTH}")
        schema = self.resolve(schema)
        if "const" in schema:
            return schema["const"]
        if "enum" in schema:
            options = list(schema["enum"])
            if not options:
                raise SchemaError(f"enum at {path} is empty")
            return hint if hint in options else options[self._pick(path, len(options))]
        if "allOf" in schema:
            merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                part = self.resolve(part)
                for key, val in part.items():
                    if key in ("properties", "$defs") and key in merged:
                        merged[key] = {**merged[key], **val}
                    elif key == "required" and key in merged:
                        merged[key] = sorted(set(merged[key]) | set(val))
                    else:
                        merged[key] = val
            return self.value(merged, hint, path, depth + 1)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                branches = [self.resolve(b) for b in schema[key]]
                if not branches:
                    raise SchemaError(f"{key} at {path} is empty")
                chosen = next((b for b in branches if _fits_type(b, hint)), None)
                if chosen is None:
                    # Prefer a non-null branch: a filled value teaches more than null.
                    chosen = next((b for b in branches if b.get("type") != "null"), branches[0])
                return self.value(chosen, hint, path, depth + 1)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if _fits_type({"type": k}, hint)), None) or next(
                (k for k in kind if k != "null"), kind[0] if kind else None
            )
        if kind is None:
            kind = _infer_type(schema, hint)
        if hint is None and "default" in schema:
            return schema["default"]
        maker = getattr(self, f"_{kind}", None)
        if maker is None:
            raise SchemaError(f"unsupported type {kind!r} at {path}")
        return maker(schema, hint, path, depth)

    def _pick(self, path: str, n: int) -> int:
        digest = hashlib.sha256(f"{self.seed}|{path}".encode()).digest()
        return int.from_bytes(digest[:4], "big") % n

    def _object(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> dict[str, Any]:
        props: Mapping[str, Any] = schema.get("properties", {})
        required = list(schema.get("required", []))
        given = hint if isinstance(hint, Mapping) else {}
        out: dict[str, Any] = {}
        for name, sub in props.items():
            if name in required or name in given:
                out[name] = self.value(sub, given.get(name), f"{path}.{name}", depth + 1)
        for name in required:
            if name not in out:
                extra = schema.get("additionalProperties", True)
                out[name] = self.value(extra if extra is not False else {}, given.get(name), path, depth + 1)
        min_props = int(schema.get("minProperties", 0))
        extra_schema = schema.get("additionalProperties", True)
        index = 0
        while len(out) < min_props and extra_schema is not False:
            out[f"key{index}"] = self.value(extra_schema, None, f"{path}.key{index}", depth + 1)
            index += 1
        return out

    def _array(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> list[Any]:
        lo = int(schema.get("minItems", 0))
        hi = schema.get("maxItems")
        prefix = list(schema.get("prefixItems", []))
        items = schema.get("items", {})
        given = list(hint) if isinstance(hint, (list, tuple)) else []
        # An explicit hint (even an empty list) decides the length; otherwise show one item.
        wanted = len(given) if isinstance(hint, (list, tuple)) else (1 if not prefix else 0)
        count = max(lo, wanted, len(prefix))
        if hi is not None:
            count = min(count, int(hi))
        out = []
        for i in range(count):
            sub = prefix[i] if i < len(prefix) else items
            out.append(self.value(sub, given[i] if i < len(given) else None, f"{path}[{i}]", depth + 1))
        if schema.get("uniqueItems"):
            out = _unique(out)
        return out

    def _string(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> str:
        lo = int(schema.get("minLength", 0))
        hi = schema.get("maxLength")
        pattern = schema.get("pattern")
        if isinstance(hint, str):
            text = hint
            if hi is not None and len(text) > int(hi):
                text = text[: int(hi)]
            if len(text) < lo:
                text = text + "." * (lo - len(text))
            if pattern is None or re.search(pattern, text):
                return text
        fmt = schema.get("format")
        text = _FORMATS.get(fmt, "") if fmt else ""
        if not text:
            text = "offline " + path.rsplit(".", 1)[-1].strip("$[]0123456789") or "offline value"
        if len(text) < lo:
            text = text + "x" * (lo - len(text))
        if hi is not None:
            text = text[: int(hi)]
        return text

    def _integer(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> int:
        value = self._number(schema, hint, path, depth)
        lo, hi = _bounds(schema, integer=True)
        result = math.ceil(value) if value != int(value) else int(value)
        return int(min(max(result, lo), hi))

    def _number(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> float:
        lo, hi = _bounds(schema, integer=schema.get("type") == "integer")
        if isinstance(hint, (int, float)) and not isinstance(hint, bool) and lo <= hint <= hi:
            value = float(hint)
        elif math.isfinite(lo) and math.isfinite(hi):
            value = (lo + hi) / 2
        elif math.isfinite(lo):
            value = lo
        elif math.isfinite(hi):
            value = min(hi, 0.0)
        else:
            value = 0.0
        step = schema.get("multipleOf")
        if step:
            value = math.ceil(value / step) * step
            if value > hi:
                value -= step
        return value

    def _boolean(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> bool:
        return hint if isinstance(hint, bool) else False

    def _null(self, schema: Mapping[str, Any], hint: Any, path: str, depth: int) -> None:
        return None


_FORMATS = {
    "date-time": "2026-01-01T00:00:00Z",
    "date": "2026-01-01",
    "time": "00:00:00Z",
    "email": "offline@example.com",
    "uri": "https://example.com/offline",
    "uuid": "00000000-0000-4000-8000-000000000000",
    "ipv4": "127.0.0.1",
    "hostname": "localhost",
}


def _bounds(schema: Mapping[str, Any], *, integer: bool) -> tuple[float, float]:
    lo = float(schema.get("minimum", -math.inf))
    hi = float(schema.get("maximum", math.inf))
    eps = 1 if integer else 1e-9
    if "exclusiveMinimum" in schema and not isinstance(schema["exclusiveMinimum"], bool):
        lo = max(lo, float(schema["exclusiveMinimum"]) + eps)
    if "exclusiveMaximum" in schema and not isinstance(schema["exclusiveMaximum"], bool):
        hi = min(hi, float(schema["exclusiveMaximum"]) - eps)
    if lo > hi:
        raise SchemaError(f"numeric bounds are empty: minimum {lo} > maximum {hi}")
    return lo, hi


def _infer_type(schema: Mapping[str, Any], hint: Any) -> str:
    if "properties" in schema or "required" in schema:
        return "object"
    if "items" in schema or "prefixItems" in schema:
        return "array"
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return "string"
    if any(k in schema for k in ("minimum", "maximum", "multipleOf")):
        return "number"
    for kind in ("object", "array", "string", "boolean", "integer", "number"):
        if _fits_type({"type": kind}, hint):
            return kind
    return "string"


def _fits_type(schema: Mapping[str, Any], hint: Any) -> bool:
    if hint is None:
        return schema.get("type") == "null"
    kind = schema.get("type")
    checks = {
        "object": isinstance(hint, Mapping),
        "array": isinstance(hint, (list, tuple)),
        "string": isinstance(hint, str),
        "boolean": isinstance(hint, bool),
        "integer": isinstance(hint, int) and not isinstance(hint, bool),
        "number": isinstance(hint, (int, float)) and not isinstance(hint, bool),
    }
    if kind is None:
        return True
    if isinstance(kind, list):
        return any(checks.get(k, False) for k in kind)
    return checks.get(kind, False)


def _unique(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for v in values:
        if v not in seen:
            seen.append(v)
    return seen
