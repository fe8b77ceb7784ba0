"""The log store as a LogQL :class:`~labkit.lgtm.logs.logql.evaluate.LogSource`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping

from labkit.lgtm.db import Database

from .labels import labels_string
from .logql.ast import LineFilter

__all__ = ["MemorySource", "StoreSource"]

_FIRST_CHUNK = 500
_MAX_CHUNK = 200_000


class StoreSource:
    """Reads ``log_entries``; stream matching happens in Python over the (few) distinct streams."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def streams(self, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        rows = self.db.query(
            "SELECT DISTINCT labels FROM log_entries WHERE ts_ns >= ? AND ts_ns <= ?", [start_ns, end_ns]
        )
        return [json.loads(r[0]) for r in rows]

    def entries(
        self,
        streams: list[dict[str, str]],
        start_ns: int,
        end_ns: int,
        backward: bool = False,
        line_filters: tuple[LineFilter, ...] = (),
    ) -> Iterator[tuple[int, dict[str, str], str, dict[str, str]]]:
        by_key = {labels_string(s): s for s in streams}
        order = "DESC" if backward else "ASC"
        # Substring filters run inside DuckDB (the evaluator re-checks them; they only save work).
        where, args = "", []
        for f in line_filters:
            if f.op in ("|=", "!="):
                where += " AND contains(line, ?)" if f.op == "|=" else " AND NOT contains(line, ?)"
                args.append(f.value)
        # Pages that grow, so that a query with a small limit stops reading early while a
        # metric query over everything needs only a few round trips.
        offset, chunk = 0, _FIRST_CHUNK
        metadata_cache: dict[str, dict[str, str]] = {}
        while True:
            rows = self.db.query(
                "SELECT ts_ns, stream_key, line, metadata::VARCHAR FROM log_entries "
                f"WHERE stream_key IN (SELECT unnest(?::VARCHAR[])) AND ts_ns >= ? AND ts_ns <= ?{where} "
                f"ORDER BY ts_ns {order}, seq {order} LIMIT {chunk} OFFSET {offset}",
                [list(by_key), start_ns, end_ns, *args],
            )
            for ts, key, line, metadata in rows:
                # Lines of one stream mostly share their metadata text; decode each text once.
                meta = metadata_cache.get(metadata)
                if meta is None:
                    meta = metadata_cache[metadata] = json.loads(metadata)
                yield ts, by_key[key], line, meta
            if len(rows) < chunk:
                return
            offset += chunk
            chunk = min(chunk * 8, _MAX_CHUNK)


class MemorySource:
    """Entries held in a list: the evaluator's test double (and handy in notebooks)."""

    def __init__(self, entries: list[tuple[int, Mapping[str, str], str, Mapping[str, str]]]) -> None:
        self._entries = sorted(entries, key=lambda e: e[0])

    def streams(self, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        seen: dict[str, dict[str, str]] = {}
        for ts, labels, _, _ in self._entries:
            if start_ns <= ts <= end_ns:
                seen.setdefault(labels_string(labels), dict(labels))
        return list(seen.values())

    def entries(
        self,
        streams: list[dict[str, str]],
        start_ns: int,
        end_ns: int,
        backward: bool = False,
        line_filters: tuple[LineFilter, ...] = (),
    ) -> Iterator[tuple[int, Mapping[str, str], str, Mapping[str, str]]]:
        keys = {labels_string(s) for s in streams}
        chosen = [e for e in self._entries if start_ns <= e[0] <= end_ns and labels_string(e[1]) in keys]
        yield from (reversed(chosen) if backward else chosen)
