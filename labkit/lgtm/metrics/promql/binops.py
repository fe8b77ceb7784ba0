"""Binary operators: arithmetic, comparison (``bool``), set operators, and vector matching."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import promql_parser as pp

from labkit.lgtm.metrics.promql.values import PromQLError, Scalar, Series, Vector, labels_sig

__all__ = ["ARITHMETIC", "COMPARISON", "SET_OPS", "binary"]


def _pow(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.power(a, b)


ARITHMETIC: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "+": np.add,
    "-": np.subtract,
    "*": np.multiply,
    "/": np.true_divide,
    "%": np.fmod,  # Go's math.Mod: the result takes the dividend's sign
    "^": _pow,
    "atan2": np.arctan2,
}
COMPARISON: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    "<": np.less,
    ">=": np.greater_equal,
    "<=": np.less_equal,
}
SET_OPS = {"and", "or", "unless"}


def _elem(op: str, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if op in ARITHMETIC:
            return ARITHMETIC[op](a, b)
        return COMPARISON[op](a, b)


def _drop_name(labels: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in labels.items() if k != "__name__"}


def binary(op: str, lhs: Any, rhs: Any, modifier: Any, n: int) -> Scalar | Vector:
    return_bool = bool(modifier is not None and modifier.return_bool)
    if isinstance(lhs, Scalar) and isinstance(rhs, Scalar):
        res = _elem(op, lhs.vals, rhs.vals)
        return Scalar(res.astype(np.float64))
    if isinstance(lhs, Vector) and isinstance(rhs, Scalar):
        return _vector_scalar(op, lhs, rhs.vals, swap=False, return_bool=return_bool)
    if isinstance(lhs, Scalar) and isinstance(rhs, Vector):
        return _vector_scalar(op, rhs, lhs.vals, swap=True, return_bool=return_bool)
    if isinstance(lhs, Vector) and isinstance(rhs, Vector):
        if op in SET_OPS:
            return _set_op(op, lhs, rhs, modifier, n)
        return _vector_vector(op, lhs, rhs, modifier, return_bool, n)
    raise PromQLError(f"binary operator {op!r} is not defined between these operand types")


def _vector_scalar(op: str, v: Vector, sc: np.ndarray, swap: bool, return_bool: bool) -> Vector:
    out = []
    for s in v.series:
        a, b = (sc, s.vals) if swap else (s.vals, sc)
        res = _elem(op, a, b)
        present = s.present
        labels = s.labels
        if op in COMPARISON:
            if return_bool:
                vals = res.astype(np.float64)
                labels = _drop_name(labels)
            else:
                present = present & res
                vals = s.vals  # the vector's value survives, whichever side it was on
        else:
            vals = res
            labels = _drop_name(labels)
        if present.any():
            out.append(Series(dict(labels), vals, present))
    return Vector(out)


def _signature(labels: dict[str, str], matching: Any) -> tuple[tuple[str, str], ...]:
    if matching is None:
        return labels_sig(_drop_name(labels))
    names = set(matching.labels)
    if matching.type == pp.LabelModifierType.Include:  # on(...)
        return tuple(sorted((k, v) for k, v in labels.items() if k in names))
    return tuple(sorted((k, v) for k, v in labels.items() if k not in names and k != "__name__"))


def _set_op(op: str, lhs: Vector, rhs: Vector, modifier: Any, n: int) -> Vector:
    matching = modifier.matching if modifier is not None else None
    rhs_present: dict[Any, np.ndarray] = {}
    for s in rhs.series:
        sig = _signature(s.labels, matching)
        rhs_present[sig] = rhs_present.get(sig, np.zeros(n, dtype=bool)) | s.present
    if op == "and":
        out = []
        for s in lhs.series:
            present = s.present & rhs_present.get(_signature(s.labels, matching), np.zeros(n, dtype=bool))
            if present.any():
                out.append(Series(s.labels, s.vals, present, s.ts))
        return Vector(out)
    if op == "unless":
        out = []
        for s in lhs.series:
            present = s.present & ~rhs_present.get(_signature(s.labels, matching), np.zeros(n, dtype=bool))
            if present.any():
                out.append(Series(s.labels, s.vals, present, s.ts))
        return Vector(out)
    # or: every lhs sample, plus rhs samples whose group has no lhs sample at that step.
    lhs_present: dict[Any, np.ndarray] = {}
    for s in lhs.series:
        sig = _signature(s.labels, matching)
        lhs_present[sig] = lhs_present.get(sig, np.zeros(n, dtype=bool)) | s.present
    out = list(lhs.series)
    for s in rhs.series:
        present = s.present & ~lhs_present.get(_signature(s.labels, matching), np.zeros(n, dtype=bool))
        if present.any():
            out.append(Series(s.labels, s.vals, present, s.ts))
    return Vector(out)


def _vector_vector(op: str, lhs: Vector, rhs: Vector, modifier: Any, return_bool: bool, n: int) -> Vector:
    matching = modifier.matching if modifier is not None else None
    card = modifier.card if modifier is not None else pp.VectorMatchCardinality.OneToOne
    include = list(modifier.group_labels or []) if modifier is not None else []
    swap = card == pp.VectorMatchCardinality.OneToMany
    many, one = (rhs, lhs) if swap else (lhs, rhs)
    if card == pp.VectorMatchCardinality.ManyToMany:
        raise PromQLError(f"many-to-many matching is only allowed for set operators, not {op!r}")

    one_groups: dict[Any, list[Series]] = {}
    for s in one.series:
        one_groups.setdefault(_signature(s.labels, matching), []).append(s)
    for sig, members in one_groups.items():
        if len(members) > 1:
            total = np.sum([m.present for m in members], axis=0)
            if (total > 1).any():
                side = "left" if swap else "right"
                raise PromQLError(
                    f"found duplicate series for the match group {dict(sig)} on the {side} hand-side of "
                    "the operation; many-to-many matching not allowed: matching labels must be unique on "
                    "one side",
                    "execution",
                )

    results: dict[tuple[tuple[str, str], ...], Series] = {}
    one_to_one = card == pp.VectorMatchCardinality.OneToOne
    if one_to_one:
        seen_many: dict[Any, np.ndarray] = {}
    for ms in many.series:
        sig = _signature(ms.labels, matching)
        partners = one_groups.get(sig)
        if not partners:
            continue
        for os_ in partners:
            both = ms.present & os_.present
            if not both.any():
                continue
            if one_to_one:
                prior = seen_many.get(sig)
                if prior is not None and (prior & both).any():
                    raise PromQLError(
                        f"multiple matches for labels {dict(sig)}: many-to-one matching must be explicit "
                        "(group_left/group_right)",
                        "execution",
                    )
                seen_many[sig] = both if prior is None else prior | both
            lv, rv = (os_.vals, ms.vals) if swap else (ms.vals, os_.vals)
            res = _elem(op, lv, rv)
            if op in COMPARISON and not return_bool:
                present = both & res
                vals = lv
            else:
                present = both
                vals = res.astype(np.float64)
            if not present.any():
                continue
            labels = _result_labels(ms.labels, os_.labels, op, matching, one_to_one, include, return_bool)
            key = labels_sig(labels)
            prev = results.get(key)
            if prev is None:
                results[key] = Series(labels, vals.copy(), present.copy())
            else:
                if (prev.present & present).any():
                    raise PromQLError(
                        f"multiple matches for labels: grouping labels must ensure unique matches ({labels})",
                        "execution",
                    )
                prev.vals = np.where(present, vals, prev.vals)
                prev.present = prev.present | present
    return Vector(list(results.values()))


def _result_labels(
    many: dict[str, str],
    one: dict[str, str],
    op: str,
    matching: Any,
    one_to_one: bool,
    include: list[str],
    return_bool: bool,
) -> dict[str, str]:
    labels = dict(many)
    if op in ARITHMETIC or return_bool:
        labels.pop("__name__", None)
    if one_to_one and matching is not None:
        names = set(matching.labels)
        if matching.type == pp.LabelModifierType.Include:
            labels = {k: v for k, v in labels.items() if k in names}
        else:
            labels = {k: v for k, v in labels.items() if k not in names}
    for name in include:
        value = one.get(name, "")
        if value:
            labels[name] = value
        else:
            labels.pop(name, None)
    return labels
