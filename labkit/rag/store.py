"""The vector store: Qdrant through ``qdrant-client``, local mode or a server.

* ``backend = embedded``: qdrant-client's local mode, on disk under
  ``<data_dir>/qdrant`` (no server process, survives restarts).
* ``backend = live``: the Qdrant server at ``settings.qdrant_url`` (``qdrant`` in the
  AI-system compose stack). A server that does not answer is an error naming the URL
  and the command that starts it; labkit never falls back silently.
* ``backend = auto``: the server when it answers, local mode otherwise (and says which).

Local mode locks its folder: one process at a time. Every caller in a process shares
one client per location through :func:`open_store`.
"""

from __future__ import annotations

import atexit
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from labkit.config import Backend, Settings, load_settings

__all__ = ["START_QDRANT", "StoreError", "VectorStore", "close_stores", "open_store"]

START_QDRANT = "docker compose -f stacks/ai-system/compose.yaml --profile vectors up -d qdrant"
DENSE = "dense"
SPARSE = "bm25"

_lock = threading.Lock()
_stores: dict[str, VectorStore] = {}


class StoreError(RuntimeError):
    """The vector store cannot be reached or opened; the message says what to do."""


@dataclass
class VectorStore:
    client: Any  # qdrant_client.QdrantClient
    backend: str  # "embedded" | "live"
    location: str  # folder (embedded) or URL (live)
    reason: str

    @property
    def local(self) -> bool:
        return self.backend == "embedded"

    def physical(self, name: str) -> str | None:
        """The collection an alias (or a plain collection name) points at, or None."""
        for alias in self.client.get_aliases().aliases:
            if alias.alias_name == name:
                return str(alias.collection_name)
        return name if self.client.collection_exists(name) else None

    def close(self) -> None:
        self.client.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url.rstrip("/") + "/readyz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def _open_live(url: str, reason: str) -> VectorStore:
    from qdrant_client import QdrantClient

    if not _answers(url):
        raise StoreError(
            f"no Qdrant server answers at {url} (backend=live). Start it with `{START_QDRANT}`, "
            "point LABKIT_QDRANT_URL at a running server, or use backend=embedded for local mode"
        )
    return VectorStore(QdrantClient(url=url, timeout=30), "live", url, reason)


def _open_local(path: Path, reason: str) -> VectorStore:
    from qdrant_client import QdrantClient

    path.mkdir(parents=True, exist_ok=True)
    try:
        client = QdrantClient(path=str(path))
    except RuntimeError as exc:  # portalocker: another process holds the folder
        raise StoreError(
            f"the local Qdrant folder {path} is in use by another process ({exc}); close that "
            "process (a notebook kernel?) or run a Qdrant server and use backend=live"
        ) from exc
    return VectorStore(client, "embedded", str(path), reason)


def open_store(settings: Settings | None = None) -> VectorStore:
    """The process-wide store for the configured backend."""
    settings = settings or load_settings()
    if settings.backend == Backend.LIVE:
        key, opener = settings.qdrant_url, lambda: _open_live(settings.qdrant_url, "backend=live")
    elif settings.backend == Backend.AUTO and _answers(settings.qdrant_url):
        key = settings.qdrant_url
        opener = lambda: _open_live(settings.qdrant_url, "backend=auto and a Qdrant server answers")  # noqa: E731
    else:
        path = (settings.data_dir / "qdrant").resolve()
        reason = "backend=embedded" if settings.backend == Backend.EMBEDDED else "backend=auto, no server"
        key, opener = str(path), lambda: _open_local(path, reason)
    with _lock:
        store = _stores.get(key)
        if store is None:
            if not _stores:
                # Close before interpreter teardown: local mode's __del__ fails late in shutdown.
                atexit.register(close_stores)
            store = _stores[key] = opener()
        return store


def close_stores() -> None:
    """Close every store this process opened (releases local mode's folder lock)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
