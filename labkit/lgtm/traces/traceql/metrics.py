"""TraceQL metrics over a time range (``/api/metrics/query_range``), Tempo-shaped.

Tempo aligns the range to the step (start rounded down, end up, from the epoch), puts
a span in the step interval ``(T - step, T]`` that holds its start time, reports
``rate()`` as ``count * (1 / step_seconds)`` (the float rounding is part of the answer),
and leaves ``value`` out of zero samples (proto3 JSON).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.evaluate import evaluate_pipeline, field_value
from labkit.lgtm.traces.traceql.model import Trace, Value
from labkit.lgtm.traces.traceql.printer import format_field

__all__ = ["MAX_EXEMPLARS", "SeriesResult", "align_range", "query_range", "value_json"]

MAX_EXEMPLARS = 100


def value_json(v: Value | None) -> dict[str, Any]:
    """A typed value as Tempo prints it in labels and search attributes."""
    if v is None:
        return {"stringValue": "nil"}
    t, x = v
    if t == "string":
        return {"stringValue": x}
    if t == "int":
        return {"intValue": str(x)}
    if t == "float":
        return {"doubleValue": x}
    if t == "bool":
        return {"boolValue": x}
    if t == "duration":
        return {"stringValue": go_duration(int(x))}
    if t in ("status", "kind"):
        return {"stringValue": x}
    if t == "array":
        return {"arrayValue": {"values": [value_json(e) for e in x]}}
    return {"stringValue": str(x)}


def go_duration(ns: int) -> str:
    """Go's time.Duration.String(): 1h2m3.5s, 1.5ms, 0s."""
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1000:
        return f"{sign}{ns}ns"
    if ns < 10**6:
        return sign + _trim(ns / 1e3) + "µs"
    if ns < 10**9:
        return sign + _trim(ns / 1e6) + "ms"
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    secs = _trim_exact(rem, 10**9) + "s"
    if h:
        return f"{sign}{h}h{m}m{secs}"
    if m:
        return f"{sign}{m}m{secs}"
    return sign + secs


def _trim(x: float) -> str:
    return f"{x:.9f}".rstrip("0").rstrip(".")


def _trim_exact(n: int, unit: int) -> str:
    whole, frac = divmod(n, unit)
    if not frac:
        return str(whole)
    digits = str(frac).rjust(len(str(unit)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def align_range(start_ns: int, end_ns: int, step_ns: int) -> tuple[int, int]:
    """Round start down and end up to multiples of step counted from the epoch."""
    start = start_ns - start_ns % step_ns
    end = end_ns if end_ns % step_ns == 0 else end_ns + step_ns - end_ns % step_ns
    return start, end


@dataclass
class SeriesResult:
    labels: list[dict[str, Any]]
    values: dict[int, list[float]] = field(default_factory=dict)  # timestamp ns -> inputs
    exemplars: list[tuple[str, int]] = field(default_factory=list)  # (trace id, bucket ts)
    quantile_values: dict[int, float] = field(default_factory=dict)  # quantile_over_time: ts -> value


def log2_bucketize(v: float) -> float:
    """Tempo's Log2Bucketize: the next power of two at or above ``v`` (-1 below 2)."""
    n = int(v)
    if n < 2:
        return -1.0
    return float(1 << (n - 1).bit_length())


def log2_quantile(p: float, buckets: list[tuple[float, int]]) -> float:
    """Tempo's Log2Quantile over (bucket max, count) sorted by max: the bucket holding the
    ``ceil(p * total)``-th sample, interpolated exponentially between powers of two."""
    if math.isnan(p) or p < 0 or p > 1 or not buckets:
        return 0.0
    total_count = sum(c for _, c in buckets)
    if total_count == 0:
        return 0.0
    max_samples = max(1, math.ceil(p * total_count))
    total, bucket = 0, 0
    for i, (top, count) in enumerate(buckets):
        bucket = i
        if total + count > max_samples:
            break
        total += count
        if total == max_samples:
            return top
    interp = (max_samples - total) / buckets[bucket][1]
    hi = math.log2(buckets[bucket][0])
    lo = math.log2(buckets[bucket - 1][0]) if bucket > 0 else hi - 1
    return float(2 ** (lo + (hi - lo) * interp))


def _quantile_series(
    series: dict[tuple[Any, ...], SeriesResult], m: ast.MetricsAggregate, scale: float
) -> dict[tuple[Any, ...], SeriesResult]:
    """One series per input series and quantile, labelled with ``p`` (Tempo's HistogramAggregator)."""
    out: dict[tuple[Any, ...], SeriesResult] = {}
    for key, res in series.items():
        histograms = {}
        for ts, vs in res.values.items():
            counts: dict[float, int] = {}
            for v in vs:
                top = log2_bucketize(v) * scale
                counts[top] = counts.get(top, 0) + 1
            histograms[ts] = sorted(counts.items())
        for q in m.quantiles:
            labels = [*res.labels, {"key": "p", "value": {"doubleValue": q}}]
            quantiled = SeriesResult(labels, res.values, res.exemplars)
            quantiled.quantile_values = {ts: log2_quantile(q, h) for ts, h in histograms.items()}
            out[(*key, q)] = quantiled
    return out


def query_range(
    query: ast.Query, traces: Iterable[Trace], start_ns: int, end_ns: int, step_ns: int
) -> dict[str, Any]:
    """Evaluate a metrics query; returns the ``{"series": [...]}`` body without ``metrics``."""
    assert query.metrics is not None
    m = query.metrics
    start, end = align_range(start_ns, end_ns, step_ns)
    stamps = list(range(start, end + 1, step_ns))
    series: dict[tuple[Any, ...], SeriesResult] = {}
    for trace in traces:
        seen: set[int] = set()
        for ss in evaluate_pipeline(query.pipeline, trace):
            for span in ss.spans:
                if span.idx in seen:
                    continue
                seen.add(span.idx)
                s0 = span.start_ns
                if s0 <= start - step_ns or s0 > end:
                    continue
                bucket = s0 if s0 % step_ns == 0 else s0 + step_ns - s0 % step_ns
                key_vals = tuple(field_value(span, f) for f in m.by)
                key = tuple((v[0], str(v[1])) if v else None for v in key_vals)
                res = series.get(key)
                if res is None:
                    if m.by:
                        labels = [
                            {"key": format_field(f), "value": value_json(v)}
                            for f, v in zip(m.by, key_vals, strict=True)
                        ]
                    else:
                        labels = [{"key": "__name__", "value": {"stringValue": m.fn}}]
                    res = series[key] = SeriesResult(labels)
                observed = 1.0
                if m.arg is not None:
                    arg = field_value(span, m.arg)
                    if arg is None or arg[0] not in ("int", "float", "duration"):
                        continue
                    if m.fn == "quantile_over_time":
                        # Bucketized later, like Tempo: durations in ns, reported in seconds.
                        observed = float(arg[1])
                    else:
                        observed = arg[1] / 1e9 if arg[0] == "duration" else float(arg[1])
                res.values.setdefault(bucket, []).append(observed)
                if len(res.exemplars) < MAX_EXEMPLARS and not any(b == bucket for _, b in res.exemplars):
                    res.exemplars.append((trace.trace_id.lstrip("0") or "0", bucket))
    step_s = step_ns / 1e9
    out = []
    if m.fn == "quantile_over_time":
        scale = (
            1e-9 if isinstance(m.arg, ast.Intrinsic) and m.arg.name in ("duration", "trace:duration") else 1.0
        )
        series = _quantile_series(series, m, scale)
    for res in series.values():
        if m.fn == "quantile_over_time":
            values = dict(res.quantile_values)
        else:
            values = {ts: _reduce(m.fn, vs, step_s) for ts, vs in res.values.items()}
        samples = []
        for ts in stamps:
            point: dict[str, Any] = {"timestampMs": str(ts // 1_000_000)}
            value = values.get(ts, 0.0)
            if value:
                point["value"] = value
            samples.append(point)
        exemplars = [
            {
                "labels": [{"key": "trace:id", "value": {"stringValue": tid}}, *res.labels],
                "value": values.get(ts, 0.0),
                "timestampMs": str(ts // 1_000_000),
            }
            for tid, ts in res.exemplars
        ]
        entry: dict[str, Any] = {"labels": res.labels, "samples": samples}
        if exemplars:
            entry["exemplars"] = exemplars
        out.append(entry)
    return {"series": out}


def _reduce(fn: str, vs: list[float], step_s: float) -> float:
    if fn == "rate":
        return len(vs) * (1 / step_s)
    if fn == "count_over_time":
        return float(len(vs))
    if fn == "sum_over_time":
        return float(sum(vs))
    if fn == "avg_over_time":
        return sum(vs) / len(vs)
    if fn == "min_over_time":
        return min(vs)
    return max(vs)
