"""Aggregation operators (``sum``, ``topk``, ``count_values``, ...) with ``by``/``without``."""

from __future__ import annotations

from typing import Any

import numpy as np
import promql_parser as pp

from labkit.lgtm.metrics.promql.topk_heap import heap_select
from labkit.lgtm.metrics.promql.values import PromQLError, Series, Vector, labels_sig
from labkit.lgtm.metrics.translate import format_bound

__all__ = ["AGGREGATIONS", "aggregate"]

AGGREGATIONS = {
    "sum",
    "avg",
    "min",
    "max",
    "count",
    "stddev",
    "stdvar",
    "quantile",
    "topk",
    "bottomk",
    "count_values",
    "group",
}


def _grouping(labels: dict[str, str], modifier: Any) -> dict[str, str]:
    if modifier is None:
        return {}
    names = set(modifier.labels)
    if modifier.type == pp.AggModifierType.By:
        return {k: v for k, v in labels.items() if k in names}
    return {k: v for k, v in labels.items() if k not in names and k != "__name__"}


def _quantile_col(phi: float, values: np.ndarray) -> float:
    from labkit.lgtm.metrics.promql.range_functions import _quantile

    return _quantile(phi, values)


def aggregate(op: str, v: Vector, modifier: Any, param: Any, n: int) -> Vector:
    if op not in AGGREGATIONS:
        raise PromQLError(f"unsupported aggregation {op}()")
    if op == "count_values":
        return _count_values(str(param), v, modifier, n)
    groups: dict[tuple[tuple[str, str], ...], list[Series]] = {}
    glabels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for s in v.series:
        g = _grouping(s.labels, modifier)
        sig = labels_sig(g)
        groups.setdefault(sig, []).append(s)
        glabels[sig] = g
    if op in ("topk", "bottomk"):
        return _topk(op, v, groups, param, n)
    out = []
    with np.errstate(all="ignore"):
        for sig, members in groups.items():
            vals = np.vstack([s.vals for s in members])
            mask = np.vstack([s.present for s in members])
            present = np.asarray(mask.any(axis=0), dtype=bool)
            count = mask.sum(axis=0)
            if op == "sum":
                res = np.where(mask, vals, 0.0).sum(axis=0)
            elif op == "avg":
                res = np.where(mask, vals, 0.0).sum(axis=0) / np.maximum(count, 1)
            elif op == "count":
                res = count.astype(np.float64)
            elif op == "group":
                res = np.ones(n)
            elif op in ("min", "max"):
                masked = np.where(mask, vals, np.nan)
                fn = np.fmin if op == "min" else np.fmax
                res = fn.reduce(masked, axis=0)
            elif op in ("stddev", "stdvar"):
                mean = np.where(mask, vals, 0.0).sum(axis=0) / np.maximum(count, 1)
                dev = np.where(mask, vals - mean, 0.0)
                res = (dev * dev).sum(axis=0) / np.maximum(count, 1)
                if op == "stddev":
                    res = np.sqrt(res)
            elif op == "quantile":
                phi = param
                res = np.full(n, np.nan)
                for k in np.flatnonzero(present):
                    res[k] = _quantile_col(float(phi[k]), vals[mask[:, k], k])
            else:  # pragma: no cover - guarded by AGGREGATIONS
                raise PromQLError(f"unsupported aggregation {op}()")
            out.append(Series(glabels[sig], res, present))
    return Vector(out)


def _topk(op: str, v: Vector, groups: dict[Any, list[Series]], param: Any, n: int) -> Vector:
    ks = np.asarray(param, dtype=np.float64)
    keep: dict[int, np.ndarray] = {id(s): np.zeros(n, dtype=bool) for s in v.series}
    for members in groups.values():
        vals = np.vstack([s.vals for s in members])
        mask = np.vstack([s.present for s in members])
        # NaN ranks after every number for topk and bottomk alike, but before absent samples.
        key = -vals if op == "topk" else vals.copy()
        key = np.where(np.isnan(key), np.finfo(np.float64).max, key)
        key = np.where(mask, key, np.inf)
        order = np.argsort(key, axis=0, kind="stable")
        for k in range(n):
            limit = int(ks[k]) if np.isfinite(ks[k]) else 0
            if limit < 1:
                continue
            rows = _kept_rows(op, vals[:, k], mask[:, k], key[:, k], order[:, k], limit)
            for row in rows:
                keep[id(members[row])][k] = True
    out = []
    for s in v.series:
        present = keep[id(s)]
        if present.any():
            out.append(Series(dict(s.labels), s.vals, present))
    return Vector(out)


def _kept_rows(
    op: str, vals: np.ndarray, mask: np.ndarray, key: np.ndarray, order: np.ndarray, limit: int
) -> list[int]:
    """Rows of one group kept at one step: the sorted prefix, unless a tie (or NaN) straddles the cut."""
    n_present = int(mask.sum())
    if n_present <= limit:
        return [int(r) for r in order[:n_present]]
    cut = key[order[limit - 1]], key[order[limit]]
    if cut[0] != cut[1] and not np.isnan(vals[mask]).any():
        return [int(r) for r in order[:limit]]
    # Ties at the cut: Prometheus's heap decides which equal samples survive.
    samples = [(float(vals[r]), int(r)) for r in np.flatnonzero(mask)]
    return heap_select(samples, limit, bottom=op == "bottomk")


def _count_values(label: str, v: Vector, modifier: Any, n: int) -> Vector:
    if not label or not (label[0].isalpha() or label[0] == "_"):
        raise PromQLError(f"invalid label name {label!r} in count_values()")
    counts: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    labels_of: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for s in v.series:
        g = _grouping(s.labels, modifier)
        for k in np.flatnonzero(s.present):
            labels = dict(g)
            labels[label] = format_bound(float(s.vals[k]))
            sig = labels_sig(labels)
            if sig not in counts:
                counts[sig] = np.zeros(n)
                labels_of[sig] = labels
            counts[sig][k] += 1
    return Vector([Series(labels_of[sig], c, c > 0) for sig, c in counts.items()])
