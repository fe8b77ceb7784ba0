"""Which samples ``topk``/``bottomk`` keep when values tie: Prometheus's heap, step by step.

Prometheus 2 feeds a group's samples, in input order, to a k-element heap (Go's
``container/heap``): while the heap is not full a sample is pushed; after that a sample
strictly better than the root (or any sample, when the root is NaN) pops the root and is
pushed (k == 1 replaces the root in place). Among equal values the survivors are decided
by the heap's sift order, not by label order, so replaying the same heap operations is
the only way to keep the same series. (Prometheus 3 replaces the root and calls
``heap.Fix`` instead; the differential tests run against Debian's Prometheus 2.42.)
"""

from __future__ import annotations

import math

__all__ = ["heap_select"]


def _less(h: list[tuple[float, int]], i: int, j: int, bottom: bool) -> bool:
    # vectorByValueHeap / vectorByReverseValueHeap: NaN sorts first (is "smallest").
    a, b = h[i][0], h[j][0]
    if math.isnan(a):
        return True
    return a > b if bottom else a < b


def _up(h: list[tuple[float, int]], j: int, bottom: bool) -> None:
    while True:
        i = (j - 1) // 2
        if i == j or j <= 0 or not _less(h, j, i, bottom):
            break
        h[i], h[j] = h[j], h[i]
        j = i


def _down(h: list[tuple[float, int]], i0: int, n: int, bottom: bool) -> bool:
    i = i0
    while True:
        j1 = 2 * i + 1
        if j1 >= n:
            break
        j = j1
        if j1 + 1 < n and _less(h, j1 + 1, j1, bottom):
            j = j1 + 1
        if not _less(h, j, i, bottom):
            break
        h[i], h[j] = h[j], h[i]
        i = j
    return i > i0


def _pop(h: list[tuple[float, int]], bottom: bool) -> None:
    n = len(h) - 1
    h[0], h[n] = h[n], h[0]
    _down(h, 0, n, bottom)
    h.pop()


def heap_select(values: list[tuple[float, int]], k: int, bottom: bool) -> list[int]:
    """Rows kept by ``topk(k)`` (or ``bottomk``) of ``(value, row)`` samples given in input order."""
    heap: list[tuple[float, int]] = []
    for value, row in values:
        if len(heap) < k:
            heap.append((value, row))
            _up(heap, len(heap) - 1, bottom)
            continue
        root = heap[0][0]
        if not ((value < root if bottom else root < value) or math.isnan(root)):
            continue
        if k == 1:
            heap[0] = (value, row)
            continue
        _pop(heap, bottom)
        heap.append((value, row))
        _up(heap, len(heap) - 1, bottom)
    return [row for _, row in heap]
