"""``SemanticCache``: answer a Messages request from an earlier answer to the same question.

One lookup: the request's scope and final user text (see ``_scope``) -> exact match
on the hash of the normalised text -> otherwise the embedding's nearest entries of the
same scope above ``threshold`` -> the first of them that passes verification (numbers,
named entities, negation, time words; see ``_text``) is a hit. A candidate above the
threshold that fails verification is a ``near_miss_rejected``.

Every failure of the cache itself (store unreachable or corrupted, embedding model
missing) is a ``result=error`` and a warning, never an exception: the caller then
calls the model (fail open).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from labkit.cache._metrics import CacheTelemetry, default_cache_telemetry
from labkit.cache._scope import RequestKey, request_key
from labkit.cache._store import Backing, Entry, Index, QdrantBacking
from labkit.cache._text import features, normalise, text_hash, verify
from labkit.config import Settings, load_settings

__all__ = ["CACHE_ID_PREFIX", "CacheLookup", "SemanticCache"]

_log = logging.getLogger(__name__)
CACHE_ID_PREFIX = "msg_cache_"
DEFAULT_THRESHOLD = 0.80
_CANDIDATES = 5  # near neighbours verified before giving up; later ones are rarely better
_NOT_CACHED_STOPS = frozenset({"tool_use", "refusal", "pause_turn"})

Embedder = Callable[[Sequence[str]], np.ndarray]


def _default_embedder(texts: Sequence[str]) -> np.ndarray:
    from labkit.rag.embeddings import embed

    return embed(list(texts))


@dataclass
class CacheLookup:
    """The outcome of one lookup; ``message`` is set on a hit."""

    result: str  # hit | miss | near_miss_rejected | bypass | error
    similarity: float | None = None
    entry: Entry | None = None
    message: Any = None
    reason: str | None = None  # why a near miss was rejected, or what failed
    exact: bool = False
    scope: str | None = None


def _usage_tokens(usage: Any) -> int:
    total = 0
    for name in ("input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens"):
        value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
        total += value if isinstance(value, int) and not isinstance(value, bool) else 0
    return total


def _check_policy(threshold: float, ttl_s: float, max_entries: int) -> None:
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if ttl_s <= 0:
        raise ValueError(f"ttl_s must be > 0, got {ttl_s}")
    if max_entries < 1:
        raise ValueError(f"max_entries must be >= 1, got {max_entries}")


class SemanticCache:
    """A semantic cache of Messages responses. Satisfies ``labkit.llm.tracked.ResponseCache``."""

    def __init__(
        self,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        ttl_s: float = 86_400.0,
        max_entries: int = 10_000,
        backing: Backing | None = None,
        embedder: Embedder | None = None,
        telemetry: CacheTelemetry | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        _check_policy(threshold, ttl_s, max_entries)
        self.threshold = threshold
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.backing = backing
        self.embedder = embedder or _default_embedder
        self.telemetry = telemetry or default_cache_telemetry()
        self.clock = clock
        self.index = Index()
        self.broken: str | None = None  # why the durable store is unusable (then every lookup errors)
        # Vectors computed by a lookup that missed, reused by the put that follows it.
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_lock = threading.Lock()
        if backing is not None:
            self._load()

    @classmethod
    def from_settings(
        cls,
        settings: Settings | None = None,
        *,
        backing_factory: Callable[[], Backing] | None = None,
        **kwargs: Any,
    ) -> SemanticCache:
        """The cache the settings describe, durable in the configured vector store
        (Qdrant local mode under the data dir when embedded, ``qdrant_url`` when live).

        A store that cannot be opened or read does not raise: the cache comes up broken,
        logs a warning, and every lookup counts ``result=error`` and goes to the model.
        """
        settings = settings or load_settings()
        options: dict[str, Any] = {
            "threshold": settings.cache_threshold,
            "ttl_s": settings.cache_ttl_s,
            "max_entries": settings.cache_max_entries,
        }
        options.update(kwargs)

        def open_qdrant() -> Backing:
            from labkit.rag.store import open_store

            return QdrantBacking(open_store(settings).client)

        broken = None
        try:
            options["backing"] = (backing_factory or open_qdrant)()
        except Exception as exc:  # any store failure means: fail open
            broken = f"cannot open the cache store: {exc}"
        cache = cls(**options)
        if broken:
            cache.broken = broken
            _log.warning("semantic cache disabled, calls go to the model: %s", broken)
        return cache

    def with_policy(self, *, threshold: float, ttl_s: float, max_entries: int) -> SemanticCache:
        """A view with its own threshold, TTL and size limit over this cache's entries and store.

        One process holds one index per store (loading it twice would let two copies drift
        apart); callers whose settings differ only in policy each get a view of it.
        """
        view = SemanticCache.__new__(SemanticCache)
        view.__dict__.update(self.__dict__)
        _check_policy(threshold, ttl_s, max_entries)
        view.threshold, view.ttl_s, view.max_entries = threshold, ttl_s, max_entries
        return view

    def original_id(self, message: Any) -> str | None:
        """The model's own message id behind ``message``: its id, or for a hit the id of the
        answer the hit's entry was stored from (None when that entry is gone)."""
        meta = getattr(message, "labkit_cache", None)
        if not isinstance(meta, Mapping):
            return str(getattr(message, "id", "")) or None
        entry = self.index.entries.get(str(meta.get("entry_id")))
        return None if entry is None else str(entry.response.get("id") or "") or None

    def __len__(self) -> int:
        return len(self.index)

    def __repr__(self) -> str:
        return (
            f"SemanticCache(entries={len(self)}, threshold={self.threshold}, ttl_s={self.ttl_s}, "
            f"max_entries={self.max_entries}{', broken' if self.broken else ''})"
        )

    def _load(self) -> None:
        assert self.backing is not None
        try:
            entries = self.backing.load()
        except Exception as exc:  # a corrupted or unreachable store: fail open
            self.broken = f"cannot read the cache store: {exc}"
            _log.warning("semantic cache disabled, calls go to the model: %s", self.broken)
            return
        now = self.clock()
        expired = []
        for entry in sorted(entries, key=lambda e: e.created):
            if now - entry.created > self.ttl_s:
                expired.append(entry.id)
            else:
                self.index.add(entry)
        self._evict(expired)

    # -- lookup ------------------------------------------------------------------------

    def lookup(self, request: Mapping[str, Any], *, agent: str | None = None) -> CacheLookup:
        """Look ``request`` up, counting and tracing the result."""
        model = str(request.get("model") or "")
        with self.telemetry.tracer.start_as_current_span("cache.lookup") as span:
            outcome = self._lookup(request)
            span.set_attribute("labkit.cache.result", outcome.result)
            if outcome.similarity is not None:
                span.set_attribute("labkit.cache.similarity", round(outcome.similarity, 6))
            span.set_attribute("labkit.cache.scope", outcome.scope or "none")
            if outcome.reason:
                span.set_attribute("labkit.cache.reason", outcome.reason)
        self.telemetry.count(outcome.result, agent, model)
        if outcome.result == "hit" and outcome.entry is not None:
            e = outcome.entry
            self.telemetry.saved(e.tokens, e.usd, e.equivalent_usd, agent, model)
        return outcome

    def _lookup(self, request: Mapping[str, Any]) -> CacheLookup:
        if self.broken:
            return CacheLookup("error", reason=self.broken)
        try:
            key = request_key(request)
            if key is None:
                return CacheLookup("bypass", reason="not cacheable (no final user text)")
            outcome = self._search(key)
            outcome.scope = key.scope
            return outcome
        except Exception as exc:  # the cache never breaks a call
            _log.warning("semantic cache lookup failed, calling the model: %s", exc)
            return CacheLookup("error", reason=f"{type(exc).__name__}: {exc}")

    def _search(self, key: RequestKey) -> CacheLookup:
        now = self.clock()
        norm = normalise(key.text)
        exact = text_hash(key.scope, norm)
        entry_id = self.index.exact.get(exact)
        if entry_id is not None:
            entry = self.index.entries.get(entry_id)
            if entry is not None and now - entry.created <= self.ttl_s:
                return self._hit(entry, 1.0, now, exact=True)
            self._evict([entry_id])
        vector = np.asarray(self.embedder([norm])[0], dtype=np.float32)
        with self._recent_lock:
            self._recent[exact] = vector
            while len(self._recent) > 256:
                self._recent.popitem(last=False)
        candidates = self.index.search(key.scope, vector, _CANDIDATES)
        best = candidates[0][0] if candidates else None
        wanted = features(key.text)
        rejected: str | None = None
        stale = []
        for score, entry in candidates:
            if score < self.threshold:
                break
            if now - entry.created > self.ttl_s:
                stale.append(entry.id)
                continue
            reason = verify(wanted, entry.features)
            if reason is None:
                self._evict(stale)
                return self._hit(entry, score, now)
            rejected = rejected or reason
        self._evict(stale)
        if rejected:
            return CacheLookup("near_miss_rejected", similarity=best, reason=rejected)
        return CacheLookup("miss", similarity=best)

    def _hit(self, entry: Entry, similarity: float, now: float, *, exact: bool = False) -> CacheLookup:
        from anthropic.types import Message

        self.index.touch(entry, now)
        data = dict(entry.response)
        data["id"] = CACHE_ID_PREFIX + entry.id.replace("-", "")[:24]
        # No new tokens were spent: the usage of a hit is zero; what it saved is in labkit_cache.
        data["usage"] = {
            "input_tokens": 0,
            "output_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation_input_tokens": 0,
        }
        data["labkit_cache"] = {
            "hit": True,
            "similarity": round(similarity, 6),
            "exact": exact,
            "entry_id": entry.id,
            "scope": entry.scope,
            "saved_tokens": entry.tokens,
            "saved_usd": entry.usd,
            "saved_live_equivalent_usd": entry.equivalent_usd,
        }
        message = Message.model_validate(data)
        return CacheLookup("hit", similarity=similarity, entry=entry, message=message, exact=exact)

    # -- the ResponseCache protocol of labkit.llm.TrackedClient ------------------------

    def get(self, request: Mapping[str, Any], *, agent: str | None = None) -> Any | None:
        """The cached Message for ``request``, or None (miss, rejected, error)."""
        return self.lookup(request, agent=agent).message

    def bypass(self, request: Mapping[str, Any], *, agent: str | None = None) -> None:
        """Count a call that skips the cache (streaming, ``labkit_cache=False``)."""
        self.telemetry.count("bypass", agent, str(request.get("model") or ""))

    def put(
        self,
        request: Mapping[str, Any],
        message: Any,
        *,
        agent: str | None = None,
        cost: Any = None,
        intent: str | None = None,
    ) -> Entry | None:
        """Store the model's answer to ``request``; None when not stored. Never raises."""
        if self.broken:
            return None
        try:
            return self._put(request, message, cost, intent)
        except Exception as exc:  # a failed write loses one entry, not the call
            _log.warning("semantic cache: could not store an entry: %s", exc)
            self.telemetry.count("error", agent, str(request.get("model") or ""))
            return None

    def _put(self, request: Mapping[str, Any], message: Any, cost: Any, intent: str | None) -> Entry | None:
        key = request_key(request)
        if key is None or getattr(message, "stop_reason", None) in _NOT_CACHED_STOPS:
            return None
        if str(getattr(message, "id", "")).startswith(CACHE_ID_PREFIX):
            return None  # a hit served back: already stored
        norm = normalise(key.text)
        exact = text_hash(key.scope, norm)
        with self._recent_lock:
            vector = self._recent.pop(exact, None)
        if vector is None:
            vector = np.asarray(self.embedder([norm])[0], dtype=np.float32)
        response = message.model_dump(mode="json", exclude_none=True)
        entry = Entry(
            scope=key.scope,
            exact=exact,
            text=norm,
            features=features(key.text),
            response=response,
            model=str(getattr(message, "model", None) or key.model),
            tokens=_usage_tokens(getattr(message, "usage", None)),
            usd=getattr(cost, "usd", None),
            equivalent_usd=getattr(cost, "live_equivalent_usd", None),
            created=self.clock(),
            vector=vector,
            intent=intent,
        )
        entry.used = entry.created
        replaced = self.index.add(entry)
        if self.backing is not None:
            self.backing.put(entry)
            if replaced:
                self.backing.delete(replaced)
        overflow = len(self.index) - self.max_entries
        if overflow > 0:
            self._evict(self.index.oldest(overflow))
        return entry

    def _evict(self, ids: list[str]) -> None:
        if not ids:
            return
        for entry_id in ids:
            self.index.remove(entry_id)
        if self.backing is not None and not self.broken:
            try:
                self.backing.delete(ids)
            except Exception as exc:  # stale points expire again on the next load
                _log.warning("semantic cache: could not delete evicted entries: %s", exc)

    def clear(self) -> None:
        """Drop every entry (and the durable collection's points)."""
        self.index.clear()  # in place: views of this cache share the index
        if self.backing is not None and not self.broken:
            self.backing.clear()
