"""Label helpers shared by the log store and the LogQL evaluator.

Loki identifies a stream by the Prometheus string form of its label set
(``{a="b", c="d"}``, names sorted, values Go-quoted) and sorts query results by that
string, so this module reproduces it byte for byte.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from decimal import Decimal

import orjson

from .._strings import go_quote

__all__ = [
    "detect_level",
    "format_sample_value",
    "json_object",
    "labels_string",
    "level_from_severity",
    "sanitize_label_name",
]

_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def labels_string(labels: Mapping[str, str]) -> str:
    """``{a="b", c="d"}`` with sorted names: Loki's stream identity and sort key."""
    return "{" + ", ".join(f"{k}={go_quote(labels[k])}" for k in sorted(labels)) + "}"


_SANITIZED: dict[str, str] = {}  # parsers meet the same few field names on every line


def sanitize_label_name(name: str) -> str:
    """OTLP attribute / parsed field name -> a valid label name (dots and dashes become ``_``)."""
    out = _SANITIZED.get(name)
    if out is not None:
        return out
    out = _INVALID_NAME_CHARS.sub("_", name)
    if out and out[0].isdigit():
        out = "_" + out
    if len(_SANITIZED) < 10_000:
        _SANITIZED[name] = out
    return out


def format_sample_value(v: float) -> str:
    """A sample value as Go's ``strconv.FormatFloat(v, 'f', -1, 64)``: shortest digits, no exponent."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    if v == int(v) and abs(v) < 1e21:
        return str(int(v))
    return format(Decimal(repr(v)), "f")


# -- detected_level --------------------------------------------------------------------
_LEVEL_KEYS = ("level", "LEVEL", "Level", "lvl", "LVL", "Lvl", "severity", "SEVERITY", "Severity")
_LEVEL_VALUES = {
    "trace": "trace",
    "trc": "trace",
    "debug": "debug",
    "dbg": "debug",
    "info": "info",
    "inf": "info",
    "information": "info",
    "informational": "info",
    "notice": "info",
    "warn": "warn",
    "wrn": "warn",
    "warning": "warn",
    "error": "error",
    "err": "error",
    "eror": "error",
    "critical": "critical",
    "crit": "critical",
    "fatal": "fatal",
    "panic": "fatal",
    "emerg": "fatal",
    "alert": "fatal",
}
_LOGFMT_LEVEL = re.compile(
    r'(?:^|\s)(?:level|LEVEL|Level|lvl|LVL|Lvl|severity|SEVERITY|Severity)="?([^"\s]*)'
)
# Plain-text keywords as whole words, checked in this order (most severe first wins a tie).
_KEYWORDS = [
    ("critical", re.compile(r"\b(?:critical|CRITICAL|Critical|fatal|FATAL|Fatal)\b")),
    ("error", re.compile(r"\b(?:error|ERROR|Error|err|ERR)\b")),
    ("warn", re.compile(r"\b(?:warn|WARN|Warn|warning|WARNING|Warning)\b")),
    ("info", re.compile(r"\b(?:info|INFO|Info)\b")),
    ("debug", re.compile(r"\b(?:debug|DEBUG|Debug)\b")),
    ("trace", re.compile(r"\b(?:trace|TRACE)\b")),
]


def json_object(text: str) -> object:
    """``json.loads(text)``, or None when it is not JSON; orjson first (much faster).

    Whatever orjson refuses (NaN, lone surrogates) goes to ``json``. Strings, objects and
    arrays come out as ``json`` makes them; only integers beyond 64 bits become floats,
    which level detection (strings only) never looks at.
    """
    try:
        return orjson.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(text)
    except ValueError:
        return None


def _normalise_level(value: str) -> str | None:
    return _LEVEL_VALUES.get(value.strip().lower())


def level_from_severity(number: int, text: str) -> str | None:
    """OTLP severity -> Loki's level name (severity number ranges first, then the text)."""
    if 1 <= number <= 4:
        return "trace"
    if 5 <= number <= 8:
        return "debug"
    if 9 <= number <= 12:
        return "info"
    if 13 <= number <= 16:
        return "warn"
    if 17 <= number <= 20:
        return "error"
    if 21 <= number <= 24:
        return "critical"
    return _normalise_level(text) if text else None


def detect_level(line: str, metadata: Mapping[str, str] | None = None) -> str | None:
    """Loki's ingest-time ``detected_level``: a level field, else a JSON/logfmt ``level``, else a keyword.

    None means "unknown"; the caller then stores no ``detected_level`` at all.
    """
    if metadata:
        for key in _LEVEL_KEYS:
            if key in metadata:
                level = _normalise_level(metadata[key])
                if level:
                    return level
    stripped = line.strip()
    if stripped.startswith("{") and stripped.endswith("}"):
        obj = json_object(stripped)
        if isinstance(obj, dict):
            for key in _LEVEL_KEYS:
                value = obj.get(key)
                if isinstance(value, str) and (level := _normalise_level(value)):
                    return level
    elif "=" in line:
        m = _LOGFMT_LEVEL.search(line)
        if m and (level := _normalise_level(m.group(1))):
            return level
    for level, pattern in _KEYWORDS:
        if pattern.search(line):
            return level
    return None
