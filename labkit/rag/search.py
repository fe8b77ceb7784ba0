"""Dense, sparse (BM25) and hybrid (RRF) retrieval over an index built by :mod:`labkit.rag.index`.

On a Qdrant server every query is a Qdrant ``query_points`` call (dense cosine on the
``dense`` vector, dot product with server-side IDF on the ``bm25`` sparse vector).

In local mode qdrant-client scores in pure Python, one point at a time: about 1 s per
sparse query at 10k chunks on a busy 2-core machine, far from an interactive lesson.
So for local mode this module loads the collection's own vectors once (per physical
collection, i.e. per build) into numpy: a dense matrix and BM25 postings, scored with
the formulas Qdrant uses (cosine of unit vectors; ``idf = ln(1 + (N - df + 0.5) /
(df + 0.5))`` times the stored BM25 term weight). Tests check that both give Qdrant
local mode's own rankings and scores.

Hybrid search fuses the two rankings with Reciprocal Rank Fusion:
``score(d) = sum_r w_r / (k + rank_r(d))`` over the dense and sparse lists (ranks from
1, ``k = 60`` as in Cormack et al. 2009 and Qdrant). Fusion runs here, not in Qdrant, so
its ``k``, weights and candidate depth are tunable and identical on both backends.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from labkit.rag.sparse import BM25Encoder
from labkit.rag.store import DENSE, SPARSE, VectorStore

__all__ = ["Filters", "Fusion", "Hit", "Mode", "Searcher", "query_vector", "rrf"]

Mode = Literal["dense", "sparse", "hybrid"]
MODES: tuple[Mode, ...] = ("dense", "sparse", "hybrid")


@dataclass(frozen=True)
class Fusion:
    k: float = 60.0
    dense_weight: float = 1.0
    sparse_weight: float = 1.0
    candidates: int = 50  # depth of each list fed to the fusion

    def __post_init__(self) -> None:
        if self.k < 0 or self.candidates < 1 or self.dense_weight < 0 or self.sparse_weight < 0:
            raise ValueError(f"fusion settings must be non-negative (candidates >= 1): {self}")


@dataclass(frozen=True)
class Filters:
    """Payload filters: ``source`` any of, ``section`` exact, every one of ``tags``."""

    source: tuple[str, ...] = ()
    section: str | None = None
    tags: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, source: str | Sequence[str] | None = None, section: str | None = None, tags: Sequence[str] = ()
    ) -> Filters:
        sources = (source,) if isinstance(source, str) else tuple(source or ())
        return cls(sources, section, tuple(tags))

    def __bool__(self) -> bool:
        return bool(self.source or self.section is not None or self.tags)

    def matches(self, payload: dict[str, Any]) -> bool:
        if self.source and payload.get("source") not in self.source:
            return False
        if self.section is not None and payload.get("section") != self.section:
            return False
        return all(tag in (payload.get("tags") or ()) for tag in self.tags)

    def to_qdrant(self) -> Any:
        from qdrant_client import models

        if not self:
            return None
        must: list[Any] = []
        if self.source:
            must.append(models.FieldCondition(key="source", match=models.MatchAny(any=list(self.source))))
        if self.section is not None:
            must.append(models.FieldCondition(key="section", match=models.MatchValue(value=self.section)))
        must += [models.FieldCondition(key="tags", match=models.MatchValue(value=t)) for t in self.tags]
        return models.Filter(must=must)


@dataclass(frozen=True)
class Hit:
    id: str
    score: float
    source: str
    section: str
    body: str
    text: str
    rank: int
    tags: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, pid: Any, score: float, payload: dict[str, Any], rank: int) -> Hit:
        return cls(
            id=str(pid),
            score=float(score),
            source=str(payload.get("source", "")),
            section=str(payload.get("section", "")),
            body=str(payload.get("body", "")),
            text=str(payload.get("text", "")),
            rank=rank,
            tags=tuple(payload.get("tags") or ()),
        )


def rrf(
    rankings: Sequence[Sequence[str]], weights: Sequence[float], k: float = 60.0
) -> list[tuple[str, float]]:
    """Fuse ranked id lists; ties keep the order of first appearance (stable)."""
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights, strict=True):
        for rank, pid in enumerate(ranking, start=1):
            scores[pid] = scores.get(pid, 0.0) + weight / (k + rank)
    return sorted(scores.items(), key=lambda item: -item[1])


def _top(scores: np.ndarray, valid: np.ndarray | None, limit: int) -> list[tuple[int, float]]:
    """The ``limit`` best rows of ``valid`` (all rows when None), best first, ties by row.

    Equal to a stable ``argsort(-scores)`` over the valid rows cut at ``limit`` (the
    reference), without sorting all 10k scores: ``partition`` finds the ``limit``-th best
    score, and only the rows scoring at least that much (ties at the cut included, so the
    lowest rows win them as in the stable sort) are sorted.
    """
    candidates = None if valid is None else np.flatnonzero(valid)
    negated = -scores if candidates is None else -scores[candidates]
    if negated.size == 0:
        return []
    if negated.size > 4 * limit:
        cut = np.partition(negated, limit - 1)[limit - 1]
        keep = np.flatnonzero(negated <= cut)
        order = keep[np.argsort(negated[keep], kind="stable")[:limit]]
    else:
        order = np.argsort(negated, kind="stable")[:limit]
    chosen = order if candidates is None else candidates[order]
    return [(int(i), float(scores[i])) for i in chosen]


class _MemoryIndex:
    """One local-mode collection's vectors in numpy (see the module docstring).

    * dense: an ``(n, 384)`` float32 matrix of the stored unit vectors; a query is one
      matrix-vector product.
    * sparse: the BM25 weights in compressed-sparse-column form (``indptr``/``rows``/
      ``values`` per term, rows ascending), and each term's IDF computed once at load. A
      query gathers its terms' columns and sums them per row with one ``bincount``, in the
      same order and precision as a per-term loop, so scores are bit-for-bit the loop's.
      (scipy.sparse would do the same with a new dependency for three arrays.)
    * filters: payload fields as integer codes (source, section) and one row mask per
      tag, so a filter is a few vector comparisons instead of a Python loop over payloads.
    """

    def __init__(self, store: VectorStore, collection: str) -> None:
        ids: list[str] = []
        payloads: list[dict[str, Any]] = []
        dense: list[list[float]] = []
        terms: list[int] = []
        rows: list[int] = []
        values: list[float] = []
        offset = None
        while True:
            points, offset = store.client.scroll(
                collection, limit=1024, offset=offset, with_payload=True, with_vectors=True
            )
            for point in points:
                row = len(ids)
                ids.append(str(point.id))
                payloads.append(point.payload or {})
                vectors = point.vector or {}
                dense.append(vectors[DENSE])
                sparse = vectors.get(SPARSE)
                if sparse is not None:
                    terms.extend(int(i) for i in sparse.indices)
                    rows.extend([row] * len(sparse.indices))
                    values.extend(sparse.values)
            if offset is None:
                break
        self.ids = ids
        self.payloads = payloads
        self.dense = np.ascontiguousarray(np.asarray(dense, dtype=np.float32).reshape(len(ids), -1))
        self._sparse_from(
            np.asarray(terms, np.int64), np.asarray(rows, np.int64), np.asarray(values, np.float32)
        )
        self._filters_from(payloads)

    @classmethod
    def of(
        cls,
        ids: Sequence[str],
        payloads: Sequence[dict[str, Any]],
        dense: np.ndarray,
        sparse: Sequence[tuple[Sequence[int], Sequence[float]]],
    ) -> _MemoryIndex:
        """An index from vectors in hand (tests and benchmarks; no collection needed)."""
        index = cls.__new__(cls)
        index.ids, index.payloads = list(ids), list(payloads)
        index.dense = np.ascontiguousarray(dense, dtype=np.float32)
        terms = [int(t) for indices, _ in sparse for t in indices]
        rows = [row for row, (indices, _) in enumerate(sparse) for _ in indices]
        values = [float(v) for _, vals in sparse for v in vals]
        index._sparse_from(
            np.asarray(terms, np.int64), np.asarray(rows, np.int64), np.asarray(values, np.float32)
        )
        index._filters_from(index.payloads)
        return index

    def _sparse_from(self, terms: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
        # Stable by term: within a column, rows stay ascending (the order points were read).
        order = np.argsort(terms, kind="stable")
        terms, self._rows, self._values = terms[order], rows[order], values[order]
        unique, starts = np.unique(terms, return_index=True)
        self._indptr = np.append(starts, terms.size).astype(np.int64)
        self._column = {int(t): c for c, t in enumerate(unique.tolist())}
        total = len(self.ids)
        df = np.diff(self._indptr)
        # Qdrant's IDF; math.log per term, as the reference loop computed it (once, at load).
        self._idf = [math.log((total - int(n) + 0.5) / (int(n) + 0.5) + 1) for n in df]

    def _filters_from(self, payloads: Sequence[dict[str, Any]]) -> None:
        self._codes: dict[str, tuple[dict[Any, int], np.ndarray]] = {}
        for name in ("source", "section"):
            codes: dict[Any, int] = {}
            column = np.fromiter(
                (codes.setdefault(_hashable(p.get(name)), len(codes)) for p in payloads),
                dtype=np.int64,
                count=len(payloads),
            )
            self._codes[name] = (codes, column)
        self._tags: dict[Any, np.ndarray] = {}
        for row, payload in enumerate(payloads):
            for tag in payload.get("tags") or ():
                key = _hashable(tag)
                if key not in self._tags:
                    self._tags[key] = np.zeros(len(payloads), dtype=bool)
                self._tags[key][row] = True

    def _mask(self, filters: Filters) -> np.ndarray | None:
        """Rows whose payload passes ``filters`` (same rules as :meth:`Filters.matches`)."""
        if not filters:
            return None
        mask = np.ones(len(self.ids), dtype=bool)
        if filters.source:
            codes, column = self._codes["source"]
            wanted = [codes[s] for s in filters.source if s in codes]
            mask &= np.isin(column, np.asarray(wanted, dtype=np.int64))
        if filters.section is not None:
            codes, column = self._codes["section"]
            code = codes.get(filters.section)
            mask &= (column == code) if code is not None else False
        for tag in filters.tags:
            tagged = self._tags.get(tag)
            if tagged is None:
                return np.zeros(len(self.ids), dtype=bool)
            mask &= tagged
        return mask

    def dense_search(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[int, float]]:
        with _one_blas_thread():
            scores = self.dense @ vector.astype(np.float32)
        return _top(scores, self._mask(filters), limit)

    def sparse_search(self, terms: Sequence[int], limit: int, filters: Filters) -> list[tuple[int, float]]:
        rows: list[np.ndarray] = []
        parts: list[np.ndarray] = []
        for term in terms:
            column = self._column.get(int(term))
            if column is None:
                continue
            lo, hi = self._indptr[column], self._indptr[column + 1]
            rows.append(self._rows[lo:hi])
            # float32 weight x float32 IDF, then summed in float64: the reference loop's precision.
            parts.append(self._values[lo:hi] * np.float32(self._idf[column]))
        if not rows:
            return []
        every = np.concatenate(rows)
        scores = np.bincount(every, weights=np.concatenate(parts).astype(np.float64), minlength=len(self.ids))
        touched = np.zeros(len(self.ids), dtype=bool)
        touched[every] = True
        mask = self._mask(filters)
        return _top(scores, touched if mask is None else touched & mask, limit)


_blas: Any = None


def _one_blas_thread() -> Any:
    """A context running BLAS on one thread: one matrix-vector product is latency-bound.

    OpenBLAS splits a 10k x 384 product over both cores. Alone that saves ~0.2 ms, but on
    a busy 2-core machine the second thread is often descheduled, and waiting for it made
    the product's p95 12 ms against 1.5 ms on one thread. Row dot products are computed
    by the same kernel either way, so the scores are identical. The controller is made
    once (finding the loaded BLAS libraries takes milliseconds); entering it costs ~6 us.
    """
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl comes with the rag extra
            _blas = False
    return _blas.limit(limits=1) if _blas else contextlib.nullcontext()


def _hashable(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


_QUERY_VECTORS: OrderedDict[str, np.ndarray] = OrderedDict()
_QUERY_VECTORS_MAX = 512  # 512 x 1.5 KB: a lesson's or an agent's questions, asked again


def query_vector(query: str) -> np.ndarray:
    """The query's embedding, remembered for the last few hundred distinct queries.

    The embedding is most of a query's cost (a MiniLM forward pass, ~8 ms of CPU against
    ~1 ms of scoring at 10k chunks), and lessons and agents ask the same question in
    several modes or again: a repeat costs a dict look-up. The vector is read-only.
    """
    with _memory_lock:
        vector = _QUERY_VECTORS.get(query)
        if vector is not None:
            _QUERY_VECTORS.move_to_end(query)
            return vector
    from labkit.rag.embeddings import embed

    vector = embed([query])[0]
    vector.flags.writeable = False
    with _memory_lock:
        _QUERY_VECTORS[query] = vector
        while len(_QUERY_VECTORS) > _QUERY_VECTORS_MAX:
            _QUERY_VECTORS.popitem(last=False)
    return vector


_memory: dict[tuple[str, str], _MemoryIndex] = {}
_memory_lock = threading.Lock()


class Searcher:
    """Queries one index (an alias) of one store."""

    def __init__(self, store: VectorStore, name: str) -> None:
        self.store = store
        self.name = name

    def _collection(self) -> str:
        physical = self.store.physical(self.name)
        if physical is None:
            raise LookupError(f"no index named {self.name!r} in {self.store.location}; build it first")
        return physical

    def _memory(self) -> _MemoryIndex:
        key = (self.store.location, self._collection())
        with _memory_lock:
            index = _memory.get(key)
            if index is None:
                # A new build is a new physical collection: older entries can go.
                for old in [k for k in _memory if k[0] == key[0]]:
                    del _memory[old]
                index = _memory[key] = _MemoryIndex(self.store, key[1])
            return index

    def _embed(self, query: str) -> np.ndarray:
        return query_vector(query)

    def search(
        self,
        query: str,
        *,
        mode: Mode = "hybrid",
        k: int = 10,
        filters: Filters | None = None,
        fusion: Fusion | None = None,
        query_vector: np.ndarray | None = None,
    ) -> list[Hit]:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        filters = filters or Filters()
        fusion = fusion or Fusion()
        if mode == "dense":
            vector = self._embed(query) if query_vector is None else query_vector
            return self._dense(vector, k, filters)
        if mode == "sparse":
            return self._sparse(query, k, filters)
        depth = max(k, fusion.candidates)
        vector = self._embed(query) if query_vector is None else query_vector
        dense = self._dense(vector, depth, filters)
        sparse = self._sparse(query, depth, filters)
        by_id = {h.id: h for h in (*sparse, *dense)}
        fused = rrf(
            [[h.id for h in dense], [h.id for h in sparse]],
            [fusion.dense_weight, fusion.sparse_weight],
            fusion.k,
        )
        return [
            Hit(**{**by_id[pid].__dict__, "score": score, "rank": rank})
            for rank, (pid, score) in enumerate(fused[:k], start=1)
        ]

    def _dense(self, vector: np.ndarray, limit: int, filters: Filters) -> list[Hit]:
        if self.store.local:
            index = self._memory()
            found = index.dense_search(vector, limit, filters)
            return [Hit.of(index.ids[i], s, index.payloads[i], r) for r, (i, s) in enumerate(found, start=1)]
        result = self.store.client.query_points(
            self._collection(),
            query=vector.tolist(),
            using=DENSE,
            limit=limit,
            query_filter=filters.to_qdrant(),
            with_payload=True,
        )
        return [Hit.of(p.id, p.score, p.payload or {}, r) for r, p in enumerate(result.points, start=1)]

    def _sparse(self, query: str, limit: int, filters: Filters) -> list[Hit]:
        encoded = BM25Encoder.encode_query(query)
        if not encoded.indices:
            return []
        if self.store.local:
            index = self._memory()
            found = index.sparse_search(encoded.indices, limit, filters)
            return [Hit.of(index.ids[i], s, index.payloads[i], r) for r, (i, s) in enumerate(found, start=1)]
        from qdrant_client import models

        result = self.store.client.query_points(
            self._collection(),
            query=models.SparseVector(indices=encoded.indices, values=encoded.values),
            using=SPARSE,
            limit=limit,
            query_filter=filters.to_qdrant(),
            with_payload=True,
        )
        return [Hit.of(p.id, p.score, p.payload or {}, r) for r, p in enumerate(result.points, start=1)]
