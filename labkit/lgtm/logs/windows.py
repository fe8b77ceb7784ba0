"""Counts and byte sums of log lines per range window, computed by DuckDB instead of line by line.

A metric query such as ``sum by (x) (count_over_time({...} |= "y" [5m]))`` needs, for every
step ``t`` and every series, the number (or byte total) of lines with
``t - offset - range < ts <= t - offset``. Each line belongs to the run of steps
``k_first..k_last``; DuckDB groups the lines by series and by that run, which leaves a few
rows per series and step, and a difference array turns the runs into per-step totals.
Only lines that need no parsing qualify: the query has line filters ``|=`` / ``!=`` only,
and the series labels are the stream labels plus structured metadata.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.lgtm.db import Database

from .labels import labels_string

__all__ = ["WindowQuery", "WindowTotals", "sql_literal", "window_totals"]


@dataclass(frozen=True)
class WindowQuery:
    """What to count: lines of ``stream_keys`` in [lo_ns, hi_ns] passing ``line_filters``."""

    stream_keys: Sequence[str]
    lo_ns: int
    hi_ns: int
    line_filters: Sequence[tuple[str, str]]  # (op, needle), op in "|=", "!="
    steps: Sequence[int]  # evenly spaced evaluation times (ns)
    range_ns: int
    offset_ns: int
    group_by: tuple[str, ...] | None  # labels kept (None: every label)
    with_bytes: bool


@dataclass
class WindowTotals:
    """One series: its labels, and per step the number of lines and their byte total."""

    labels: dict[str, str]
    counts: np.ndarray  # int64 per step
    sums: np.ndarray  # int64 per step (zeros unless bytes were asked for)


def sql_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _metadata_names(db: Database, stream_keys: Sequence[str]) -> set[str]:
    rows = db.query(
        "SELECT DISTINCT name FROM log_meta_keys WHERE stream_key IN (SELECT unnest(?::VARCHAR[]))",
        [list(stream_keys)],
    )
    return {r[0] for r in rows}


def window_totals(
    db: Database, q: WindowQuery, streams: Mapping[str, Mapping[str, str]]
) -> list[WindowTotals]:
    """Per-series, per-step line counts (and byte sums) of ``q``; ``streams`` maps key -> labels.

    Series are keyed like the evaluator's: the labels of a line are its stream labels
    overridden by its structured metadata, restricted to ``group_by`` when given.
    """
    if not q.stream_keys or not q.steps:
        return []
    n_steps = len(q.steps)
    t0 = q.steps[0]
    # Step width; a lone step takes the range as width so that its lines share one run.
    step = q.steps[1] - q.steps[0] if n_steps > 1 else max(q.range_ns, 1)
    # Shift the origin back so every numerator below is positive (integer division is exact).
    margin = q.range_ns // step + 2
    base = t0 - margin * step
    meta_names = _metadata_names(db, q.stream_keys)
    group_sql: list[str] = []
    params: list[Any] = []
    if q.group_by is None:
        group_sql.append("metadata::VARCHAR" if meta_names else "'{}'")
        from_meta: list[str] = []
    else:
        from_meta = [name for name in q.group_by if name in meta_names]
        for name in from_meta:
            # Label names are identifiers (the parser's grammar), so the path needs no escaping.
            group_sql.append(f"json_extract_string(metadata, {sql_literal(f'$.{json.dumps(name)}')})")
    # A line at ts is in the window of step k iff ts + offset <= t_k < ts + offset + range.
    first = f"((ts_ns - {base}) + {q.offset_ns} + {step - 1}) // {step} - {margin}"
    last = f"((ts_ns - {base}) + {q.offset_ns + q.range_ns} + {step - 1}) // {step} - 1 - {margin}"
    where = [
        f"stream_key IN ({', '.join(sql_literal(k) for k in q.stream_keys)})",
        f"ts_ns >= {int(q.lo_ns)}",
        f"ts_ns <= {int(q.hi_ns)}",
    ]
    for op, needle in q.line_filters:
        where.append(("" if op == "|=" else "NOT ") + "contains(line, ?)")
        params.append(needle)
    columns = ["stream_key", *group_sql, f"{first} AS k_first", f"{last} AS k_last", "count(*)"]
    columns.append("sum(strlen(line))" if q.with_bytes else "0")
    sql = f"SELECT {', '.join(columns)} FROM log_entries WHERE {' AND '.join(where)} GROUP BY ALL"
    rows = db.query(sql, params)

    series: dict[str, int] = {}
    labels_of: list[dict[str, str]] = []
    gids: list[int] = []
    key_cache: dict[tuple[Any, ...], int] = {}
    n_group = len(group_sql)
    for row in rows:
        ident = row[: 1 + n_group]
        gid = key_cache.get(ident)
        if gid is None:
            stream = streams[row[0]]
            if q.group_by is None:
                labels = {**stream, **json.loads(row[1])}
            else:
                extracted = dict(zip(from_meta, row[1 : 1 + n_group], strict=True))
                labels = {}
                for name in q.group_by:
                    value = extracted.get(name)
                    if value is None:
                        value = stream.get(name)
                    if value is not None:
                        labels[name] = value
            key = labels_string(labels)
            gid = series.get(key)
            if gid is None:
                gid = series[key] = len(labels_of)
                labels_of.append(labels)
            key_cache[ident] = gid
        gids.append(gid)
    if not gids:
        return []
    table = np.array([row[1 + n_group :] for row in rows], dtype=np.int64).reshape(len(rows), 4)
    g = np.asarray(gids, dtype=np.int64)
    k_first = np.maximum(table[:, 0], 0)
    k_last = np.minimum(table[:, 1], n_steps - 1)
    keep = k_first <= k_last
    g, k_first, k_last, counts, sums = g[keep], k_first[keep], k_last[keep], table[keep, 2], table[keep, 3]
    # Difference arrays: +n at the first step of a run, -n after its last; a cumulative sum
    # along the steps gives each step's total.
    diff_counts = np.zeros((len(labels_of), n_steps + 1), dtype=np.int64)
    diff_sums = np.zeros_like(diff_counts)
    np.add.at(diff_counts, (g, k_first), counts)
    np.add.at(diff_counts, (g, k_last + 1), -counts)
    np.add.at(diff_sums, (g, k_first), sums)
    np.add.at(diff_sums, (g, k_last + 1), -sums)
    total_counts = np.cumsum(diff_counts[:, :n_steps], axis=1)
    total_sums = np.cumsum(diff_sums[:, :n_steps], axis=1)
    return [WindowTotals(labels, total_counts[i], total_sums[i]) for i, labels in enumerate(labels_of)]
