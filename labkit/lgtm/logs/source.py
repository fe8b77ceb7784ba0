"""The log store as a LogQL :class:`~labkit.lgtm.logs.logql.evaluate.LogSource`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence

import orjson

from labkit.lgtm.db import Database

from .labels import labels_string
from .logql.ast import LineFilter
from .logql.evaluate import FieldFilter
from .logql.plainlogfmt import _QUOTED, _TOKEN, _UNQUOTED
from .windows import WindowQuery, WindowTotals, sql_literal, window_totals

__all__ = ["MemorySource", "StoreSource"]

_FIRST_CHUNK = 500
_MAX_CHUNK = 200_000
_ALL_CHUNK = 50_000


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
        read_all: bool = False,
        field_filter: FieldFilter | None = None,
    ) -> Iterator[tuple[int, dict[str, str], str, dict[str, str]]]:
        by_key = {labels_string(s): s for s in streams}
        if not by_key:
            return
        order = "DESC" if backward else "ASC"
        # Substring filters run inside DuckDB (the evaluator re-checks them; they only save work).
        where, args = "", list[object]()
        for f in line_filters:
            if f.op in ("|=", "!="):
                where += " AND contains(line, ?)" if f.op == "|=" else " AND NOT contains(line, ?)"
                args.append(f.value)
            elif f.op in ("|~", "!~") and _same_in_re2(f.value):
                where += " AND " if f.op == "|~" else " AND NOT "
                where += "regexp_matches(line, ?)"
                args.append(f.value)
        keys = ", ".join(sql_literal(k) for k in by_key)
        # The field filter reads the field's text once, in a subquery, and only on plain lines:
        # written twice in one WHERE, DuckDB ran the (costly, capturing) extraction twice per line.
        select, keep, field_args = "rowid AS r", "", list[object]()
        if field_filter is not None and not self._field_elsewhere(field_filter.name, list(by_key), streams):
            select += ", ts_ns, seq, CASE WHEN regexp_full_match(line, ?) THEN regexp_extract(line, ?, 1) END"
            select += " AS field"
            keep = _FIELD_KEEP.format(op=_SQL_NOT_OPS[field_filter.op])
            field_args = [_PLAIN_LINE, _first_field(field_filter.name), field_filter.bound]
        after = " AND (ts_ns {op} ? OR (ts_ns = ? AND seq {op} ?))".format(op="<" if backward else ">")
        # Pages that grow, so that a query with a small limit stops reading early while a metric
        # query over everything needs only a few round trips. Each page continues after the last
        # (ts, seq) seen and is chosen on (ts, seq, rowid) alone before its lines and metadata
        # are read. After the first page, a page also stops at a time bound (``far``) sized from
        # the density of lines seen so far, so DuckDB skips the row groups beyond it instead of
        # ranking every remaining line again.
        chunk = _ALL_CHUNK if read_all else _FIRST_CHUNK
        last: list[int] = []
        far: int | None = None  # backward: the lowest ts of this page's window; forward: the highest
        edge = start_ns if backward else end_ns
        width = 0
        if not read_all and not where and not keep:
            # Size the first window from the number of lines in range (cheap: no line text is
            # read), so that even the first page ranks only the lines near its end of the range.
            # Not with line filters: how many lines pass them is unknown until they are read.
            ((count,),) = self.db.query(
                f"SELECT count(*) FROM log_entries WHERE stream_key IN ({keys}) "
                "AND ts_ns >= ? AND ts_ns <= ?",
                [start_ns, end_ns],
            )
            if not count:
                return
            if count > 2 * chunk:
                width = max(1, (end_ns - start_ns + 1) * 2 * chunk // count)
                far = max(end_ns - width, start_ns) if backward else min(start_ns + width, end_ns)
        metadata_cache: dict[str, dict[str, str]] = {}
        while True:
            lo, hi = start_ns, end_ns
            if far is not None:
                lo, hi = (far, end_ns) if backward else (start_ns, far)
            # Fetched as Arrow columns and converted a column at a time: the same Python values
            # as fetchall(), in about half the time of building one tuple per row.
            chosen = (
                f"SELECT {select} FROM log_entries "
                f"WHERE stream_key IN ({keys}) AND ts_ns >= ? AND ts_ns <= ?{where}{after if last else ''}"
            )
            params: list[object] = [lo, hi, *args, *last]
            if keep:
                chosen = f"SELECT r FROM ({chosen}) WHERE {keep}"
                params = [*field_args[:2], *params, field_args[2]]
            page = self.db.query_arrow(
                f"WITH page AS ({chosen} ORDER BY ts_ns {order}, seq {order} LIMIT {chunk}) "
                "SELECT ts_ns, seq, stream_key, line, metadata::VARCHAR FROM log_entries "
                f"WHERE rowid IN (SELECT r FROM page) ORDER BY ts_ns {order}, seq {order}",
                params,
            )
            times = page.column(0).to_pylist()
            n = len(times)
            for ts, key, line, metadata in zip(
                times,
                page.column(2).to_pylist(),
                page.column(3).to_pylist(),
                page.column(4).to_pylist(),
                strict=True,
            ):
                # Lines of one stream mostly share their metadata text; decode each text once.
                meta = metadata_cache.get(metadata)
                if meta is None:
                    meta = metadata_cache[metadata] = _loads(metadata)
                yield ts, by_key[key], line, meta
            full = n >= chunk
            if not full and (far is None or far == edge):
                return  # everything up to the edge of the range has been read
            chunk = min(chunk * 2, _MAX_CHUNK)
            if n:
                last_seq = page.column(1)[n - 1].as_py()
                last = [times[-1], times[-1], last_seq]
                seen = abs(times[-1] - times[0]) + 1
                width = max(1, seen * chunk // n)  # the time that should hold ``chunk`` lines
            else:
                assert far is not None  # (a first page without a window would have returned)
                # An empty window: jump to the nearest line beyond it (one cheap aggregate, no
                # line text read) instead of widening the window step by step, which ranked
                # ever more lines and, when all lines lay far from this end, read a huge page.
                ((nearest,),) = self.db.query(
                    f"SELECT {'max' if backward else 'min'}(ts_ns) FROM log_entries "
                    f"WHERE stream_key IN ({keys}) AND ts_ns {'<' if backward else '>'} ? "
                    f"AND ts_ns {'>=' if backward else '<='} ?",
                    [far, start_ns if backward else end_ns],
                )
                if nearest is None:
                    return  # no line left in the range
                far = nearest
            # A full page stops at its last line; otherwise every line up to ``far`` has been read.
            pos = times[-1] if full else far
            assert pos is not None
            step = max(pos - width, start_ns) if backward else min(pos + width, end_ns)
            # The window only ever widens, so no line is skipped.
            far = step if far is None else min(far, step) if backward else max(far, step)

    def _field_elsewhere(self, name: str, keys: list[str], streams: list[dict[str, str]]) -> bool:
        """Whether some stream has ``name`` as a label or metadata (the parsed field is renamed)."""
        if any(name in s for s in streams):
            return True
        rows = self.db.query(
            "SELECT 1 FROM log_meta_keys WHERE name = ? "
            "AND stream_key IN (SELECT unnest(?::VARCHAR[])) LIMIT 1",
            [name, keys],
        )
        return bool(rows)

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


# Regex line filters run in DuckDB (RE2) too when the pattern means the same there as in
# Python's re, which the evaluator uses: no escapes (\\d, \\w, \\b are Unicode-aware in
# Python, ASCII in RE2), no groups with flags or lookarounds, counted repeats, ``$`` (Python
# also matches before a final newline) or POSIX classes (unsupported or different in one).
_RE2_UNSAFE = re.compile(r"\\|\(\?|\{|\$|\[:")


def _same_in_re2(pattern: str) -> bool:
    if _RE2_UNSAFE.search(pattern) or not pattern.isascii():
        return False
    try:
        re.compile(pattern)
    except re.error:
        return False
    return True


# ``| logfmt | name op number`` in SQL, as a filter that only ever drops what the evaluator
# drops: a plain logfmt line whose first ``name`` field is 1-15 digits (so float() and CAST
# agree exactly) failing the comparison. The patterns are plainlogfmt's, which RE2 reads alike.
# ``field`` is NULL on a line that is not plain (kept).
_PLAIN_LINE = f"{_TOKEN}(?: {_TOKEN})*"
_FIELD_KEEP = (
    "NOT coalesce(regexp_full_match(field, '[0-9]{{1,15}}') AND TRY_CAST(field AS DOUBLE) {op} ?, false)"
)
# The comparison that makes the filter fail (it drops the line): the negated operator.
_SQL_NOT_OPS = {"==": "<>", "!=": "=", ">": "<=", ">=": "<", "<": ">=", "<=": ">"}


def _first_field(name: str) -> str:
    """The first ``name`` field of a *plain* line, found unanchored (cheaper than walking tokens).

    On a plain line a match starts at a token, or at a space inside a quoted value; quoted
    values hold no ``=``, so a match inside one is a bare ``name`` with no value (group 1
    unset, the line is kept). A match at a token is the first real ``name`` token, bare or
    with its value. So whenever group 1 holds digits they are that field's value.
    """
    return f"(?:^| ){re.escape(name)}(?:=({_QUOTED}|{_UNQUOTED}))?(?: |$)"


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
        read_all: bool = False,
        field_filter: FieldFilter | None = None,
    ) -> Iterator[tuple[int, Mapping[str, str], str, Mapping[str, str]]]:
        keys = {labels_string(s) for s in streams}
        chosen = [e for e in self._entries if start_ns <= e[0] <= end_ns and labels_string(e[1]) in keys]
        yield from (reversed(chosen) if backward else chosen)
