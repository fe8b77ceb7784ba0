"""The local-mode in-memory index (CSC postings, partial top-k, coded filters) equals the reference.

The reference is the straightforward path the index replaced: a full stable ``argsort``,
a per-term ``np.add.at`` loop for BM25, and ``Filters.matches`` on every payload. Equal
means the same rows in the same order with bit-identical scores, ties included (the
10k benchmark collection is full of exact ties: copies of one chunk).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from labkit.rag.search import Filters, _MemoryIndex, _top


def _reference_top(scores: np.ndarray, valid: np.ndarray, limit: int) -> list[tuple[int, float]]:
    candidates = np.flatnonzero(valid)
    if candidates.size == 0:
        return []
    chosen = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
    return [(int(i), float(scores[i])) for i in chosen]


def _reference_sparse(
    sparse: Sequence[tuple[Sequence[int], Sequence[float]]],
    terms: Sequence[int],
    valid: np.ndarray,
    limit: int,
) -> list[tuple[int, float]]:
    postings: dict[int, tuple[list[int], list[float]]] = {}
    for row, (indices, values) in enumerate(sparse):
        for t, v in zip(indices, values, strict=True):
            postings.setdefault(int(t), ([], []))[0].append(row)
            postings[int(t)][1].append(float(v))
    n = len(sparse)
    scores = np.zeros(n, dtype=np.float64)
    touched = np.zeros(n, dtype=bool)
    for term in terms:
        if term not in postings:
            continue
        rows, values = np.asarray(postings[term][0]), np.asarray(postings[term][1], dtype=np.float32)
        idf = math.log((n - rows.size + 0.5) / (rows.size + 0.5) + 1)
        np.add.at(scores, rows, values * idf)
        touched[rows] = True
    return _reference_top(scores, touched & valid, limit)


def _random_index(seed: int, n: int = 600) -> tuple[_MemoryIndex, list[tuple[list[int], list[float]]]]:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(n // 3, 16)).astype(np.float32)
    # Every row comes three times (exact ties in both dense and sparse scores).
    dense = np.repeat(base / np.linalg.norm(base, axis=1, keepdims=True), 3, axis=0)
    sparse: list[tuple[list[int], list[float]]] = []
    for _ in range(n // 3):
        terms = sorted({int(t) for t in rng.integers(0, 80, size=int(rng.integers(1, 12)))})
        weights = [float(w) for w in rng.uniform(0.2, 2.0, size=len(terms)).astype(np.float32)]
        sparse += [(terms, weights)] * 3
    payloads = [
        {
            "source": f"doc{row % 7}.md",
            "section": ("A", "A > B", "C")[row % 3],
            "tags": [t for t, on in (("x", row % 2 == 0), ("y", row % 5 == 0)) if on],
        }
        for row in range(n)
    ]
    return _MemoryIndex.of([f"p{i}" for i in range(n)], payloads, dense, sparse), sparse


FILTERS = [
    Filters(),
    Filters.of(source="doc3.md"),
    Filters.of(source=["doc1.md", "doc5.md", "missing.md"]),
    Filters.of(section="A > B"),
    Filters.of(section="nowhere"),
    Filters.of(tags=["x"]),
    Filters.of(tags=["x", "y"]),
    Filters.of(tags=["unknown"]),
    Filters.of(source=["doc2.md", "doc4.md"], section="C", tags=["x"]),
]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_memory_index_equals_reference(seed: int, filters: Filters) -> None:
    index, sparse = _random_index(seed)
    valid = np.fromiter((filters.matches(p) for p in index.payloads), dtype=bool, count=len(index.ids))
    mask = index._mask(filters)
    assert np.array_equal(np.ones_like(valid) if mask is None else mask, valid)
    rng = np.random.default_rng(100 + seed)
    for _ in range(10):
        vector = rng.normal(size=16).astype(np.float32)
        vector /= np.linalg.norm(vector)
        terms = sorted({int(t) for t in rng.integers(0, 90, size=6)})  # some terms unknown to the index
        for limit in (1, 5, 50, 10_000):
            dense_scores = index.dense @ vector
            assert index.dense_search(vector, limit, filters) == _reference_top(dense_scores, valid, limit)
            assert index.sparse_search(terms, limit, filters) == _reference_sparse(
                sparse, terms, valid, limit
            )


def test_partial_top_k_keeps_ties_in_row_order() -> None:
    scores = np.array([1.0, 3.0, 3.0, 2.0, 3.0, 0.5] * 20)
    for limit in range(1, 12):
        assert _top(scores, None, limit) == _reference_top(scores, np.ones(scores.size, bool), limit)
    assert _top(scores, np.zeros(scores.size, bool), 3) == []
    assert [row for row, _ in _top(scores, None, 3)] == [1, 2, 4]


def test_unknown_terms_find_nothing() -> None:
    index, _ = _random_index(0, n=30)
    assert index.sparse_search([10_000, 20_000], 5, Filters()) == []
