"""Render OpenTelemetry SDK metrics as Prometheus text exposition (for ``GET /metrics``).

Names follow the OTLP -> Prometheus translation that the embedded server and the live
stack use: dots become underscores, a unit in braces is dropped, ``s`` becomes
``_seconds``, counters (monotonic sums) end in ``_total``, histograms expose
``_bucket{le=...}``, ``_sum`` and ``_count``. Attribute keys get the same dot rule.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import Histogram, MetricsData, Sum

__all__ = ["prometheus_name", "render"]

_UNITS = {"s": "seconds", "ms": "milliseconds", "By": "bytes", "1": "ratio"}


def prometheus_name(name: str, unit: str | None, *, counter: bool) -> str:
    base = re.sub(r"[^a-zA-Z0-9_:]", "_", name)
    suffix = "" if not unit or unit.startswith("{") else _UNITS.get(unit, re.sub(r"[^a-zA-Z0-9]", "_", unit))
    if suffix and not base.endswith("_" + suffix):
        base = f"{base}_{suffix}"
    if counter and not base.endswith("_total"):
        base += "_total"
    return base


def _escape(value: str) -> str:
    # The exposition format escapes backslash, newline and double quote in label values.
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(attrs: Mapping[str, Any] | None, extra: Mapping[str, str] | None = None) -> str:
    pairs = {re.sub(r"[^a-zA-Z0-9_]", "_", k): str(v) for k, v in (attrs or {}).items()}
    pairs.update(extra or {})
    if not pairs:
        return ""
    body = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(pairs.items()))
    return "{" + body + "}"


def _num(value: float) -> str:
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if isinstance(value, float) else str(value)


def render(data: MetricsData | None) -> str:
    lines: list[str] = []
    for metric in _metrics(data):
        point_data = metric.data
        if isinstance(point_data, Histogram):
            name = prometheus_name(metric.name, metric.unit, counter=False)
            lines.append(f"# HELP {name} {metric.description}")
            lines.append(f"# TYPE {name} histogram")
            for hpoint in point_data.data_points:
                running = 0
                bounds = [*hpoint.explicit_bounds, math.inf]
                for bound, count in zip(bounds, hpoint.bucket_counts, strict=True):
                    running += count
                    lines.append(f"{name}_bucket{_labels(hpoint.attributes, {'le': _num(bound)})} {running}")
                lines.append(f"{name}_sum{_labels(hpoint.attributes)} {_num(hpoint.sum)}")
                lines.append(f"{name}_count{_labels(hpoint.attributes)} {hpoint.count}")
        elif isinstance(point_data, Sum):
            counter = point_data.is_monotonic
            name = prometheus_name(metric.name, metric.unit, counter=counter)
            lines.append(f"# HELP {name} {metric.description}")
            lines.append(f"# TYPE {name} {'counter' if counter else 'gauge'}")
            for point in point_data.data_points:
                lines.append(f"{name}{_labels(point.attributes)} {_num(point.value)}")
        else:
            name = prometheus_name(metric.name, metric.unit, counter=False)
            lines.append(f"# TYPE {name} gauge")
            for point in point_data.data_points:
                lines.append(f"{name}{_labels(point.attributes)} {_num(point.value)}")
    return "\n".join(lines) + "\n"


def _metrics(data: MetricsData | None) -> Iterable[Any]:
    if data is None:
        return []
    return [m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics]
