"""Functions over instant vectors and scalars (math, labels, ``histogram_quantile``, ...)."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from labkit.lgtm.metrics.promql.values import PromQLError, Scalar, Series, Vector, labels_sig

__all__ = [
    "MATH_FUNCTIONS",
    "absent_labels",
    "clamp",
    "histogram_quantile",
    "label_join",
    "label_replace",
    "map_values",
    "round_values",
    "scalar_of",
    "timestamp_of",
    "vector_of",
]


def _log2(x: np.ndarray) -> np.ndarray:
    return np.log2(x)


MATH_FUNCTIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs,
    "ceil": np.ceil,
    "floor": np.floor,
    "ln": np.log,
    "log2": _log2,
    "log10": np.log10,
    "sqrt": np.sqrt,
    "exp": np.exp,
}

_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")


def map_values(v: Vector, fn: Callable[[np.ndarray], np.ndarray], keep_name: bool = False) -> Vector:
    out = []
    with np.errstate(all="ignore"):
        for s in v.series:
            labels = dict(s.labels)
            if not keep_name:
                labels.pop("__name__", None)
            out.append(Series(labels, fn(s.vals), s.present))
    return Vector(out)


def round_values(v: Vector, to_nearest: np.ndarray) -> Vector:
    # Go: math.Floor(v*inv + 0.5) / inv, so halves round up (towards +Inf).
    inv = 1.0 / to_nearest
    return map_values(v, lambda x: np.floor(x * inv + 0.5) / inv)


def clamp(v: Vector, lo: np.ndarray | None, hi: np.ndarray | None) -> Vector:
    out = []
    for s in v.series:
        vals = s.vals
        present = s.present
        if lo is not None and hi is not None:
            present = present & ~(lo > hi)  # clamp with min > max returns nothing
        if lo is not None:
            vals = np.where(np.isnan(vals), vals, np.maximum(vals, lo))
        if hi is not None:
            vals = np.where(np.isnan(vals), vals, np.minimum(vals, hi))
        labels = {k: x for k, x in s.labels.items() if k != "__name__"}
        out.append(Series(labels, vals, present))
    return Vector(out)


def timestamp_of(v: Vector, steps: np.ndarray) -> Vector:
    out = []
    for s in v.series:
        ts = s.ts if s.ts is not None else steps
        labels = {k: x for k, x in s.labels.items() if k != "__name__"}
        out.append(Series(labels, ts.astype(np.float64) / 1000.0, s.present))
    return Vector(out)


def vector_of(sc: Scalar) -> Vector:
    return Vector([Series({}, sc.vals.copy(), np.ones(len(sc.vals), dtype=bool))])


def scalar_of(v: Vector, n: int) -> Scalar:
    count = np.zeros(n, dtype=np.int64)
    val = np.full(n, np.nan)
    for s in v.series:
        count += s.present
        val = np.where(s.present, s.vals, val)
    return Scalar(np.where(count == 1, val, np.nan))


def absent_labels(matchers: list[tuple[str, str, str]]) -> dict[str, str]:
    """Labels absent() reports: equality matchers, except a name given twice, and never __name__."""
    out: dict[str, str] = {}
    seen: set[str] = set()
    for name, op, value in matchers:
        if name == "__name__":
            continue
        if op == "=" and name not in seen:
            out[name] = value
        elif name in out:
            del out[name]
        seen.add(name)
    return out


def _expand(template: str, m: re.Match[str]) -> str:
    # Go's Regexp.Expand: $1, ${1}, $name, ${name}; $$ is a literal dollar.
    def repl(tok: re.Match[str]) -> str:
        if tok.group(0) == "$$":
            return "$"
        name = tok.group(1) or tok.group(2)
        try:
            value = m.group(int(name)) if name.isdigit() else m.group(name)
        except IndexError:
            return ""
        return value or ""

    return re.sub(r"\$\$|\$\{([a-zA-Z0-9_]+)\}|\$([a-zA-Z0-9_]+)", repl, template)


def _check_unique(out: list[Series], fn: str) -> None:
    seen: dict[tuple[tuple[str, str], ...], Series] = {}
    for s in out:
        sig = labels_sig(s.labels)
        other = seen.get(sig)
        if other is not None and bool((other.present & s.present).any()):
            raise PromQLError(f"vector cannot contain metrics with the same labelset ({fn})", "execution")
        seen[sig] = s


def label_replace(v: Vector, dst: str, replacement: str, src: str, regex: str) -> Vector:
    try:
        pattern = re.compile(regex)
    except re.error as exc:
        raise PromQLError(f"invalid regular expression in label_replace(): {regex!r}: {exc}") from exc
    if not _LABEL_NAME.match(dst):
        raise PromQLError(f"invalid destination label name in label_replace(): {dst!r}")
    out = []
    for s in v.series:
        labels = dict(s.labels)
        m = pattern.fullmatch(labels.get(src, ""))
        if m is not None:
            value = _expand(replacement, m)
            if value:
                labels[dst] = value
            else:
                labels.pop(dst, None)
        out.append(Series(labels, s.vals, s.present, s.ts))
    _check_unique(out, "label_replace")
    return Vector(out)


def label_join(v: Vector, dst: str, sep: str, srcs: list[str]) -> Vector:
    if not _LABEL_NAME.match(dst):
        raise PromQLError(f"invalid destination label name in label_join(): {dst!r}")
    out = []
    for s in v.series:
        labels = dict(s.labels)
        value = sep.join(labels.get(x, "") for x in srcs)
        if value:
            labels[dst] = value
        else:
            labels.pop(dst, None)
        out.append(Series(labels, s.vals, s.present, s.ts))
    _check_unique(out, "label_join")
    return Vector(out)


def _parse_le(text: str) -> float | None:
    try:
        return float(text.replace("+Inf", "inf").replace("-Inf", "-inf"))
    except ValueError:
        return None


def _bucket_quantile(q: float, bounds: np.ndarray, counts: np.ndarray) -> float:
    if np.isnan(q):
        return float("nan")
    if q < 0:
        return float("-inf")
    if q > 1:
        return float("inf")
    order = np.argsort(bounds, kind="stable")
    bounds, counts = bounds[order], counts[order]
    if not np.isposinf(bounds[-1]):
        return float("nan")
    # Coalesce equal bounds, then force the cumulative counts to be monotonic.
    uniq, inv = np.unique(bounds, return_inverse=True)
    if len(uniq) != len(bounds):
        summed = np.zeros(len(uniq))
        np.add.at(summed, inv, counts)
        bounds, counts = uniq, summed
    counts = np.fmax.accumulate(counts)
    if len(bounds) < 2:
        return float("nan")
    observations = counts[-1]
    if observations == 0:
        return float("nan")
    rank = q * observations
    b = int(np.searchsorted(counts[:-1], rank, side="left"))
    if b == len(bounds) - 1:
        return float(bounds[-2])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start = 0.0
    end = bounds[b]
    count = counts[b]
    if b > 0:
        start = bounds[b - 1]
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return float(start + (end - start) * (rank / count))


def histogram_quantile(phi: np.ndarray, v: Vector) -> Vector:
    groups: dict[tuple[tuple[str, str], ...], list[tuple[float, Series]]] = {}
    group_labels: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for s in v.series:
        le = _parse_le(s.labels.get("le", "")) if "le" in s.labels else None
        if le is None:
            continue
        labels = {k: x for k, x in s.labels.items() if k not in ("le", "__name__")}
        sig = labels_sig(labels)
        groups.setdefault(sig, []).append((le, s))
        group_labels[sig] = labels
    out = []
    for sig, members in groups.items():
        bounds = np.array([le for le, _ in members])
        counts = np.vstack([s.vals for _, s in members])
        present = np.vstack([s.present for _, s in members])
        any_present = np.asarray(present.any(axis=0), dtype=bool)
        vals = np.full(len(any_present), np.nan)
        for k in np.flatnonzero(any_present):
            col = present[:, k]
            vals[k] = _bucket_quantile(float(phi[k]), bounds[col], counts[col, k])
        out.append(Series(group_labels[sig], vals, any_present))
    return Vector(out)
