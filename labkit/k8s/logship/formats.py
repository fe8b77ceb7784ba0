"""Decode one line of a kubelet container log file, in either format kubelet leaves there.

- Docker's json-file driver (dockershim, this cluster): ``{"log":"text\\n","stream":"stdout",
  "time":"2026-12-03T14:35:13.123456789Z"}``. Docker splits lines longer than 16 KiB into
  several records; only the last one's ``log`` ends with ``\\n``.
- CRI (containerd, CRI-O): ``<RFC3339Nano time> <stdout|stderr> <P|F> <text>``; ``P`` marks a
  partial line, ``F`` the last piece (tags are ``:``-separated, the first one is P/F).

Pure functions: the tailer owns offsets and joins partial pieces.
"""

from __future__ import annotations

import calendar
import json
import re
from dataclasses import dataclass

__all__ = ["Malformed", "Record", "parse_line", "parse_time"]

_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$")
_STREAMS = ("stdout", "stderr")


class Malformed(ValueError):
    """The line is in neither format; the message says what is wrong with it."""


@dataclass(frozen=True, slots=True)
class Record:
    """One physical line of a log file: a whole log line, or a piece of one (``partial``)."""

    ts_ns: int
    stream: str
    text: str  # without the line's own newline
    partial: bool


def parse_time(text: str) -> int:
    """RFC 3339 (nanosecond precision, ``Z`` or an offset) to Unix nanoseconds."""
    m = _TIME.match(text)
    if m is None:
        raise Malformed(f"bad timestamp {text[:40]!r}")
    year, month, day, hour, minute, second = (int(g) for g in m.groups()[:6])
    if not (1 <= month <= 12 and 1 <= day <= 31 and hour < 24 and minute < 60 and second < 61):
        raise Malformed(f"bad timestamp {text[:40]!r}")
    seconds = calendar.timegm((year, month, day, hour, minute, second, 0, 0, 0))
    zone = m.group(8)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        seconds -= sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    fraction = (m.group(7) or "").ljust(9, "0")
    return seconds * 1_000_000_000 + int(fraction or 0)


def _docker(text: str) -> Record:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise Malformed(f"not JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Malformed("a JSON value that is not an object")
    log, stream, ts = doc.get("log"), doc.get("stream"), doc.get("time")
    if not isinstance(log, str) or not isinstance(ts, str):
        raise Malformed('a docker json-file record needs string "log" and "time" fields')
    if stream not in _STREAMS:
        raise Malformed(f"unknown stream {stream!r}")
    complete = log.endswith("\n")
    return Record(parse_time(ts), stream, log[:-1] if complete else log, not complete)


def _cri(text: str) -> Record:
    parts = text.split(" ", 3)
    if len(parts) < 3:
        raise Malformed("a CRI line needs '<time> <stream> <tag> <text>'")
    ts, stream, tags = parts[0], parts[1], parts[2]
    if stream not in _STREAMS:
        raise Malformed(f"unknown stream {stream[:20]!r}")
    tag = tags.split(":", 1)[0]
    if tag not in ("P", "F"):
        raise Malformed(f"unknown CRI tag {tags[:20]!r} (P or F)")
    return Record(parse_time(ts), stream, parts[3] if len(parts) == 4 else "", tag == "P")


def parse_line(raw: bytes) -> Record:
    """Decode one line (without its ``\\n``); raise :class:`Malformed` saying why not."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Malformed(f"not UTF-8: {exc}") from None
    if text.endswith("\r"):
        text = text[:-1]
    if text.startswith("{"):
        return _docker(text)
    return _cri(text)
