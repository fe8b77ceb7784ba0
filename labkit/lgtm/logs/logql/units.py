"""Prometheus-style durations and humanised byte sizes as LogQL accepts them."""

from __future__ import annotations

import functools
import re
from fractions import Fraction

__all__ = ["duration_seconds", "format_duration", "parse_bytes", "parse_duration", "parse_go_duration"]

_PROM_UNITS = {
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
    "d": 86400 * 10**9,
    "w": 7 * 86400 * 10**9,
    "y": 365 * 86400 * 10**9,
}
_GO_UNITS = {
    "ns": 1,
    "us": 10**3,
    "µs": 10**3,
    "μs": 10**3,
    "ms": 10**6,
    "s": 10**9,
    "m": 60 * 10**9,
    "h": 3600 * 10**9,
}
_GO_WHOLE = re.compile(r"(\d+)(ns|us|µs|μs|ms|s|m|h)")
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_PROM_PART = re.compile(r"(\d+)(ms|s|m|h|d|w|y)")
_BYTES = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmgtpe]?i?b?)$", re.IGNORECASE)
_BYTE_MULT = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "p": 1000**5,
    "pb": 1000**5,
    "e": 1000**6,
    "eb": 1000**6,
    "ki": 1024,
    "kib": 1024,
    "mi": 1024**2,
    "mib": 1024**2,
    "gi": 1024**3,
    "gib": 1024**3,
    "ti": 1024**4,
    "tib": 1024**4,
    "pi": 1024**5,
    "pib": 1024**5,
    "ei": 1024**6,
    "eib": 1024**6,
}


# Unwrap and label filters parse the same few thousand values on every line: cached.
@functools.lru_cache(maxsize=8192)
def parse_go_duration(text: str) -> int | None:
    """Go ``time.ParseDuration`` (``1.5s``, ``300ms``, ``1h2m``) -> nanoseconds, or None."""
    whole = _GO_WHOLE.fullmatch(text)
    if whole is not None:  # "523ms": one integer part, exact without Fraction
        return int(whole.group(1)) * _GO_UNITS[whole.group(2)]
    s = text.strip()
    sign = 1
    if s[:1] in "+-" and s:
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        return None
    # Exact decimal arithmetic, as Go's parser: "1.66s" is exactly 1660000000 ns.
    pos, total = 0, Fraction(0)
    while pos < len(s):
        m = _GO_PART.match(s, pos)
        if not m:
            return None
        total += Fraction(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    return sign * int(total)


def parse_duration(text: str) -> int | None:
    """A range/offset duration: Prometheus units (``5m``, ``1d``) or Go's (``1.5s``) -> ns, or None."""
    pos, total = 0, 0
    while pos < len(text):
        m = _PROM_PART.match(text, pos)
        if not m:
            break
        total += int(m.group(1)) * _PROM_UNITS[m.group(2)]
        pos = m.end()
    if pos == len(text) and text:
        return total
    return parse_go_duration(text)


def duration_seconds(ns: int) -> float:
    """Go's ``Duration.Seconds()``: whole seconds plus the remainder / 1e9 (not ns / 1e9)."""
    sec, rem = divmod(abs(ns), 10**9)
    value = float(sec) + float(rem) / 1e9
    return -value if ns < 0 else value


def format_duration(ns: int) -> str:
    """Nanoseconds -> the shortest Prometheus duration that parses back to the same value."""
    if ns == 0:
        return "0s"
    if ns % 10**6:
        return format_go_duration(ns)
    ms = ns // 10**6
    out = []
    for unit, size in (
        ("y", 365 * 86400000),
        ("w", 7 * 86400000),
        ("d", 86400000),
        ("h", 3600000),
        ("m", 60000),
        ("s", 1000),
        ("ms", 1),
    ):
        if ms >= size:
            out.append(f"{ms // size}{unit}")
            ms %= size
    return "".join(out)


def format_go_duration(ns: int) -> str:
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    out = sign
    if h:
        out += f"{h}h"
    if m:
        out += f"{m}m"
    if rem:
        sec = f"{rem / 10**9:.9f}".rstrip("0").rstrip(".")
        out += f"{sec}s"
    return out or "0s"


def parse_bytes(text: str) -> float | None:
    """Humanised sizes (``10KB``, ``1.5MiB``, ``20b``) -> bytes, or None when it is not a size."""
    m = _BYTES.match(text.strip())
    if not m:
        return None
    mult = _BYTE_MULT.get(m.group(2).lower())
    if mult is None:
        return None
    return float(m.group(1)) * mult
