"""Build an index atomically: a new collection, filled and checked, then the alias moves.

``name`` is a Qdrant *alias*; each build writes a fresh physical collection
``<name>--<stamp>``. Only when every chunk is stored and the count checks out does one
``update_collection_aliases`` call move the alias (atomic on the server, a single
metadata write in local mode). A failed or interrupted build therefore leaves the
previous collection serving and nothing half-indexed visible; its leftover collection
is deleted by the next build.

Chunk ids are stable, so a rebuild copies the dense vectors of unchanged chunks from
the serving collection instead of embedding them again: re-indexing an unchanged
corpus costs no model time.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from labkit.rag.chunking import Chunk, ChunkingConfig, chunk_document
from labkit.rag.loaders import LoadReport, Skipped, load_corpus
from labkit.rag.sparse import BM25Encoder
from labkit.rag.store import DENSE, SPARSE, VectorStore

__all__ = ["IndexReport", "build_index", "index_chunks"]

BATCH = 256  # points per upsert (and per embedding call)


@dataclass
class IndexReport:
    name: str
    collection: str
    chunks: int
    documents: int
    embedded: int  # chunks whose vectors were computed (the others were reused)
    seconds: float
    skipped: list[Skipped] = field(default_factory=list)

    @property
    def chunks_per_s(self) -> float:
        return self.chunks / self.seconds if self.seconds else float("inf")


def _reusable(store: VectorStore, name: str, ids: list[str]) -> dict[str, list[float]]:
    current = store.physical(name)
    if current is None:
        return {}
    out: dict[str, list[float]] = {}
    for start in range(0, len(ids), 1024):
        for point in store.client.retrieve(current, ids[start : start + 1024], with_vectors=[DENSE]):
            vector = (point.vector or {}).get(DENSE) if isinstance(point.vector, dict) else None
            if vector is not None:
                out[str(point.id)] = vector
    return out


def _create(store: VectorStore, collection: str, dim: int) -> None:
    from qdrant_client import models

    store.client.create_collection(
        collection,
        vectors_config={DENSE: models.VectorParams(size=dim, distance=models.Distance.COSINE)},
        sparse_vectors_config={SPARSE: models.SparseVectorParams(modifier=models.Modifier.IDF)},
    )
    if not store.local:  # local mode has no payload indexes (and warns when asked for one)
        for key in ("source", "section", "tags"):
            store.client.create_payload_index(collection, key, models.PayloadSchemaType.KEYWORD)


def _cleanup(store: VectorStore, name: str, keep: set[str]) -> None:
    for description in store.client.get_collections().collections:
        if description.name.startswith(name + "--") and description.name not in keep:
            store.client.delete_collection(description.name)


def index_chunks(
    store: VectorStore,
    name: str,
    chunks: Sequence[Chunk],
    *,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[str, int]:
    """Write ``chunks`` to a new collection and point ``name`` at it; (collection, embedded)."""
    from qdrant_client import models

    if embed is None:
        from labkit.rag.embeddings import embed as embed_texts

        embed = embed_texts
    if not chunks:
        raise ValueError(f"nothing to index for {name!r}: no chunks")
    if len({c.id for c in chunks}) != len(chunks):
        raise ValueError("chunk ids must be unique")
    encoder = BM25Encoder().fit(c.text for c in chunks)
    reuse = _reusable(store, name, [c.id for c in chunks])
    serving = store.physical(name)
    collection = f"{name}--{time.strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:6]}"
    _cleanup(store, name, keep={serving} if serving else set())
    from labkit.rag.embeddings import EMBEDDING_DIM

    _create(store, collection, EMBEDDING_DIM)
    embedded = 0
    try:
        for start in range(0, len(chunks), BATCH):
            batch = chunks[start : start + BATCH]
            missing = [c for c in batch if c.id not in reuse]
            if missing:
                vectors = embed([c.text for c in missing])
                for chunk, vector in zip(missing, vectors, strict=True):
                    reuse[chunk.id] = vector.tolist()
                embedded += len(missing)
            points = []
            for chunk in batch:
                sparse = encoder.encode_document(chunk.text)
                points.append(
                    models.PointStruct(
                        id=chunk.id,
                        vector={
                            DENSE: reuse[chunk.id],
                            SPARSE: models.SparseVector(indices=sparse.indices, values=sparse.values),
                        },
                        payload=chunk.payload(),
                    )
                )
            store.client.upsert(collection, points, wait=True)
            if progress is not None:
                progress(min(start + BATCH, len(chunks)), len(chunks))
        stored = store.client.count(collection, exact=True).count
        if stored != len(chunks):
            raise RuntimeError(f"index {collection} holds {stored} points, expected {len(chunks)}")
        operations: list[Any] = []
        if serving is not None and serving != name:
            operations.append(models.DeleteAliasOperation(delete_alias=models.DeleteAlias(alias_name=name)))
        elif serving == name:  # a plain collection of that name is in the way of the alias
            raise RuntimeError(f"a collection named {name!r} exists; an index name must be free for an alias")
        operations.append(
            models.CreateAliasOperation(
                create_alias=models.CreateAlias(collection_name=collection, alias_name=name)
            )
        )
        store.client.update_collection_aliases(change_aliases_operations=operations)
    except BaseException:
        # Includes KeyboardInterrupt: the half-built collection goes, the old one keeps serving.
        try:
            store.client.delete_collection(collection)
        finally:
            raise
    if serving is not None and serving != collection:
        store.client.delete_collection(serving)
    return collection, embedded


def build_index(
    corpus: Path | str,
    *,
    store: VectorStore | None = None,
    name: str = "labkit-docs",
    chunking: ChunkingConfig | None = None,
    embed: Callable[[list[str]], np.ndarray] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> IndexReport:
    """Load, chunk, embed and store every indexable file under ``corpus``."""
    if store is None:
        from labkit.rag.store import open_store

        store = open_store()
    started = time.perf_counter()
    loaded: LoadReport = load_corpus(corpus)
    chunks: list[Chunk] = []
    for document in loaded.documents:
        chunks.extend(chunk_document(document, chunking))
    if not chunks:
        reasons = "; ".join(f"{s.path}: {s.reason}" for s in loaded.skipped[:5])
        raise ValueError(f"no indexable text under {corpus}" + (f" (skipped {reasons})" if reasons else ""))
    collection, embedded = index_chunks(store, name, chunks, embed=embed, progress=progress)
    return IndexReport(
        name=name,
        collection=collection,
        chunks=len(chunks),
        documents=len(loaded.documents),
        embedded=embedded,
        seconds=time.perf_counter() - started,
        skipped=loaded.skipped,
    )
