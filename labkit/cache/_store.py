"""Cache entries: an in-memory index for the search, and Qdrant as the durable store.

Why both: qdrant-client's local mode (the embedded backend) scans its points in
Python; at 10k points a filtered search took far longer than the cache's 5 ms lookup
budget. The cache therefore searches a numpy matrix per scope (one matrix-vector
product, about 1 ms at 10k x 384) and writes every entry through to Qdrant, which it
reads back when a process opens the cache. The same holds against a Qdrant server:
one process's new entries reach another process when that one (re)opens the cache.
The scope is a payload field in Qdrant and a separate matrix in memory, so a search
only ever sees entries of the request's own scope.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from labkit.cache._text import Features

__all__ = ["COLLECTION", "Backing", "Entry", "Index", "QdrantBacking"]

_log = logging.getLogger(__name__)
COLLECTION = "labkit-cache"
DIM = 384


@dataclass
class Entry:
    scope: str
    exact: str
    text: str  # normalised
    features: Features
    response: dict[str, Any]  # the SDK Message, as JSON
    model: str
    tokens: int
    usd: float | None
    equivalent_usd: float | None
    created: float
    vector: np.ndarray
    intent: str | None = None  # a label replay carries along; never used to decide a hit
    used: float = 0.0
    hits: int = 0
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def payload(self) -> dict[str, Any]:
        return {
            "scope": self.scope,
            "exact": self.exact,
            "text": self.text,
            "features": self.features.as_payload(),
            "response": self.response,
            "model": self.model,
            "tokens": self.tokens,
            "usd": self.usd,
            "equivalent_usd": self.equivalent_usd,
            "created": self.created,
            "intent": self.intent,
        }

    @classmethod
    def from_point(cls, point_id: Any, payload: dict[str, Any], vector: Any) -> Entry:
        vec = np.asarray(vector, dtype=np.float32)
        if vec.shape != (DIM,):
            raise ValueError(f"vector has shape {vec.shape}, expected ({DIM},)")
        return cls(
            scope=str(payload["scope"]),
            exact=str(payload["exact"]),
            text=str(payload["text"]),
            features=Features.from_payload(payload["features"]),
            response=dict(payload["response"]),
            model=str(payload["model"]),
            tokens=int(payload["tokens"]),
            usd=payload.get("usd"),
            equivalent_usd=payload.get("equivalent_usd"),
            created=float(payload["created"]),
            vector=vec,
            intent=payload.get("intent"),
            used=float(payload["created"]),
            id=str(point_id),
        )


class Backing(Protocol):
    """Where entries survive the process: load all, write one, delete some."""

    def load(self) -> list[Entry]: ...
    def put(self, entry: Entry) -> None: ...
    def delete(self, ids: list[str]) -> None: ...
    def clear(self) -> None: ...


class QdrantBacking:
    """Entries as points of one Qdrant collection (payload ``scope`` indexed on servers)."""

    def __init__(self, client: Any, collection: str = COLLECTION) -> None:
        self.client = client
        self.collection = collection
        self._ensure()

    def _ensure(self) -> None:
        from qdrant_client import models

        if not self.client.collection_exists(self.collection):
            self.client.create_collection(
                self.collection, vectors_config=models.VectorParams(size=DIM, distance=models.Distance.COSINE)
            )

    def load(self) -> list[Entry]:
        entries, offset = [], None
        while True:
            points, offset = self.client.scroll(
                self.collection, limit=512, offset=offset, with_payload=True, with_vectors=True
            )
            for point in points:
                try:
                    entries.append(Entry.from_point(point.id, dict(point.payload or {}), point.vector))
                except (KeyError, TypeError, ValueError) as exc:
                    # One bad point must not take the cache down: skip it, say so.
                    _log.warning("semantic cache: skipping corrupted entry %s (%s)", point.id, exc)
            if offset is None:
                return entries

    def put(self, entry: Entry) -> None:
        from qdrant_client import models

        self.client.upsert(
            self.collection,
            [models.PointStruct(id=entry.id, vector=entry.vector.tolist(), payload=entry.payload())],
        )

    def delete(self, ids: list[str]) -> None:
        from qdrant_client import models

        if ids:
            self.client.delete(self.collection, points_selector=models.PointIdsList(points=list(ids)))

    def clear(self) -> None:
        self.client.delete_collection(self.collection)
        self._ensure()


class _Matrix:
    """The vectors of one scope, rows in a growable array, removal by swapping the last row in."""

    def __init__(self) -> None:
        self.rows = np.zeros((16, DIM), dtype=np.float32)
        self.ids: list[str] = []
        self.row_of: dict[str, int] = {}

    def add(self, entry_id: str, vector: np.ndarray) -> None:
        n = len(self.ids)
        if n == len(self.rows):
            grown = np.zeros((2 * n, DIM), dtype=np.float32)
            grown[:n] = self.rows
            self.rows = grown
        self.rows[n] = vector
        self.ids.append(entry_id)
        self.row_of[entry_id] = n

    def remove(self, entry_id: str) -> None:
        row = self.row_of.pop(entry_id)
        last = len(self.ids) - 1
        if row != last:
            moved = self.ids[last]
            self.rows[row] = self.rows[last]
            self.ids[row] = moved
            self.row_of[moved] = row
        self.ids.pop()

    def top(self, vector: np.ndarray, k: int) -> list[tuple[float, str]]:
        n = len(self.ids)
        if n == 0:
            return []
        scores = self.rows[:n] @ vector
        k = min(k, n)
        best = np.argpartition(-scores, k - 1)[:k] if n > k else np.arange(n)
        best = best[np.argsort(-scores[best])]
        return [(float(scores[i]), self.ids[i]) for i in best]


class Index:
    """Entries in LRU order, the exact-match table, one matrix per scope. Thread-safe."""

    def __init__(self) -> None:
        self.entries: OrderedDict[str, Entry] = OrderedDict()
        self.exact: dict[str, str] = {}
        self.scopes: dict[str, _Matrix] = {}
        self.lock = threading.RLock()

    def __len__(self) -> int:
        return len(self.entries)

    def add(self, entry: Entry) -> list[str]:
        """Add (replacing an entry with the same exact key); the ids it replaced."""
        with self.lock:
            replaced = []
            old = self.exact.get(entry.exact)
            if old is not None:
                self.remove(old)
                replaced.append(old)
            self.entries[entry.id] = entry
            self.exact[entry.exact] = entry.id
            self.scopes.setdefault(entry.scope, _Matrix()).add(entry.id, entry.vector)
            return replaced

    def clear(self) -> None:
        with self.lock:
            self.entries.clear()
            self.exact.clear()
            self.scopes.clear()

    def remove(self, entry_id: str) -> None:
        with self.lock:
            entry = self.entries.pop(entry_id, None)
            if entry is None:
                return
            if self.exact.get(entry.exact) == entry_id:
                del self.exact[entry.exact]
            matrix = self.scopes[entry.scope]
            matrix.remove(entry_id)
            if not matrix.ids:
                del self.scopes[entry.scope]

    def touch(self, entry: Entry, now: float) -> None:
        with self.lock:
            entry.used = now
            entry.hits += 1
            if entry.id in self.entries:
                self.entries.move_to_end(entry.id)

    def oldest(self, count: int) -> list[str]:
        with self.lock:
            return [entry_id for entry_id, _ in zip(self.entries, range(count), strict=False)]

    def search(self, scope: str, vector: np.ndarray, k: int) -> list[tuple[float, Entry]]:
        with self.lock:
            matrix = self.scopes.get(scope)
            if matrix is None:
                return []
            return [(score, self.entries[i]) for score, i in matrix.top(vector, k)]
