"""Atomic index builds, stable ids across rebuilds, search modes, filters, store errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from qdrant_client import models

from labkit.config import load_settings
from labkit.rag import search as search_module
from labkit.rag.embeddings import embed
from labkit.rag.index import build_index
from labkit.rag.search import Filters, Fusion, Searcher, rrf
from labkit.rag.store import StoreError, VectorStore, open_store

from .conftest import write_corpus


def _ids(store: VectorStore, name: str) -> set[str]:
    points, _ = store.client.scroll(name, limit=1000)
    return {str(p.id) for p in points}


def test_build_reports_chunks_and_skipped_files(store: VectorStore, corpus: Path) -> None:
    (corpus / "bad.txt").write_bytes(b"\x00\x00")
    report = build_index(corpus, store=store, name="t")
    assert report.documents == 4 and report.chunks >= 6 and report.embedded == report.chunks
    assert [(s.path, "binary" in s.reason) for s in report.skipped] == [("bad.txt", True)]
    assert store.client.count("t").count == report.chunks


def test_rebuilding_unchanged_text_keeps_ids_and_reuses_vectors(store: VectorStore, corpus: Path) -> None:
    first = build_index(corpus, store=store, name="t")
    ids = _ids(store, "t")
    second = build_index(corpus, store=store, name="t")
    assert second.embedded == 0 and _ids(store, "t") == ids
    assert second.collection != first.collection
    # The old physical collection is gone; only the serving one remains.
    names = [c.name for c in store.client.get_collections().collections]
    assert names == [second.collection]


def test_an_interrupted_build_leaves_the_previous_index_serving(store: VectorStore, corpus: Path) -> None:
    build_index(corpus, store=store, name="t")
    before = _ids(store, "t")
    serving = store.physical("t")
    (corpus / "guide" / "new.md").write_text("# New\n\nA brand new page about dashboards.\n")

    def failing_embed(texts: list[str]) -> np.ndarray:
        raise KeyboardInterrupt  # the learner pressed stop mid-build

    with pytest.raises(KeyboardInterrupt):
        build_index(corpus, store=store, name="t", embed=failing_embed)
    assert store.physical("t") == serving and _ids(store, "t") == before
    assert [c.name for c in store.client.get_collections().collections] == [serving]
    hits = Searcher(store, "t").search("dashboards page", k=3)
    assert all(h.source != "guide/new.md" for h in hits)


def test_modes_find_the_right_document(store: VectorStore, corpus: Path) -> None:
    build_index(corpus, store=store, name="t")
    searcher = Searcher(store, "t")
    for mode in ("dense", "sparse", "hybrid"):
        hits = searcher.search("how long are old log lines kept?", mode=mode, k=3)  # type: ignore[arg-type]
        assert hits[0].source == "guide/logs.md", (mode, hits)
        assert [h.rank for h in hits] == list(range(1, len(hits) + 1))
    assert searcher.search("bread oven", mode="sparse", k=1)[0].source == "notes/cooking.txt"
    assert searcher.search("zzzunknownword", mode="sparse", k=3) == []


def test_payload_filters(store: VectorStore, corpus: Path) -> None:
    build_index(corpus, store=store, name="t")
    searcher = Searcher(store, "t")
    only_setup = searcher.search("ports", k=10, filters=Filters.of(source="guide/setup.md"))
    assert only_setup and {h.source for h in only_setup} == {"guide/setup.md"}
    tagged = searcher.search("anything", k=10, filters=Filters.of(tags=["guide"]))
    assert {h.source for h in tagged} == {"guide/setup.md", "guide/logs.md"}
    section = searcher.search("port", k=10, filters=Filters.of(section="Setup > Ports"))
    assert {h.section for h in section} == {"Setup > Ports"}


def test_numpy_scoring_equals_qdrant_local_mode(store: VectorStore, corpus: Path) -> None:
    """The local-mode fast path gives Qdrant's own rankings and scores (dense and BM25 with IDF)."""
    build_index(corpus, store=store, name="t")
    searcher = Searcher(store, "t")
    physical = store.physical("t")
    query = "where does Loki keep log lines and for how long"
    vector = embed([query])[0]
    ours = searcher.search(query, mode="dense", k=5, query_vector=vector)
    theirs = store.client.query_points(physical, query=vector.tolist(), using="dense", limit=5).points
    assert [h.id for h in ours] == [str(p.id) for p in theirs]
    np.testing.assert_allclose([h.score for h in ours], [p.score for p in theirs], rtol=1e-4)
    encoded = search_module.BM25Encoder.encode_query(query)
    sparse = models.SparseVector(indices=encoded.indices, values=encoded.values)
    ours_sparse = searcher.search(query, mode="sparse", k=5)
    theirs_sparse = store.client.query_points(physical, query=sparse, using="bm25", limit=5).points
    assert [h.id for h in ours_sparse] == [str(p.id) for p in theirs_sparse]
    np.testing.assert_allclose([h.score for h in ours_sparse], [p.score for p in theirs_sparse], rtol=1e-4)


def test_rrf_formula_and_weights() -> None:
    fused = dict(rrf([["a", "b"], ["b", "c"]], [1.0, 1.0], k=60))
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)
    assert fused["a"] == pytest.approx(1 / 61) and fused["c"] == pytest.approx(1 / 62)
    dense_only = rrf([["a", "b"], ["b", "c"]], [1.0, 0.0], k=60)
    assert [pid for pid, _ in dense_only][:2] == ["a", "b"]
    with pytest.raises(ValueError):
        Fusion(candidates=0)


def test_unknown_index_and_bad_arguments(store: VectorStore) -> None:
    with pytest.raises(LookupError, match="no index named 'missing'"):
        Searcher(store, "missing").search("x")
    with pytest.raises(ValueError, match="mode"):
        Searcher(store, "missing").search("x", mode="fuzzy")  # type: ignore[arg-type]


def test_a_down_server_names_the_url_and_how_to_start_it(tmp_path: Path) -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    settings = load_settings(
        environ={}, config_file=None, cwd=Path("/"), backend="live", qdrant_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(StoreError, match=rf"127\.0\.0\.1:{port}.*docker compose .* qdrant"):
        open_store(settings)


def test_an_empty_corpus_is_an_error(store: VectorStore, tmp_path: Path) -> None:
    root = write_corpus(tmp_path / "c", {"a.md": "  ", "b.bin": b"\x00"})
    with pytest.raises(ValueError, match="no indexable text"):
        build_index(root, store=store, name="t")
