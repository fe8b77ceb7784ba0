"""OTLP metrics -> Prometheus series, as Prometheus 3's OTLP receiver translates them.

Default strategy ``UnderscoreEscapingWithSuffixes``: names are split into tokens of
``[a-zA-Z0-9:]``, unit suffixes are appended from the UCUM-ish unit (``s`` ->
``seconds``, ``By/s`` -> ``bytes_per_second``), monotonic sums end in ``_total``,
gauges with unit ``1`` in ``_ratio``; histograms become ``_bucket{le}``/``_sum``/``_count``.
The full table is in ``docs/metrics-translation.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.lgtm.metrics.index import STALE_NAN

__all__ = [
    "PromPoint",
    "format_bound",
    "metric_name",
    "normalize_label",
    "resource_labels",
    "translate_request",
]

UNIT_MAP = {
    "d": "days",
    "h": "hours",
    "min": "minutes",
    "s": "seconds",
    "ms": "milliseconds",
    "us": "microseconds",
    "ns": "nanoseconds",
    "By": "bytes",
    "KiBy": "kibibytes",
    "MiBy": "mebibytes",
    "GiBy": "gibibytes",
    "TiBy": "tibibytes",
    "KBy": "kilobytes",
    "MBy": "megabytes",
    "GBy": "gigabytes",
    "TBy": "terabytes",
    "m": "meters",
    "V": "volts",
    "A": "amperes",
    "J": "joules",
    "W": "watts",
    "g": "grams",
    "Cel": "celsius",
    "Hz": "hertz",
    "1": "",
    "%": "percent",
}
PER_UNIT_MAP = {
    "s": "second",
    "m": "minute",
    "h": "hour",
    "d": "day",
    "w": "week",
    "mo": "month",
    "y": "year",
}

# OTLP data point flag: the source had no value at this time (e.g. a target went away).
_FLAG_NO_RECORDED_VALUE = 1

_NAME_TOKEN_SPLIT = re.compile(r"[^a-zA-Z0-9:]+")
_INVALID_UNIT = re.compile(r"[^a-zA-Z0-9:_]")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]")
_MULTI_UNDERSCORE = re.compile(r"__+")

# The resource attributes that become job/instance instead of target_info labels.
_IDENTIFYING = ("service.name", "service.namespace", "service.instance.id")
# target_info is repeated across a batch's time span so it stays inside the 5 m lookback.
TARGET_INFO_INTERVAL_MS = 150_000


def _clean_unit(unit: str) -> str:
    return _MULTI_UNDERSCORE.sub("_", _INVALID_UNIT.sub("_", unit)).lstrip("_")


def _unit_suffixes(unit: str) -> tuple[str, str]:
    main, per = "", ""
    parts = unit.split("/", 1)
    first = parts[0].strip()
    if first and "{" not in first and "}" not in first:
        main = UNIT_MAP.get(first, first)
    if len(parts) > 1 and parts[1] != "":
        second = parts[1].strip()
        if second and "{" not in second and "}" not in second:
            per = PER_UNIT_MAP.get(second, second)
        if per:
            per = "per_" + per
    return main, per


def metric_name(name: str, unit: str, kind: str) -> str:
    """Prometheus name for an OTLP metric; ``kind`` is counter, gauge, updowncounter, histogram or summary."""
    tokens = [t for t in _NAME_TOKEN_SPLIT.split(name) if t]
    main, per = _unit_suffixes(unit)
    main, per = _clean_unit(main), _clean_unit(per)
    if main in tokens:
        main = ""
    if per == "per_":
        per = ""
    else:
        per = per.removesuffix("_")
        if per in tokens:
            per = ""
    if per:
        main = main.removesuffix("_")
    if main:
        tokens.append(main)
    if per:
        tokens.append(per)
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    out = "_".join(tokens)
    if out and out[0].isdigit():
        out = "_" + out
    if not out.strip("_"):
        raise ValueError(f"OTLP metric name {name!r} normalises to an empty Prometheus name")
    return out


def normalize_label(key: str) -> str:
    """Attribute key -> label name: invalid characters become ``_``; a leading digit or ``_`` gets ``key``."""
    if not key:
        return key
    label = _INVALID_LABEL.sub("_", key)
    if label[0].isdigit():
        label = "key_" + label
    elif label.startswith("_") and not label.startswith("__"):
        label = "key" + label
    return label


def format_bound(x: float) -> str:
    """Go's ``FormatFloat(x, 'f', -1, 64)``: shortest digits, never an exponent; ``+Inf``."""
    # Fast path: Python's repr is also the shortest round-trip form; only exponents differ.
    r = repr(x)
    if "e" not in r and "n" not in r:
        return r[:-2] if r.endswith(".0") else r
    if x == float("inf"):
        return "+Inf"
    if x == float("-inf"):
        return "-Inf"
    if x != x:
        return "NaN"
    return np.format_float_positional(x, trim="-")


def _go_float(x: float) -> str:
    if x != x:
        return "NaN"
    if x in (float("inf"), float("-inf")):
        return "+Inf" if x > 0 else "-Inf"
    if x == int(x) and abs(x) < 1e21:
        return str(int(x))
    return repr(x)


def _value_string(v: Any) -> str:
    """pcommon ``Value.AsString``: what an attribute value looks like as a label value."""
    which = v.WhichOneof("value")
    if which == "string_value":
        return str(v.string_value)
    if which == "bool_value":
        return "true" if v.bool_value else "false"
    if which == "int_value":
        return str(v.int_value)
    if which == "double_value":
        return _go_float(v.double_value)
    if which == "bytes_value":
        import base64

        return base64.b64encode(v.bytes_value).decode()
    if which in ("array_value", "kvlist_value"):
        from labkit.lgtm.otlp.decode import any_value_to_python

        return json.dumps(any_value_to_python(v), separators=(",", ":"))
    return ""


def _attr_labels(kvs: Any, skip: tuple[str, ...] = ()) -> dict[str, str]:
    # Keys that collide after sanitising are joined with ';' in sorted original-key order.
    grouped: dict[str, list[tuple[str, str]]] = {}
    for kv in kvs:
        if kv.key in skip:
            continue
        grouped.setdefault(normalize_label(kv.key), []).append((kv.key, _value_string(kv.value)))
    return {name: ";".join(v for _, v in sorted(pairs)) for name, pairs in grouped.items() if name}


def resource_labels(resource_attrs: Any) -> dict[str, str]:
    """``job`` (``namespace/name``) and ``instance`` from the service attributes."""
    attrs = {kv.key: _value_string(kv.value) for kv in resource_attrs}
    out: dict[str, str] = {}
    if "service.name" in attrs:
        ns = attrs.get("service.namespace")
        out["job"] = f"{ns}/{attrs['service.name']}" if ns else attrs["service.name"]
    if "service.instance.id" in attrs:
        out["instance"] = attrs["service.instance.id"]
    return out


@dataclass(frozen=True, slots=True)
class PromPoint:
    """One Prometheus sample produced by translation; ``delta`` ones add to the series' last value."""

    labels: dict[str, str]
    ts_ms: int
    value: float
    delta: bool = False


def _number(dp: Any) -> float:
    return float(dp.as_int) if dp.WhichOneof("value") == "as_int" else float(dp.as_double)


def _with(base: dict[str, str], name: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    labels = dict(base)
    if extra:
        labels.update(extra)
    labels["__name__"] = name
    return labels


def translate_metric(
    metric: Any, job_instance: dict[str, str], promoted: dict[str, str] | None = None
) -> Iterator[PromPoint]:
    """Prometheus samples of one OTLP metric; ``promoted`` resource labels sit under the point's own."""
    promoted = promoted or {}
    which = metric.WhichOneof("data")
    if which == "gauge":
        name = metric_name(metric.name, metric.unit, "gauge")
        for dp in metric.gauge.data_points:
            stale = bool(dp.flags & _FLAG_NO_RECORDED_VALUE)
            labels = _with({**promoted, **_attr_labels(dp.attributes), **job_instance}, name)
            yield PromPoint(labels, dp.time_unix_nano // 1_000_000, STALE_NAN if stale else _number(dp))
    elif which == "sum":
        s = metric.sum
        kind = "counter" if s.is_monotonic else "updowncounter"
        name = metric_name(metric.name, metric.unit, kind)
        delta = s.aggregation_temporality == 1  # AGGREGATION_TEMPORALITY_DELTA
        for dp in s.data_points:
            stale = bool(dp.flags & _FLAG_NO_RECORDED_VALUE)
            labels = _with({**promoted, **_attr_labels(dp.attributes), **job_instance}, name)
            value = STALE_NAN if stale else _number(dp)
            yield PromPoint(labels, dp.time_unix_nano // 1_000_000, value, delta and not stale)
    elif which == "histogram":
        h = metric.histogram
        base_name = metric_name(metric.name, metric.unit, "histogram")
        delta = h.aggregation_temporality == 1
        for dp in h.data_points:
            ts = dp.time_unix_nano // 1_000_000
            stale = bool(dp.flags & _FLAG_NO_RECORDED_VALUE)
            base = {**promoted, **_attr_labels(dp.attributes), **job_instance}
            d = delta and not stale

            def val(x: float, stale: bool = stale) -> float:
                return STALE_NAN if stale else x

            if dp.HasField("sum"):
                yield PromPoint(_with(base, base_name + "_sum"), ts, val(dp.sum), d)
            yield PromPoint(_with(base, base_name + "_count"), ts, val(float(dp.count)), d)
            cumulative = 0
            counts = list(dp.bucket_counts)
            for i, bound in enumerate(dp.explicit_bounds):
                cumulative += counts[i] if i < len(counts) else 0
                le = {"le": format_bound(bound)}
                yield PromPoint(_with(base, base_name + "_bucket", le), ts, val(float(cumulative)), d)
            yield PromPoint(_with(base, base_name + "_bucket", {"le": "+Inf"}), ts, val(float(dp.count)), d)
    elif which == "summary":
        base_name = metric_name(metric.name, metric.unit, "summary")
        for dp in metric.summary.data_points:
            ts = dp.time_unix_nano // 1_000_000
            stale = bool(dp.flags & _FLAG_NO_RECORDED_VALUE)
            base = {**promoted, **_attr_labels(dp.attributes), **job_instance}
            yield PromPoint(_with(base, base_name + "_sum"), ts, STALE_NAN if stale else dp.sum)
            yield PromPoint(_with(base, base_name + "_count"), ts, STALE_NAN if stale else float(dp.count))
            for q in dp.quantile_values:
                labels = _with(base, base_name, {"quantile": format_bound(q.quantile)})
                yield PromPoint(labels, ts, STALE_NAN if stale else q.value)
    # Exponential histograms would become native histograms, which the series store does
    # not model; their raw points are kept in otlp_metric_points only.


def translate_request(request: Any, promote: Collection[str] = ()) -> list[PromPoint]:
    """Every Prometheus sample an ``ExportMetricsServiceRequest`` produces, ``target_info`` included.

    ``promote``: resource attributes also put on every series of their resource, as Mimir's
    ``promote_otel_resource_attributes`` (and Prometheus's ``otlp.promote_resource_attributes``)
    do; they stay on ``target_info`` too, and a point's own attribute of that name wins.
    """
    out: list[PromPoint] = []
    wanted = set(promote) - set(_IDENTIFYING)
    for rm in request.resource_metrics:
        job_instance = resource_labels(rm.resource.attributes)
        promoted = _attr_labels([kv for kv in rm.resource.attributes if kv.key in wanted]) if wanted else {}
        first = len(out)
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                out.extend(translate_metric(metric, job_instance, promoted))
        info = _attr_labels(rm.resource.attributes, skip=_IDENTIFYING)
        if info and len(out) > first:
            stamps = [p.ts_ms for p in out[first:]]
            lo, hi = min(stamps), max(stamps)
            labels = {**info, **job_instance, "__name__": "target_info"}
            t = lo
            while t < hi:
                out.append(PromPoint(dict(labels), t, 1.0))
                t += TARGET_INFO_INTERVAL_MS
            out.append(PromPoint(dict(labels), hi, 1.0))
    return out
