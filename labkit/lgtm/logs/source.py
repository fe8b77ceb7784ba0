"""The log store as a LogQL :class:`~labkit.lgtm.logs.logql.evaluate.LogSource`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence

import orjson

from labkit.lgtm.db import Database

from .labels import labels_string
from .logql.ast import LineFilter
from .windows import WindowQuery, WindowTotals, sql_literal, window_totals

__all__ = ["MemorySource", "StoreSource"]

_FIRST_CHUNK = 500
_MAX_CHUNK = 200_000


class StoreSource:
    """Reads ``log_entries``; stream matching happens in Python over the (few) distinct streams."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def streams(self, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        rows = self.db.query(
            "SELECT any_value(labels)::VARCHAR FROM log_entries WHERE ts_ns >= ? AND ts_ns <= ? "
            "GROUP BY stream_key",
            [start_ns, end_ns],
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
        if not by_key:
            return
        order = "DESC" if backward else "ASC"
        # Substring filters run inside DuckDB (the evaluator re-checks them; they only save work).
        where, args = "", []
        for f in line_filters:
            if f.op in ("|=", "!="):
                where += " AND contains(line, ?)" if f.op == "|=" else " AND NOT contains(line, ?)"
                args.append(f.value)
        keys = ", ".join(sql_literal(k) for k in by_key)
        # Pages that grow, so that a query with a small limit stops reading early while a
        # metric query over everything needs only a few round trips. Each page continues after
        # the last (ts, seq) seen, and is chosen on (ts, seq, rowid) alone before its lines and
        # metadata are read: sorting whole rows made a 100-line query cost as much as reading
        # every line in range.
        after = " AND (ts_ns {op} ? OR (ts_ns = ? AND seq {op} ?))".format(op="<" if backward else ">")
        chunk = _FIRST_CHUNK
        last: list[int] = []
        metadata_cache: dict[str, dict[str, str]] = {}
        while True:
            rows = self.db.query(
                f"WITH page AS (SELECT rowid AS r FROM log_entries "
                f"WHERE stream_key IN ({keys}) AND ts_ns >= ? AND ts_ns <= ?{where}{after if last else ''} "
                f"ORDER BY ts_ns {order}, seq {order} LIMIT {chunk}) "
                "SELECT ts_ns, seq, stream_key, line, metadata::VARCHAR FROM log_entries "
                f"WHERE rowid IN (SELECT r FROM page) ORDER BY ts_ns {order}, seq {order}",
                [start_ns, end_ns, *args, *last],
            )
            for ts, _, key, line, metadata in rows:
                # Lines of one stream mostly share their metadata text; decode each text once.
                meta = metadata_cache.get(metadata)
                if meta is None:
                    meta = metadata_cache[metadata] = _loads(metadata)
                yield ts, by_key[key], line, meta
            if len(rows) < chunk:
                return
            last = [rows[-1][0], rows[-1][0], rows[-1][1]]
            chunk = min(chunk * 2, _MAX_CHUNK)

    def window_totals(
        self,
        streams: list[dict[str, str]],
        lo_ns: int,
        hi_ns: int,
        line_filters: Sequence[tuple[str, str]],
        steps: Sequence[int],
        range_ns: int,
        offset_ns: int,
        group_by: tuple[str, ...] | None,
        with_bytes: bool,
    ) -> list[WindowTotals]:
        """Line counts / byte sums per series and step, computed in DuckDB (see ``logs.windows``)."""
        by_key = {labels_string(s): s for s in streams}
        query = WindowQuery(
            list(by_key), lo_ns, hi_ns, line_filters, steps, range_ns, offset_ns, group_by, with_bytes
        )
        return window_totals(self.db, query, by_key)


def _loads(text: str) -> dict[str, str]:
    # Metadata is always a flat object of strings, where orjson and json agree.
    try:
        return orjson.loads(text)  # type: ignore[no-any-return]
    except ValueError:
        return json.loads(text)  # type: ignore[no-any-return]


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
