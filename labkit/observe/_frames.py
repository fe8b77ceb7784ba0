"""Prometheus-style results (vector, matrix, scalar) as tidy pandas DataFrames.

Mimir and Loki metric queries answer with the same shapes, so one converter serves
both. Long format (one row per sample) keeps every label as a column; ``wide()``
pivots to one column per series for plotting.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd

__all__ = ["empty_samples", "result_frame", "series_key", "wide"]

SAMPLE_COLUMNS = ("timestamp", "value", "series")


def series_key(labels: Mapping[str, str]) -> str:
    """Prometheus' own notation, ``name{a="1", b="2"}``, with sorted label names."""
    name = labels.get("__name__", "")
    inner = ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{name}{{{inner}}}" if inner or not name else name


def _float(value: Any) -> float:
    # Prometheus sends sample values as strings, including "NaN", "+Inf" and "-Inf".
    return float(value)


def empty_samples(label_names: Iterable[str] = ()) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "timestamp": pd.Series([], dtype="datetime64[ns, UTC]"),
            "value": pd.Series([], dtype="float64"),
            "series": pd.Series([], dtype="object"),
        }
    )
    for name in label_names:
        frame[name] = pd.Series([], dtype="object")
    return frame


def _frame(rows_ts: list[float], rows_val: list[float], rows_labels: list[Mapping[str, str]]) -> pd.DataFrame:
    if not rows_ts:
        return empty_samples()
    names = sorted({k for labels in rows_labels for k in labels})
    data: dict[str, Any] = {
        "timestamp": pd.to_datetime(pd.Series(rows_ts, dtype="float64") * 1e9, unit="ns", utc=True),
        "value": pd.Series(rows_val, dtype="float64"),
        "series": [series_key(labels) for labels in rows_labels],
    }
    for name in names:
        data[name] = [labels.get(name) for labels in rows_labels]
    return pd.DataFrame(data)


def result_frame(data: Mapping[str, Any]) -> pd.DataFrame:
    """``{"resultType": ..., "result": ...}`` as a DataFrame (timestamp, value, series, labels...)."""
    kind = data.get("resultType")
    result = data.get("result")
    ts: list[float] = []
    values: list[float] = []
    labels: list[Mapping[str, str]] = []
    if kind == "vector":
        for item in result or []:
            t, v = item["value"]
            ts.append(float(t))
            values.append(_float(v))
            labels.append(item.get("metric", {}))
    elif kind == "matrix":
        for item in result or []:
            metric = item.get("metric", {})
            for t, v in item.get("values", []):
                ts.append(float(t))
                values.append(_float(v))
                labels.append(metric)
            # Native histograms are not used by labkit's dashboards; refuse them rather than drop them.
            if item.get("histograms"):
                raise ValueError("native histogram samples are not supported; query classic _bucket series")
    elif kind in ("scalar", "string"):
        if not isinstance(result, list) or len(result) != 2:
            raise ValueError(f"a {kind} result must be [time, value], got {result!r}")
        t, v = result
        ts.append(float(t))
        values.append(_float(v) if kind == "scalar" else float("nan"))
        labels.append({} if kind == "scalar" else {"string": str(v)})
    else:
        raise ValueError(f"unknown resultType {kind!r}; expected vector, matrix, scalar or string")
    frame = _frame(ts, values, labels)
    frame.attrs["result_type"] = kind
    return frame


def wide(frame: pd.DataFrame, legend: str | Sequence[str] | None = None) -> pd.DataFrame:
    """One column per series (named by ``legend`` labels, or the series key), indexed by timestamp."""
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="timestamp"))
    if legend is None:
        names = frame["series"]
    else:
        keys = [legend] if isinstance(legend, str) else list(legend)
        missing = [k for k in keys if k not in frame.columns]
        if missing:
            raise KeyError(
                f"legend labels {missing} are not in the result; labels: {list(frame.columns[3:])}"
            )
        names = frame[keys].astype(str).agg(",".join, axis=1)
    table = frame.assign(_name=names).pivot_table(
        index="timestamp", columns="_name", values="value", aggfunc="last"
    )
    table.columns.name = None
    return table
