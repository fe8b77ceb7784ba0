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

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from labkit.rag.sparse import BM25Encoder
from labkit.rag.store import DENSE, SPARSE, VectorStore

__all__ = ["Filters", "Fusion", "Hit", "Mode", "Searcher", "rrf"]

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


class _MemoryIndex:
    """One local-mode collection's vectors in numpy (see the module docstring)."""

    def __init__(self, store: VectorStore, collection: str) -> None:
        ids: list[str] = []
        payloads: list[dict[str, Any]] = []
        dense: list[list[float]] = []
        postings: dict[int, tuple[list[int], list[float]]] = {}
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
                    for index, value in zip(sparse.indices, sparse.values, strict=True):
                        rows, values = postings.setdefault(int(index), ([], []))
                        rows.append(row)
                        values.append(float(value))
            if offset is None:
                break
        self.ids = ids
        self.payloads = payloads
        self.dense = np.asarray(dense, dtype=np.float32).reshape(len(ids), -1)
        self.postings = {
            t: (np.asarray(r), np.asarray(v, dtype=np.float32)) for t, (r, v) in postings.items()
        }

    def _mask(self, filters: Filters) -> np.ndarray | None:
        if not filters:
            return None
        return np.fromiter((filters.matches(p) for p in self.payloads), dtype=bool, count=len(self.ids))

    def _top(self, scores: np.ndarray, valid: np.ndarray, limit: int) -> list[tuple[int, float]]:
        candidates = np.flatnonzero(valid)
        if candidates.size == 0:
            return []
        chosen = candidates[np.argsort(-scores[candidates], kind="stable")[:limit]]
        return [(int(i), float(scores[i])) for i in chosen]

    def dense_search(self, vector: np.ndarray, limit: int, filters: Filters) -> list[tuple[int, float]]:
        scores = self.dense @ vector.astype(np.float32)
        mask = self._mask(filters)
        return self._top(scores, np.ones(len(self.ids), bool) if mask is None else mask, limit)

    def sparse_search(self, terms: Sequence[int], limit: int, filters: Filters) -> list[tuple[int, float]]:
        scores = np.zeros(len(self.ids), dtype=np.float64)
        touched = np.zeros(len(self.ids), dtype=bool)
        total = len(self.ids)
        for term in terms:
            posting = self.postings.get(int(term))
            if posting is None:
                continue
            rows, values = posting
            idf = math.log((total - rows.size + 0.5) / (rows.size + 0.5) + 1)
            np.add.at(scores, rows, values * idf)
            touched[rows] = True
        mask = self._mask(filters)
        return self._top(scores, touched if mask is None else touched & mask, limit)


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
        from labkit.rag.embeddings import embed

        return embed([query])[0]

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
