"""Evaluate LogQL ASTs against a :class:`LogSource`: log selection and metric queries.

Semantics follow Loki: a range window is ``(t - range, t]``; every distinct label set
after the pipeline (stream labels + structured metadata + parsed labels) is its own
series or stream; results are sorted by the label string; a metric query whose
series still carry ``__error__`` fails, as Loki's does.
"""

from __future__ import annotations

import heapq
import itertools
import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from ..labels import labels_string
from . import ast
from .errors import QueryError
from .pipeline import ERROR, LabelSet, compile_label_expr, compile_pipeline, unwrap_value
from .plainlogfmt import PlainLogfmt, label_expr_names, plain_label_name, top_level_json_values

__all__ = [
    "FieldFilter",
    "LogEntry",
    "LogSource",
    "Sample",
    "Scalar",
    "Series",
    "WindowTotals",
    "evaluate_instant",
    "evaluate_range",
    "match_streams",
    "select_logs",
]

# (ts_ns, stream labels, line, structured metadata)
RawEntry = tuple[int, Mapping[str, str], str, Mapping[str, str]]


class LogSource(Protocol):
    """The storage seam: the log store and in-memory test data both implement it."""

    def streams(self, start_ns: int, end_ns: int) -> list[dict[str, str]]:
        """Index label sets with at least one entry in [start_ns, end_ns]."""
        ...

    def entries(
        self,
        streams: list[dict[str, str]],
        start_ns: int,
        end_ns: int,
        backward: bool = False,
        line_filters: tuple[ast.LineFilter, ...] = (),
        read_all: bool = False,
        field_filter: FieldFilter | None = None,
    ) -> Iterable[RawEntry]:
        """Entries of ``streams`` with start_ns <= ts <= end_ns, in time order (newest first if backward).

        ``line_filters`` are the query's leading line filters; a source may apply them early
        (the evaluator applies them again), or ignore them. ``read_all`` says every entry will
        be consumed (a metric query), so a paging source may use big pages. ``field_filter``
        (passed only when there is one) is a ``| logfmt | name op number`` filter that follows
        them; a source may leave out lines it surely drops (see :class:`FieldFilter`).
        """
        ...


@dataclass(frozen=True)
class LogEntry:
    ts_ns: int
    line: str
    labels: LabelSet


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float


@dataclass(frozen=True)
class Series:
    labels: dict[str, str]
    points: list[tuple[int, float]]  # (ts_ns, value)


@dataclass(frozen=True)
class Scalar:
    value: float


Vector = dict[str, Sample]  # keyed by labels_string


def _as_dict(labels: Mapping[str, str]) -> dict[str, str]:
    return labels if type(labels) is dict else dict(labels)


def _matcher_fn(m: ast.Matcher) -> Callable[[Mapping[str, str]], bool]:
    if m.op in ("=", "!="):
        equal = m.op == "="
        return lambda labels: (labels.get(m.name, "") == m.value) == equal
    regex = re.compile(m.value)
    positive = m.op == "=~"
    return lambda labels: (regex.fullmatch(labels.get(m.name, "")) is not None) == positive


def match_streams(
    source: LogSource, matchers: tuple[ast.Matcher, ...], start_ns: int, end_ns: int
) -> list[dict[str, str]]:
    fns = [_matcher_fn(m) for m in matchers]
    return [s for s in source.streams(start_ns, end_ns) if all(fn(s) for fn in fns)]


def _leading_line_filters(stages: tuple[ast.Stage, ...]) -> tuple[ast.LineFilter, ...]:
    out = []
    for stage in stages:
        if not isinstance(stage, ast.LineFilter):
            break
        out.append(stage)
    return tuple(out)


# -- log queries -----------------------------------------------------------------------------
def select_logs(
    query: ast.LogSelector, source: LogSource, start_ns: int, end_ns: int, limit: int, backward: bool = True
) -> list[LogEntry]:
    """Entries in [start_ns, end_ns) after the pipeline: the first ``limit`` in ``direction`` order."""
    streams = match_streams(source, query.matchers, start_ns, end_ns - 1)
    pipeline = compile_pipeline(query.stages)
    out: list[LogEntry] = []
    if limit <= 0 or not streams:
        return out
    leading = _leading_line_filters(query.stages)
    quick = _parsed_field_filter(query.stages, len(leading))
    pushed = _field_filter(query.stages, len(leading))
    for ts, stream, line, meta in source.entries(
        streams, start_ns, end_ns - 1, backward, leading, field_filter=pushed
    ):
        if not pipeline.prefilter(ts, line):
            continue
        if quick is not None and quick.rejects(stream, meta, line):
            continue
        # Stages never change the stream or metadata dicts (parsed labels go to their own), so
        # the source's dicts are shared instead of copied for every line.
        labels = LabelSet(_as_dict(stream), _as_dict(meta))
        result = pipeline.process(ts, line, labels, skip_prefilter=True)
        if result is None:
            continue
        out.append(LogEntry(ts, result, labels))
        if len(out) >= limit:
            break
    return out


@dataclass(frozen=True)
class FieldFilter:
    """``| logfmt | name op bound``, right after the leading line filters, ``bound`` a finite number.

    A source may drop a line only when the filter surely drops it: a plain logfmt line
    (see ``logql.plainlogfmt``) whose first ``name`` field is a short run of digits that
    fails the comparison, in a stream that has no ``name`` label or metadata.
    """

    name: str
    op: str
    bound: float


def _field_filter(stages: tuple[ast.Stage, ...], n_leading: int) -> FieldFilter | None:
    if len(stages) < n_leading + 2 or not isinstance(stages[n_leading], ast.LogfmtParser):
        return None
    stage = stages[n_leading + 1]
    if not isinstance(stage, ast.LabelFilterStage) or not isinstance(stage.expr, ast.LabelCompare):
        return None
    expr = stage.expr
    if expr.kind != "number" or not plain_label_name(expr.name) or not math.isfinite(expr.value):
        return None
    return FieldFilter(expr.name, expr.op, float(expr.value))


class _ParsedFieldFilter:
    """``| logfmt | <label filter>`` or ``| json | <label filter>`` checked without the pipeline.

    Only ever rejects: a line it cannot judge (not plain logfmt, JSON with a float where it
    matters, or a filtered name that is a stream or metadata label) goes through the
    pipeline, which also builds the labels of the lines kept.
    """

    def __init__(self, parser: ast.LogfmtParser | ast.JsonParser, expr: ast.LabelExpr) -> None:
        self.names = tuple(sorted(label_expr_names(expr)))
        self.logfmt = PlainLogfmt(self.names) if isinstance(parser, ast.LogfmtParser) else None
        self.predicate = compile_label_expr(expr)

    def rejects(self, stream: Mapping[str, str], meta: Mapping[str, str], line: str) -> bool:
        for name in self.names:
            if name in stream or name in meta:
                return False
        if self.logfmt is not None:
            values = self.logfmt.values(line)
        else:
            values = top_level_json_values(line, self.names)
        # The parser would add exactly these labels under these names (and no error), so the
        # filter sees the same values it would see after the full pipeline.
        return values is not None and not self.predicate(LabelSet({}, {}, values))


def _parsed_field_filter(stages: tuple[ast.Stage, ...], n_leading: int) -> _ParsedFieldFilter | None:
    if len(stages) < n_leading + 2:
        return None
    parser, stage = stages[n_leading], stages[n_leading + 1]
    if not isinstance(stage, ast.LabelFilterStage):
        return None
    names = label_expr_names(stage.expr)
    if not all(plain_label_name(name) for name in names):
        return None
    if isinstance(parser, ast.LogfmtParser):
        return _ParsedFieldFilter(parser, stage.expr)
    if isinstance(parser, ast.JsonParser) and not parser.params and not any("_" in n for n in names):
        return _ParsedFieldFilter(parser, stage.expr)
    return None


# -- range aggregations ------------------------------------------------------------------------
def _sum(values: list[float]) -> float:
    total = 0.0
    for v in values:
        total += v
    return total


def _avg(values: list[float]) -> float:
    mean, count = 0.0, 0.0
    for v in values:
        count += 1
        mean += v / count - mean / count
    return mean


def _stdvar(values: list[float]) -> float:
    count, mean, aux = 0.0, 0.0, 0.0
    for v in values:
        count += 1
        delta = v - mean
        mean += delta / count
        aux += delta * (v - mean)
    return aux / count


def quantile(q: float, values: list[float]) -> float:
    """Prometheus/Loki quantile: linear interpolation between the closest ranks."""
    if not values:
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    ordered = sorted(values)
    n = float(len(ordered))
    rank = q * (n - 1)
    lower = max(0.0, math.floor(rank))
    upper = min(n - 1, lower + 1)
    weight = rank - math.floor(rank)
    return ordered[int(lower)] * (1 - weight) + ordered[int(upper)] * weight


def _range_fn(node: ast.RangeAggregation) -> Callable[[list[float]], float]:
    seconds = node.range.range_ns / 1e9
    op = node.op
    table: dict[str, Callable[[list[float]], float]] = {
        "count_over_time": lambda vs: float(len(vs)),
        "rate": lambda vs: (_sum(vs) if node.range.unwrap else len(vs)) / seconds,
        "bytes_over_time": _sum,
        "bytes_rate": lambda vs: _sum(vs) / seconds,
        "sum_over_time": _sum,
        "avg_over_time": _avg,
        "max_over_time": max,
        "min_over_time": min,
        "first_over_time": lambda vs: vs[0],
        "last_over_time": lambda vs: vs[-1],
        "stdvar_over_time": _stdvar,
        "stddev_over_time": lambda vs: math.sqrt(_stdvar(vs)),
        "quantile_over_time": lambda vs: quantile(node.param or 0.0, vs),
    }
    if op not in table:
        raise QueryError(f"unsupported range aggregation {op}")
    return table[op]


def _group_labels(labels: Mapping[str, str], grouping: ast.Grouping | None) -> dict[str, str]:
    if grouping is None:
        return dict(labels)
    if grouping.without:
        drop = set(grouping.labels)
        return {k: v for k, v in labels.items() if k not in drop}
    return {k: labels[k] for k in grouping.labels if k in labels}


def _pipeline_error(labels: Mapping[str, str]) -> QueryError:
    return QueryError(
        f"pipeline error: '{labels[ERROR]}' for series: '{labels_string(labels)}'.\n"
        "Use a label filter to intentionally skip this error. "
        f'(e.g | __error__!="{labels[ERROR]}").\n'
        'To skip all potential errors you can match empty errors.(e.g __error__="")\n'
        "The label filter can also be specified after unwrap. "
        f'(e.g | unwrap latency | __error__="" )\n'
    )


# Range aggregations that only count lines or their bytes: a source may total them itself.
_COUNTING = frozenset({"count_over_time", "rate", "bytes_over_time", "bytes_rate"})


def _evenly_spaced(steps: list[int]) -> bool:
    return len(steps) < 3 or all(b - a == steps[1] - steps[0] for a, b in itertools.pairwise(steps))


class WindowTotals(Protocol):
    """One series of a source's ``window_totals``: labels, and per step a line count and byte sum."""

    labels: dict[str, str]
    counts: Any  # numpy int64 array, one entry per step
    sums: Any


def _totals_to_vectors(
    node: ast.RangeAggregation, totals: Iterable[WindowTotals], steps: list[int]
) -> list[Vector]:
    """Per-step samples from a source's ``window_totals`` (same values as the line-by-line path)."""
    merged: dict[str, tuple[dict[str, str], Any, Any]] = {}
    for t in totals:
        flat = _group_labels(t.labels, node.grouping)
        key = labels_string(flat)
        seen = merged.get(key)
        if seen is None:
            merged[key] = (flat, t.counts, t.sums)
        else:  # label sets that only differed in dropped labels: totals of integers add exactly
            merged[key] = (seen[0], seen[1] + t.counts, seen[2] + t.sums)
    seconds = node.range.range_ns / 1e9
    out: list[Vector] = [{} for _ in steps]
    for key, (flat, counts, sums) in merged.items():
        count_list = counts.tolist()
        sum_list = sums.tolist()
        for si, n in enumerate(count_list):
            if not n:
                continue  # a step whose window holds no line has no sample
            if node.op == "count_over_time":
                value = float(n)
            elif node.op == "rate":
                value = n / seconds
            elif node.op == "bytes_over_time":
                value = float(sum_list[si])
            else:
                value = sum_list[si] / seconds
            out[si][key] = Sample(flat, value)
    return out


Extracted = tuple[dict[str, str], float] | None
SeriesEntry = tuple[dict[str, str], list[int], list[float]]
# Stages whose outcome depends on the line, its stream labels and metadata only (line_format
# can print the timestamp).
_TIMELESS_STAGES = (
    ast.LineFilter,
    ast.JsonParser,
    ast.LogfmtParser,
    ast.PatternParser,
    ast.RegexpParser,
    ast.LabelFilterStage,
    ast.KeepStage,
    ast.DropStage,
)


def _memoizable(stages: tuple[ast.Stage, ...]) -> bool:
    return all(isinstance(stage, _TIMELESS_STAGES) for stage in stages)


class _LineMemo:
    """What each distinct (line, stream, metadata) added to the series, within one query.

    Keyed by the line and the identity of the source's stream and metadata objects (a source
    shares them between the lines of a stream); the objects are kept in the entry and checked,
    so an id reused after garbage collection never matches. When few lines repeat, ``put``
    says so and the caller stops using the memo; it also stops growing at ``_MAX`` entries.
    """

    _MAX = 200_000
    _CHECK = 4096  # entries after which the hit rate is first judged

    def __init__(self) -> None:
        self._seen: dict[tuple[str, int, int], tuple[object, object, SeriesEntry | None, float]] = {}
        self._hits = 0
        self._check = self._CHECK

    def get(
        self, line: str, stream: Mapping[str, str], meta: Mapping[str, str]
    ) -> tuple[SeriesEntry | None, float] | None:
        hit = self._seen.get((line, id(stream), id(meta)))
        if hit is None or hit[0] is not stream or hit[1] is not meta:
            return None
        self._hits += 1
        return hit[2], hit[3]

    def put(
        self,
        line: str,
        stream: Mapping[str, str],
        meta: Mapping[str, str],
        entry: SeriesEntry | None,
        value: float,
    ) -> bool:
        """Remember a line's outcome; False when the memo is not worth keeping."""
        size = len(self._seen)
        if size >= self._check:
            # A hit saves a pipeline run (microseconds), a miss costs a dict insert (a tenth of
            # that): worth keeping down to about one hit per eight distinct lines.
            if self._hits * 8 < size:
                return False
            self._check *= 4
        if size < self._MAX:
            self._seen[(line, id(stream), id(meta))] = (stream, meta, entry, value)
        return True


def _range_aggregation(node: ast.RangeAggregation, source: LogSource, steps: list[int]) -> list[Vector]:
    lr = node.range
    lo = steps[0] - lr.range_ns - lr.offset_ns + 1  # windows are (t - range, t]
    hi = steps[-1] - lr.offset_ns
    streams = match_streams(source, lr.selector.matchers, lo, hi)
    leading = _leading_line_filters(lr.selector.stages)
    totals_fn = getattr(source, "window_totals", None)
    if (
        totals_fn is not None
        and node.op in _COUNTING
        and lr.unwrap is None
        and len(leading) == len(lr.selector.stages)
        and all(f.op in ("|=", "!=") for f in leading)
        and _evenly_spaced(steps)
    ):
        # Counting lines that need no parsing: the store totals them per window itself.
        grouping = node.grouping
        group_by = tuple(grouping.labels) if grouping is not None and not grouping.without else None
        if not streams:
            return [{} for _ in steps]
        totals = totals_fn(
            streams,
            lo,
            hi,
            [(f.op, f.value) for f in leading],
            steps,
            lr.range_ns,
            lr.offset_ns,
            group_by,
            node.op in ("bytes_over_time", "bytes_rate"),
        )
        return _totals_to_vectors(node, totals, steps)
    pipeline = compile_pipeline(lr.selector.stages)
    post = [compile_label_expr(f) for f in lr.unwrap.post_filters] if lr.unwrap else []
    series: dict[str, tuple[dict[str, str], list[int], list[float]]] = {}
    bytes_op = node.op in ("bytes_over_time", "bytes_rate")
    key_cache: dict[tuple[tuple[str, str], ...], str] = {}
    # With only line filters (no parser, no unwrap), a sample's labels are its stream labels plus
    # its metadata, so the series of each (stream, metadata) object pair is computed once.
    simple = len(leading) == len(lr.selector.stages) and lr.unwrap is None
    simple_cache: dict[tuple[int, int], tuple[str, dict[str, str]]] = {}
    grouping = node.grouping
    by_names = None
    if grouping is not None and not grouping.without:
        by_names = tuple(dict.fromkeys(grouping.labels))
    # ``sum by (x) (count_over_time({...} | logfmt [r]))``: on plain logfmt lines the grouping
    # labels are read straight from the line (see logql.plainlogfmt).
    plain = None
    if (
        not simple
        and lr.unwrap is None
        and by_names
        and len(lr.selector.stages) == len(leading) + 1
        and isinstance(lr.selector.stages[-1], ast.LogfmtParser)
        and all(plain_label_name(name) for name in by_names)
    ):
        plain = PlainLogfmt(by_names)
    # ``| logfmt | status >= 500 ...``: lines the first label filter surely drops are skipped
    # before the pipeline, as in log queries (most lines of such a query are dropped there).
    quick = None if simple else _parsed_field_filter(lr.selector.stages, len(leading))

    def add(flat: dict[str, str], ts: int, value: float) -> SeriesEntry:
        identity = tuple(flat.items())
        key = key_cache.get(identity)
        if key is None:
            key = key_cache[identity] = labels_string(flat)
        entry = series.get(key)
        if entry is None:
            entry = series[key] = (flat, [], [])
        entry[1].append(ts)
        entry[2].append(value)
        return entry

    def line_sample(ts: int, stream: Mapping[str, str], line: str, meta: Mapping[str, str]) -> Extracted:
        """The grouped labels and value one line adds, or None when the pipeline drops it."""
        if not pipeline.prefilter(ts, line):
            return None
        if quick is not None and quick.rejects(stream, meta, line):
            return None
        if plain is not None and not any(name in stream or name in meta for name in plain.names):
            found = plain.values(line)
            if found is not None:
                flat = {name: found[name] for name in plain.names if name in found}
                return flat, float(len(line.encode("utf-8"))) if bytes_op else 1.0
        labels = LabelSet(_as_dict(stream), _as_dict(meta))
        result = pipeline.process(ts, line, labels, skip_prefilter=True)
        if result is None:
            return None
        value: float | None
        if lr.unwrap is not None:
            value = unwrap_value(labels, lr.unwrap)
            if not all(f(labels) for f in post):
                return None
            labels.remove(lr.unwrap.label)
            if value is None:
                value = 0.0
        elif bytes_op:
            value = float(len(result.encode("utf-8")))
        else:
            value = 1.0
        if by_names is not None:  # the same labels as _group_labels(labels.all(), ...), cheaper
            flat = {}
            for name in by_names:
                label_value = labels.get(name)
                if label_value is not None:
                    flat[name] = label_value
        else:
            flat = _group_labels(labels.all(), node.grouping)
        return flat, value

    # Lines repeat (the same request logged again and again), and what a line adds depends only
    # on its text, stream and metadata when no stage reads the timestamp: then each distinct
    # (line, stream, metadata) runs the pipeline once per query (see _LineMemo).
    memo = _LineMemo() if not simple and _memoizable(lr.selector.stages) else None

    for ts, stream, line, meta in (
        source.entries(
            streams,
            lo,
            hi,
            False,
            leading,
            read_all=True,
            field_filter=_field_filter(lr.selector.stages, len(leading)),
        )
        if streams
        else ()
    ):
        if simple:
            if not pipeline.prefilter(ts, line):
                continue
            pair = (id(stream), id(meta))
            hit = simple_cache.get(pair)
            if hit is None:
                flat = _group_labels({**stream, **meta}, node.grouping)
                hit = simple_cache[pair] = (labels_string(flat), flat)
            key, flat = hit
            entry = series.get(key)
            if entry is None:
                entry = series[key] = (flat, [], [])
            entry[1].append(ts)
            entry[2].append(float(len(line.encode("utf-8"))) if bytes_op else 1.0)
            continue
        if memo is not None:
            known = memo.get(line, stream, meta)
            if known is not None:
                seen_entry, seen_value = known
                if seen_entry is not None:
                    seen_entry[1].append(ts)
                    seen_entry[2].append(seen_value)
                continue
        got = line_sample(ts, stream, line, meta)
        added = None
        if got is not None:
            added = add(got[0], ts, got[1])
        if memo is not None and not memo.put(line, stream, meta, added, 0.0 if got is None else got[1]):
            memo = None  # lines do not repeat enough to pay for the look-ups
    fn = _range_fn(node)
    out: list[Vector] = [{} for _ in steps]
    for key, (flat, times, values) in series.items():
        order = sorted(range(len(times)), key=times.__getitem__)
        times = [times[i] for i in order]
        values = [values[i] for i in order]
        left = right = 0
        for si, t in enumerate(steps):
            end = t - lr.offset_ns
            start = end - lr.range_ns
            while right < len(times) and times[right] <= end:
                right += 1
            while left < right and times[left] <= start:
                left += 1
            if right > left:
                out[si][key] = Sample(flat, fn(values[left:right]))
    return out


# -- vector aggregations -------------------------------------------------------------------------
# Loki pushes a ``sum by`` grouping down into these range aggregations (``canInjectVectorGrouping``):
# the samples are grouped while extracted, which changes float rounding, so it is copied here.
_INJECT_GROUPING = frozenset({"bytes_over_time", "bytes_rate", "sum_over_time", "rate", "count_over_time"})


def _inject_grouping(node: ast.VectorAggregation) -> ast.RangeAggregation | None:
    inner = node.expr
    if (
        node.op == "sum"
        and isinstance(inner, ast.RangeAggregation)
        and inner.grouping is None
        and inner.op in _INJECT_GROUPING
    ):
        grouping = node.grouping or ast.Grouping(())
        return ast.RangeAggregation(inner.op, inner.range, grouping, inner.param)
    return None


def _vector_aggregation(node: ast.VectorAggregation, inner: list[Vector]) -> list[Vector]:
    out: list[Vector] = []
    for vec in inner:
        groups: dict[str, tuple[dict[str, str], list[Sample]]] = {}
        for key in sorted(vec):
            sample = vec[key]
            glabels = _group_labels(sample.labels, node.grouping) if node.grouping else {}
            if node.op in ("topk", "bottomk", "sort", "sort_desc") and node.grouping is None:
                glabels = {}
            gkey = labels_string(glabels)
            groups.setdefault(gkey, (glabels, []))[1].append(sample)
        result: Vector = {}
        for glabels, samples in groups.values():
            values = [s.value for s in samples]
            if node.op in ("topk", "bottomk"):
                k = node.param or 0
                chosen = (heapq.nlargest if node.op == "topk" else heapq.nsmallest)(
                    k, samples, key=lambda s: s.value
                )
                for s in chosen:
                    result[labels_string(s.labels)] = s
                continue
            if node.op in ("sort", "sort_desc"):
                for s in samples:
                    result[labels_string(s.labels)] = s
                continue
            if node.op == "sum":
                value = _sum(values)
            elif node.op == "avg":
                value = _avg(values)
            elif node.op == "min":
                value = min(values)
            elif node.op == "max":
                value = max(values)
            elif node.op == "count":
                value = float(len(values))
            elif node.op == "stdvar":
                value = _stdvar(values)
            elif node.op == "stddev":
                value = math.sqrt(_stdvar(values))
            else:
                raise QueryError(f"unsupported vector aggregation {node.op}")
            result[labels_string(glabels)] = Sample(glabels, value)
        out.append(result)
    return out


# -- binary operations ----------------------------------------------------------------------------
_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b if b else (math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a)),
    "%": lambda a, b: math.fmod(a, b) if b else math.nan,
    "^": lambda a, b: a**b,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}

Value = list[Vector] | list[float]  # vectors per step, or a scalar per step


def _binary(node: ast.BinaryOp, lhs: Value, rhs: Value, lhs_scalar: bool, rhs_scalar: bool) -> Value:
    op = node.op
    if op in ("and", "or", "unless"):
        if lhs_scalar or rhs_scalar:
            raise QueryError(f"set operator {op} not allowed in binary scalar expression")
        out_sets: list[Vector] = []
        for lv, rv in zip(lhs, rhs, strict=True):
            assert isinstance(lv, dict) and isinstance(rv, dict)
            if op == "and":
                out_sets.append({k: s for k, s in lv.items() if k in rv})
            elif op == "unless":
                out_sets.append({k: s for k, s in lv.items() if k not in rv})
            else:
                merged = dict(lv)
                merged.update({k: s for k, s in rv.items() if k not in lv})
                out_sets.append(merged)
        return out_sets

    def apply(a: float, b: float) -> float | None:
        if op in _ARITH:
            return _ARITH[op](a, b)
        ok = _COMPARE[op](a, b)
        if node.return_bool:
            return 1.0 if ok else 0.0
        return a if ok else None

    if lhs_scalar and rhs_scalar:
        if op in _COMPARE and not node.return_bool:
            raise QueryError("comparisons between scalars must use BOOL modifier")
        return [float(apply(a, b) or 0.0) for a, b in zip(lhs, rhs, strict=True)]  # type: ignore[arg-type]
    out: list[Vector] = []
    for lv, rv in zip(lhs, rhs, strict=True):
        vec: Vector = {}
        if lhs_scalar or rhs_scalar:
            samples = rv if lhs_scalar else lv
            assert isinstance(samples, dict)
            for key, s in samples.items():
                a, b = (lv, s.value) if lhs_scalar else (s.value, rv)
                value = apply(a, b)  # type: ignore[arg-type]
                if value is not None:
                    # Comparisons keep the vector side's value, as in PromQL.
                    if op in _COMPARE and not node.return_bool:
                        value = s.value
                    vec[key] = Sample(s.labels, value)
        else:
            assert isinstance(lv, dict) and isinstance(rv, dict)
            for key, s in lv.items():
                other = rv.get(key)
                if other is None:
                    continue
                value = apply(s.value, other.value)
                if value is not None:
                    vec[key] = Sample(s.labels, value)
        out.append(vec)
    return out


# -- driver -------------------------------------------------------------------------------------
def _is_scalar(node: ast.MetricExpr) -> bool:
    if isinstance(node, ast.NumberLiteral):
        return True
    if isinstance(node, ast.BinaryOp):
        return _is_scalar(node.lhs) and _is_scalar(node.rhs)
    return False


def _eval(node: ast.MetricExpr, source: LogSource, steps: list[int]) -> Value:
    if isinstance(node, ast.NumberLiteral):
        return [node.value for _ in steps]
    if isinstance(node, ast.VectorLiteral):
        return [{"{}": Sample({}, node.value)} for _ in steps]
    if isinstance(node, ast.RangeAggregation):
        return _range_aggregation(node, source, steps)
    if isinstance(node, ast.VectorAggregation):
        if _is_scalar(node.expr):
            raise QueryError("expected type vector in aggregation expression, got scalar")
        injected = _inject_grouping(node)
        inner = _eval(injected or node.expr, source, steps)
        return _vector_aggregation(node, inner)  # type: ignore[arg-type]
    lhs = _eval(node.lhs, source, steps)
    rhs = _eval(node.rhs, source, steps)
    return _binary(node, lhs, rhs, _is_scalar(node.lhs), _is_scalar(node.rhs))


def _metric(query: ast.Query) -> ast.MetricExpr:
    if isinstance(query, ast.LogSelector):
        raise QueryError(
            "log queries are not supported as an instant query type, please change your query to a range "
            "query type"
        )
    return query


def evaluate_instant(query: ast.Query, source: LogSource, t_ns: int) -> list[Sample] | Scalar:
    """A metric query at one instant: samples sorted by labels (Loki does not keep topk's order)."""
    expr = _metric(query)
    value = _eval(expr, source, [t_ns])
    if _is_scalar(expr):
        return Scalar(float(value[0]))  # type: ignore[arg-type]
    vec = value[0]
    assert isinstance(vec, dict)
    _check_errors([vec])
    return sorted(vec.values(), key=lambda sample: metric_sort_key(sample.labels))


def metric_sort_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """Prometheus ``labels.Compare`` order (pair by pair, shorter first), used for vectors and matrices.

    Log streams sort by their label *string* instead (``iter_streams``), as Loki does.
    """
    return tuple(sorted(labels.items()))


def _check_errors(vectors: list[Vector]) -> None:
    # Like Loki, only series that still carry __error__ in the final result fail the query.
    for vec in vectors:
        for sample in vec.values():
            if ERROR in sample.labels:
                raise _pipeline_error(sample.labels)


def steps_for(start_ns: int, end_ns: int, step_ns: int) -> list[int]:
    """Loki's query frontend aligns a metric range query: start down and end up to the step."""
    start = start_ns - start_ns % step_ns
    end = end_ns if end_ns % step_ns == 0 else end_ns + step_ns - end_ns % step_ns
    return list(range(start, end + 1, step_ns))


def evaluate_range(
    query: ast.Query, source: LogSource, start_ns: int, end_ns: int, step_ns: int
) -> list[Series] | list[tuple[int, float]]:
    """A metric query over aligned steps: series sorted by labels (or scalar points)."""
    if step_ns <= 0:
        raise QueryError(
            "zero or negative query resolution step widths are not accepted. Try a positive integer"
        )
    expr = _metric(query)
    steps = steps_for(start_ns, end_ns, step_ns)
    if len(steps) > 11000:
        raise QueryError(
            "exceeded maximum resolution of 11,000 points per timeseries. "
            "Try decreasing the query resolution (?step=XX)"
        )
    values = _eval(expr, source, steps)
    if _is_scalar(expr):
        return [(t, float(v)) for t, v in zip(steps, values, strict=True)]  # type: ignore[arg-type]
    _check_errors(values)  # type: ignore[arg-type]
    merged: dict[str, Series] = {}
    for t, vec in zip(steps, values, strict=True):
        assert isinstance(vec, dict)
        for key, sample in vec.items():
            series = merged.get(key)
            if series is None:
                series = merged[key] = Series(sample.labels, [])
            series.points.append((t, sample.value))
    return sorted(merged.values(), key=lambda series: metric_sort_key(series.labels))


def iter_streams(
    entries: list[LogEntry], categorize: bool
) -> Iterator[tuple[dict[str, str], list[LogEntry]]]:
    """Group selected entries into result streams, sorted by label string like Loki's ``Streams``."""
    groups: dict[str, tuple[dict[str, str], list[LogEntry]]] = {}
    for e in entries:
        labels = e.labels.categories()[0] if categorize else e.labels.all()
        key = labels_string(labels)
        groups.setdefault(key, (labels, []))[1].append(e)
    for key in sorted(groups):
        yield groups[key]
