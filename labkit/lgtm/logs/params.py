"""Loki HTTP query parameters: timestamps (ns, s, float s, RFC3339), limit, direction, step."""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass

from .logql.units import parse_duration

__all__ = ["ParamError", "RangeParams", "parse_range_params", "parse_step", "parse_timestamp"]

DEFAULT_SINCE_NS = 3600 * 10**9
MAX_ENTRIES_LIMIT = 5000


class ParamError(ValueError):
    """A bad query parameter; answered 400 text/plain with this message."""


def parse_timestamp(value: str | None, default_ns: int, name: str) -> int:
    """Loki's rules: a float is seconds; an integer of <= 10 digits is seconds, else nanoseconds."""
    if value is None or value == "":
        return default_ns
    if "." in value:
        try:
            f = float(value)
        except ValueError:
            f = math.nan
        if math.isfinite(f):
            return round(f * 1e9)
    try:
        n = int(value)
    except ValueError:
        try:
            parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ParamError(f'invalid {name} parameter: cannot parse "{value}" as a timestamp') from None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=dt.UTC)
        delta = parsed - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        return (delta.days * 86400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    return n * 10**9 if len(value.lstrip("-")) <= 10 else n


def parse_step(value: str | None, start_ns: int, end_ns: int) -> int:
    """``step`` as seconds (``60``, ``0.5``) or a duration (``1m``); default like Loki's."""
    if value is None or value == "":
        return max(1, math.floor((end_ns - start_ns) / 1e9 / 250)) * 10**9
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if math.isfinite(seconds):
        return round(seconds * 1e9)
    ns = parse_duration(value)
    if ns is None:
        raise ParamError(f'invalid step parameter: cannot parse "{value}" to a valid duration')
    return ns


@dataclass(frozen=True)
class RangeParams:
    query: str
    start_ns: int
    end_ns: int
    limit: int
    backward: bool
    step: str | None


def parse_range_params(params: Mapping[str, str], now_ns: int | None = None) -> RangeParams:
    now = time.time_ns() if now_ns is None else now_ns
    end = parse_timestamp(params.get("end"), now, "end")
    start = parse_timestamp(params.get("start"), end - DEFAULT_SINCE_NS, "start")
    if params.get("since"):
        since = parse_duration(params["since"])
        if since is None:
            raise ParamError(f'invalid since parameter: cannot parse "{params["since"]}" to a valid duration')
        start = end - since if not params.get("start") else start
    if end < start:
        raise ParamError("end timestamp must not be before or equal to start time")
    limit_text = params.get("limit") or "100"
    try:
        limit = int(limit_text)
    except ValueError:
        raise ParamError(f'invalid limit parameter: cannot parse "{limit_text}" as an integer') from None
    if limit <= 0:
        raise ParamError("limit must be a positive value")
    if limit > MAX_ENTRIES_LIMIT:
        raise ParamError(
            f"max entries limit per query exceeded, limit > max_entries_limit_per_query "
            f"({limit} > {MAX_ENTRIES_LIMIT})"
        )
    direction = (params.get("direction") or "backward").lower()
    if direction not in ("backward", "forward"):
        raise ParamError(f'invalid direction parameter: "{params.get("direction")}", use forward or backward')
    return RangeParams(
        params.get("query", ""), start, end, limit, direction == "backward", params.get("step")
    )
