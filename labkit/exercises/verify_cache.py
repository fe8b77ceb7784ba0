"""Verifiers for notebook 09's exercises (semantic caching); each replays or calls the cache live.

* ``threshold_meets_target``: the learner's threshold is replayed on the workload: it must
  give >= 70 % cost reduction at <= 1 % false hits.
* ``false_hit_explained``: the learner names one false hit (the request, the cached request
  whose answer it got, why they differ) and a fix. The verifier makes the calls itself through
  ``TrackedClient``: the pair must really be a false hit under the lesson's loose settings (the
  second answer *is* the first, same message id), the two must belong to different intent
  groups of the workload, ``why`` must name a difference the two texts really have, and under
  the fix the request must reach the model while the threshold target still holds.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = [
    "DIFFERENCES",
    "difference",
    "false_hit_explained",
    "find_false_hit",
    "intents_of",
    "served_from_cache",
    "threshold_meets_target",
]

Verify = Callable[[Any], tuple[bool, str]]
ClientFactory = Callable[[Any, Any, str], Any]

DIFFERENCES = ("number", "negation", "entity", "meaning")
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEGATIONS = frozenset(
    {"not", "no", "never", "without", "cannot", "can't", "don't", "doesn't", "isn't", "won't"}
)


def difference(query: str, cached: str) -> str:
    """The first kind of difference between two requests, in the order a verifier checks them."""
    if set(_NUMBER.findall(query)) != set(_NUMBER.findall(cached)):
        return "number"
    words = [set(re.findall(r"[a-z']+", t.lower())) for t in (query, cached)]
    if (words[0] & _NEGATIONS) != (words[1] & _NEGATIONS):
        return "negation"
    caps = [set(re.findall(r"(?<!^)(?<![.?!] )\b[A-Z][a-zA-Z]+", t)) for t in (query, cached)]
    if caps[0] != caps[1]:
        return "entity"
    return "meaning"


def intents_of(workload: Any) -> dict[str, str]:
    """query -> intent group (any workload shape :func:`labkit.cache.proof.workload_items` reads)."""
    from labkit.cache.proof import workload_items

    return dict(workload_items(workload))


def threshold_meets_target(
    workload: Any,
    *,
    min_reduction: float = 0.70,
    max_false_hits: float = 0.01,
    replay: Callable[..., Any] | None = None,
) -> Verify:
    """The answer, a similarity threshold, replayed on ``workload``, meets both targets."""

    def verify(threshold: Any) -> tuple[bool, str]:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0 < threshold <= 1:
            raise AssertionError(f"the threshold must be a number in (0, 1], got {threshold!r}")
        run = replay
        if run is None:
            from labkit.cache import replay as run
        report = run(workload, threshold=float(threshold))  # type: ignore[misc]
        reduction, false_hits = float(report.cost_reduction), float(report.false_hit_rate)
        detail = (
            f"threshold {threshold}: cost reduction {reduction:.1%} (need >= {min_reduction:.0%}), "
            f"false hits {false_hits:.2%} (need <= {max_false_hits:.0%}), hit rate {report.hit_rate:.1%}"
        )
        return reduction >= min_reduction and false_hits <= max_false_hits, detail

    return verify


def _default_client(settings: Any, telemetry: Any, agent: str) -> Any:
    from labkit.llm import TrackedClient

    return TrackedClient(agent=agent, telemetry=telemetry, settings=settings)


def _cache_settings(settings: Any, overrides: Mapping[str, Any]) -> Any:
    return settings.model_copy(update={"cache_enabled": True, **dict(overrides)})


def served_from_cache(
    first: str,
    second: str,
    *,
    settings: Any,
    overrides: Mapping[str, Any] | None = None,
    client_factory: ClientFactory | None = None,
    max_tokens: int = 120,
) -> bool:
    """Whether, in a fresh cache scope, asking ``second`` after ``first`` returns ``first``'s answer.

    The scope is fresh because the system prompt (part of every cache scope) carries a new
    nonce: entries of earlier runs can neither cause nor hide the hit. A hit is the same
    answer: the model answers each call with a new id, and the cache maps a hit's id back
    to the answer it serves.
    """
    from labkit.llm.telemetry import default_telemetry

    client = (client_factory or _default_client)(
        _cache_settings(settings, overrides or {}), default_telemetry(), "cache_exercise"
    )
    system = f"Answer briefly. (exercise scope {uuid.uuid4().hex[:8]})"
    try:
        a = client.call(first, max_tokens=max_tokens, system=system)
        b = client.call(second, max_tokens=max_tokens, system=system)
    finally:
        if client_factory is None:
            client.client.close()
    return _answer_of(client, b.message) == _answer_of(client, a.message) is not None


def _answer_of(client: Any, message: Any) -> str | None:
    """The id of the model answer behind ``message``: a hit carries an id of its own, and the
    cache maps it back to the answer its entry was stored from."""
    original_id = getattr(getattr(client, "cache", None), "original_id", None)
    if original_id is not None:
        return original_id(message)  # type: ignore[no-any-return]
    return str(getattr(message, "id", "")) or None


def find_false_hit(
    workload: Iterable[Any],
    *,
    settings: Any,
    overrides: Mapping[str, Any],
    client_factory: ClientFactory | None = None,
    limit: int = 400,
    max_tokens: int = 60,
) -> dict[str, str] | None:
    """Send the workload's first ``limit`` queries through the cache; the first answer served across intents.

    Returns ``{"query", "cached", "query_intent", "cached_intent"}`` or None.
    """
    from labkit.llm.telemetry import default_telemetry

    intents = intents_of(workload)
    client = (client_factory or _default_client)(
        _cache_settings(settings, overrides), default_telemetry(), "cache_exercise"
    )
    system = f"Answer briefly. (false-hit search {uuid.uuid4().hex[:8]})"
    asked_by_id: dict[str, str] = {}
    try:
        for query in list(intents)[:limit]:
            message = client.call(query, max_tokens=max_tokens, system=system).message
            mid = _answer_of(client, message)
            if mid is None:
                continue  # the entry it came from was evicted meanwhile: owner unknown
            cached = asked_by_id.setdefault(mid, query)
            if cached != query and intents[cached] != intents[query]:
                return {
                    "query": query,
                    "cached": cached,
                    "query_intent": intents[query],
                    "cached_intent": intents[cached],
                }
    finally:
        if client_factory is None:
            client.client.close()
    return None


def false_hit_explained(
    workload: Any,
    *,
    settings: Any,
    loose: Mapping[str, Any],
    threshold_check: Verify | None = None,
    client_factory: ClientFactory | None = None,
) -> Verify:
    """The answer: ``{"query", "cached", "why", "fix"}``; ``fix`` is a dict of ``cache_*`` settings.

    ``loose`` are the lesson's settings under which the false hit happens. ``threshold_check``
    (``threshold_meets_target(...)``) is applied to the fix's ``cache_threshold`` when it sets one.
    """
    intents = intents_of(workload)

    def verify(answer: Any) -> tuple[bool, str]:
        if not isinstance(answer, Mapping):
            raise AssertionError(f"the answer must be a dict with query, cached, why, fix; got {answer!r}")
        missing = [k for k in ("query", "cached", "why", "fix") if k not in answer]
        assert not missing, f"the answer lacks {missing}"
        query, cached, why, fix = answer["query"], answer["cached"], answer["why"], answer["fix"]
        assert query in intents and cached in intents, "query and cached must be queries of the workload"
        assert intents[query] != intents[cached], (
            f"both are intent {intents[query]!r}: serving one's answer to the other is a correct hit"
        )
        assert why in DIFFERENCES, f"why must be one of {DIFFERENCES}, got {why!r}"
        truth = difference(query, cached)
        assert why == truth, f"the two requests differ first by {truth!r}, not {why!r}"
        assert isinstance(fix, Mapping) and fix, "fix must be a non-empty dict of cache settings"
        bad = [k for k in fix if not str(k).startswith("cache_") or k == "cache_enabled"]
        assert not bad, f"fix may only change cache_* settings (not cache_enabled), got {bad}"
        factory: dict[str, Any] = {"client_factory": client_factory}
        assert served_from_cache(cached, query, settings=settings, overrides=loose, **factory), (
            f"under {dict(loose)} the cache does not serve {cached!r}'s answer to {query!r}: not a false hit"
        )
        fixed = {**dict(loose), **dict(fix)}
        if served_from_cache(cached, query, settings=settings, overrides=fixed, **factory):
            return False, f"with {dict(fix)} the cache still serves {cached!r}'s answer to {query!r}"
        detail = f"{query!r} no longer gets {cached!r}'s answer ({why} differs) with {dict(fix)}"
        if threshold_check is not None and "cache_threshold" in fix:
            ok, target = threshold_check(fix["cache_threshold"])
            return ok, f"{detail}; {target}"
        return True, detail

    return verify
