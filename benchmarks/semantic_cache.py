"""Semantic cache speed and savings: lookup latency at 10k entries, replay throughput, savings.

    python benchmarks/semantic_cache.py [--entries 10000] [--lookups 500] [--no-qdrant]

* lookup p50/p95 at ``--entries`` entries of one scope, *without* the embedding (vectors
  precomputed; the search, verification and Message construction only; target <= 5 ms)
  and *with* it (one all-MiniLM-L6-v2 call per lookup on the CPU; target <= 20 ms);
* for comparison, the same search done by qdrant-client local mode with the scope filter
  (why the cache searches an in-memory matrix and keeps Qdrant as the durable store),
  and the cost of one durable write (``put`` into local-mode Qdrant);
* replay throughput and hit / false-hit / cost reduction on the shipped workload and on the
  held-out one, misses answered by the offline model through the local Messages API server.
The 10k entries are the workloads' real query vectors, repeated with small noise.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from labkit.cache import HELDOUT_WORKLOAD, SHIPPED_WORKLOAD, SemanticCache, load_workload, replay
from labkit.cache._store import QdrantBacking
from labkit.cache._text import normalise
from labkit.cache.replay import _quiet_telemetry
from labkit.config import load_settings
from labkit.rag.embeddings import embed

TARGET_NO_EMBED_MS = 5.0
TARGET_WITH_EMBED_MS = 20.0


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values), q))


class Table:
    def __init__(self, table: dict[str, np.ndarray]) -> None:
        self.table = table

    def __call__(self, texts: Sequence[str]) -> np.ndarray:
        return np.stack([self.table[t] for t in texts])


def _request(text: str) -> dict[str, object]:
    return {"model": "labkit-offline-1", "max_tokens": 300, "messages": [{"role": "user", "content": text}]}


def _answer() -> object:
    import anthropic.types

    return anthropic.types.Message.model_validate(
        {
            "id": "msg_bench",
            "type": "message",
            "role": "assistant",
            "model": "labkit-offline-1",
            "content": [{"type": "text", "text": "a cached answer of a few words"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 12, "output_tokens": 48},
        }
    )


def _fill(cache: SemanticCache, texts: list[str], vectors: np.ndarray, n: int) -> list[str]:
    rng = np.random.default_rng(7)
    message = _answer()
    stored = []
    for i in range(n):
        base = i % len(texts)
        text = texts[base] if i < len(texts) else f"{texts[base]} variant {i}"
        vector = vectors[base] + (rng.normal(0, 0.02, vectors.shape[1]) if i >= len(texts) else 0)
        vector = (vector / np.linalg.norm(vector)).astype(np.float32)
        cache.embedder.table[normalise(text)] = vector  # type: ignore[attr-defined]
        cache.put(_request(text), message)
        stored.append(text)
    return stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=10_000)
    parser.add_argument("--lookups", type=int, default=500)
    parser.add_argument("--no-qdrant", action="store_true", help="skip the local-mode Qdrant comparison")
    args = parser.parse_args()
    print("figures measured on a shared, loaded machine: compare ratios, not absolute numbers")
    started = time.perf_counter()
    embed(["warm up"])
    print(f"model load: {time.perf_counter() - started:.1f} s")

    everything = load_workload(SHIPPED_WORKLOAD) + load_workload(HELDOUT_WORKLOAD)
    queries = sorted({normalise(i.query) for i in everything})  # distinct entries, not exact repeats
    normalised = queries
    vectors = embed(normalised)
    table = dict(zip(normalised, vectors, strict=True))
    cache = SemanticCache(
        threshold=0.8, max_entries=args.entries, embedder=Table(table), telemetry=_quiet_telemetry()
    )
    t0 = time.perf_counter()
    _fill(cache, queries, vectors, args.entries)
    print(f"filled {len(cache)} entries (in memory) in {time.perf_counter() - t0:.1f} s")

    # Lookups of unseen paraphrase-like texts (never the exact path): a suffix the cache has not seen.
    rng = np.random.default_rng(3)
    picks = [queries[int(i)] for i in rng.integers(0, len(queries), args.lookups)]
    asked = [f"{q} - asking again" for q in picks]
    asked_vectors = embed([normalise(a) for a in asked])
    for text, vector in zip(asked, asked_vectors, strict=True):
        table[normalise(text)] = vector
    no_embed, results = [], {}
    for text in asked:
        t = time.perf_counter()
        outcome = cache.lookup(_request(text))
        no_embed.append((time.perf_counter() - t) * 1000)
        results[outcome.result] = results.get(outcome.result, 0) + 1
    p95 = _percentile(no_embed, 95)
    verdict = "met" if p95 <= TARGET_NO_EMBED_MS else "MISSED"
    print(
        f"lookup without embedding at {len(cache)} entries: p50 {_percentile(no_embed, 50):.2f} ms, "
        f"p95 {p95:.2f} ms (target <= {TARGET_NO_EMBED_MS:.0f} ms, {verdict}); results {results}"
    )

    cache.embedder = lambda texts: embed(list(texts))
    with_embed = []
    for text in asked[: min(200, len(asked))]:
        t = time.perf_counter()
        cache.lookup(_request(text + " once more"))
        with_embed.append((time.perf_counter() - t) * 1000)
    p95 = _percentile(with_embed, 95)
    print(
        f"lookup with embedding at {len(cache)} entries: p50 {_percentile(with_embed, 50):.2f} ms, "
        f"p95 {p95:.2f} ms (target <= {TARGET_WITH_EMBED_MS:.0f} ms, "
        f"{'met' if p95 <= TARGET_WITH_EMBED_MS else 'MISSED'})"
    )

    if not args.no_qdrant:
        _qdrant_comparison(cache, asked_vectors[:50])

    settings = load_settings()
    for path in (SHIPPED_WORKLOAD, HELDOUT_WORKLOAD):
        report = replay(path, settings=settings)
        print(
            f"replay {path.name}: {report.n_queries} queries in {report.seconds:.1f} s = "
            f"{report.queries_per_s:.0f} queries/s (misses via the local Messages API server); threshold "
            f"{report.threshold:.2f}: hit rate {report.hit_rate:.1%}, "
            f"false-hit rate {report.false_hit_rate:.2%}, "
            f"cost reduction {report.cost_reduction:.1%} (target >= 70% at <= 1% false hits)"
        )


def _qdrant_comparison(cache: SemanticCache, vectors: np.ndarray) -> None:
    from qdrant_client import QdrantClient, models

    with tempfile.TemporaryDirectory() as tmp:
        client = QdrantClient(path=str(Path(tmp) / "qdrant"))
        try:
            backing = QdrantBacking(client)
            entries = list(cache.index.entries.values())
            t0 = time.perf_counter()
            for start in range(0, len(entries), 256):
                client.upsert(
                    backing.collection,
                    [
                        models.PointStruct(id=e.id, vector=e.vector.tolist(), payload=e.payload())
                        for e in entries[start : start + 256]
                    ],
                )
            seconds = time.perf_counter() - t0
            print(f"local-mode Qdrant: wrote {len(entries)} entries in {seconds:.1f} s (batched)")
            scope = entries[0].scope
            flt = models.Filter(
                must=[models.FieldCondition(key="scope", match=models.MatchValue(value=scope))]
            )
            times = []
            for vector in vectors:
                t = time.perf_counter()
                client.query_points(backing.collection, query=vector.tolist(), query_filter=flt, limit=5)
                times.append((time.perf_counter() - t) * 1000)
            print(
                f"local-mode Qdrant search with the scope filter at {len(entries)} points: "
                f"p50 {_percentile(times, 50):.1f} ms, p95 {_percentile(times, 95):.1f} ms "
                "(the in-memory matrix above is what the cache uses)"
            )
            durable = SemanticCache(backing=backing, embedder=cache.embedder, telemetry=_quiet_telemetry())
            t = time.perf_counter()
            for i in range(50):
                durable.put(_request(f"durable write number {i}"), _answer())
            per_entry = (time.perf_counter() - t) * 1000 / 50
            print(f"durable put into local-mode Qdrant: {per_entry:.1f} ms per entry")
        finally:
            client.close()


if __name__ == "__main__":
    main()
