"""Time arguments as learners write them: datetimes, unix numbers, RFC 3339, ``now-15m``.

Every query API wants a different unit (Prometheus seconds, Loki nanoseconds, Tempo
seconds), so clients convert at the edge and callers never think about it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

import pandas as pd

__all__ = ["TimeLike", "parse_duration", "to_ns", "to_seconds", "to_timestamp"]

TimeLike: TypeAlias = datetime | pd.Timestamp | float | int | str | None

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "µs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 7 * 86_400_000_000_000,
}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d|w)")
_RELATIVE = re.compile(r"^now\s*(?:([+-])\s*(.+))?$")


def parse_duration(value: str | float | int | timedelta) -> timedelta:
    """``"5m"``, ``"1h30m"``, ``"250ms"``, seconds as a number, or a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"duration must be >= 0, got {value}")
        return timedelta(seconds=float(value))
    text = str(value).strip()
    pos, total = 0, 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS_NS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"cannot read duration {value!r}; write it like '30s', '5m', '1h30m' or '250ms'")
    return timedelta(microseconds=total / 1_000)


def to_timestamp(value: TimeLike, now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Any accepted time form as a UTC ``pd.Timestamp``; ``None`` means now."""
    now = now if now is not None else pd.Timestamp.now(tz="UTC")
    if value is None:
        return now
    if isinstance(value, (pd.Timestamp, datetime)):
        ts = pd.Timestamp(value)
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    if isinstance(value, bool):
        raise TypeError(f"a time cannot be a bool, got {value!r}")
    if isinstance(value, (int, float)):
        # Guess the unit from the magnitude: a unix time in s, ms, us or ns.
        magnitude = abs(value)
        unit = "s" if magnitude < 1e11 else "ms" if magnitude < 1e14 else "us" if magnitude < 1e17 else "ns"
        return pd.Timestamp(int(value) if unit == "ns" else value, unit=unit, tz="UTC")
    if isinstance(value, str):
        text = value.strip()
        relative = _RELATIVE.match(text)
        if relative:
            sign, amount = relative.groups()
            if not sign:
                return now
            delta = pd.Timedelta(parse_duration(amount.strip()))
            return now - delta if sign == "-" else now + delta
        if re.fullmatch(r"\d+(\.\d+)?", text):
            return to_timestamp(float(text) if "." in text else int(text), now)
        try:
            ts = pd.Timestamp(text)
        except ValueError as exc:
            raise ValueError(
                f"cannot read time {value!r}; use a datetime, unix seconds, RFC 3339 or 'now-15m'"
            ) from exc
        return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    raise TypeError(f"cannot use {type(value).__name__} as a time: {value!r}")


def to_seconds(value: TimeLike, now: pd.Timestamp | None = None) -> float:
    return to_timestamp(value, now).value / 1e9


def to_ns(value: TimeLike, now: pd.Timestamp | None = None) -> int:
    return int(to_timestamp(value, now).value)


def utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz=UTC)


def step_seconds(value: Any) -> float:
    seconds = parse_duration(value).total_seconds()
    if seconds <= 0:
        raise ValueError(f"step must be > 0, got {value!r}")
    return seconds
