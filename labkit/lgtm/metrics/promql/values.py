"""Value types of the step-vectorised PromQL evaluator.

Every expression is evaluated at all output steps at once: a scalar is one float per
step, an instant vector is a list of series each holding one value per step plus a
``present`` mask (absence differs from NaN, which is a real sample value). Range
vectors are raw samples plus, per step, the window they are read through.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Matrix", "PromQLError", "RangeSeries", "Scalar", "Series", "StringValue", "Vector", "labels_sig"]


class PromQLError(Exception):
    """An error with Prometheus's ``errorType`` (``bad_data`` for the query, ``execution`` for the data)."""

    def __init__(self, message: str, error_type: str = "bad_data") -> None:
        super().__init__(message)
        self.error_type = error_type


@dataclass
class Scalar:
    vals: np.ndarray


@dataclass
class StringValue:
    val: str


@dataclass
class Series:
    labels: dict[str, str]
    vals: np.ndarray
    present: np.ndarray
    # Sample timestamps (ms) when the values come straight from a selector; timestamp() needs them.
    ts: np.ndarray | None = None


@dataclass
class Vector:
    series: list[Series] = field(default_factory=list)


@dataclass
class RangeSeries:
    labels: dict[str, str]
    ts: np.ndarray
    vals: np.ndarray


@dataclass
class Matrix:
    """Samples per series and the window ``[lo, hi]`` (ms, both ends inclusive) read at each step."""

    series: list[RangeSeries]
    lo: np.ndarray
    hi: np.ndarray
    range_ms: int
    # For absent_over_time: the label matchers of the selector, when there is one.
    selector: object | None = None
    # The same samples concatenated (a ``FlatSeries``), when the store already had them so.
    flat: Any = None


def labels_sig(labels: dict[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(labels.items()))
