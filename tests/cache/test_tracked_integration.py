"""TrackedClient gets the cache by configuration, against the local Messages API server."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import anthropic.types
import pytest

import labkit.cache._metrics as cache_metrics
from labkit.cache import CACHE_ID_PREFIX, SemanticCache
from labkit.config import Settings, load_settings
from labkit.llm import Budget, BudgetExceeded, LocalServer, TrackedClient
from labkit.llm.tracked import ResponseCache, reset_settings_cache
from labkit.rag.store import close_stores

from .conftest import BagOfWords, Telemetry, requests_seen

QUESTION = "How do I convert 5 km to miles?"


def ask(llm: TrackedClient, text: str, **extra: Any) -> Any:
    return llm.messages.create(
        model="labkit-offline-1", max_tokens=200, messages=[{"role": "user", "content": text}], **extra
    )


@pytest.fixture
def enabled(settings: Settings, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings with the cache on; the process-wide cache is built from them, on test telemetry."""
    monkeypatch.setattr(cache_metrics, "_default", telemetry.cache)
    reset_settings_cache()
    on = settings.model_copy(update={"cache_enabled": True, "cache_threshold": 0.8})
    yield on
    reset_settings_cache()
    close_stores()


def test_cache_is_off_by_default(settings: Settings, sdk: anthropic.Anthropic) -> None:
    assert settings.cache_enabled is False
    assert TrackedClient(sdk, settings=settings, budget=Budget(None, None)).cache is None


def test_settings_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        environ={
            "LABKIT_CACHE_ENABLED": "true",
            "LABKIT_CACHE_THRESHOLD": "0.9",
            "LABKIT_CACHE_TTL_S": "60",
            "LABKIT_CACHE_MAX_ENTRIES": "50",
        },
        config_file=None,
        cwd=Path("/"),
    )
    assert (
        settings.cache_enabled,
        settings.cache_threshold,
        settings.cache_ttl_s,
        settings.cache_max_entries,
    ) == (
        True,
        0.9,
        60.0,
        50,
    )


def test_an_enabled_cache_answers_a_paraphrase_without_calling_the_model(
    enabled: Settings, sdk: anthropic.Anthropic, server: LocalServer, telemetry: Telemetry
) -> None:
    llm = TrackedClient(
        sdk, agent="demo", settings=enabled, budget=Budget(None, None), telemetry=telemetry.llm
    )
    assert isinstance(llm.cache, SemanticCache) and isinstance(llm.cache, ResponseCache)
    first = ask(llm, QUESTION)
    assert requests_seen(server) == 1 and not first.id.startswith(CACHE_ID_PREFIX)
    again = ask(llm, "how many miles is 5 km")
    assert requests_seen(server) == 1  # served from the cache
    assert isinstance(again, anthropic.types.Message)
    assert again.id.startswith(CACHE_ID_PREFIX) and again.labkit_cache["hit"] is True
    assert again.content[0].text == first.content[0].text
    assert again.usage.input_tokens == 0 and again.usage.output_tokens == 0
    assert llm.last.usage.total == 0 and llm.last.cost is not None and llm.last.cost.usd == 0.0
    near = ask(llm, "How do I convert 50 km to miles?")
    assert requests_seen(server) == 2 and not near.id.startswith(CACHE_ID_PREFIX)
    assert telemetry.results() == {"miss": 1, "hit": 1, "near_miss_rejected": 1}
    saved = sum(p.value for p in telemetry.points("labkit.cache.saved.tokens"))
    assert saved == first.usage.input_tokens + first.usage.output_tokens


def test_the_entries_are_durable_under_the_data_dir(
    enabled: Settings, sdk: anthropic.Anthropic, server: LocalServer
) -> None:
    ask(TrackedClient(sdk, settings=enabled, budget=Budget(None, None)), QUESTION)
    reset_settings_cache()  # a new process would build a new cache from the same store
    again = ask(TrackedClient(sdk, settings=enabled, budget=Budget(None, None)), QUESTION)
    assert again.id.startswith(CACHE_ID_PREFIX) and requests_seen(server) == 1
    assert (enabled.data_dir / "qdrant").is_dir()


def test_per_call_opt_out_and_streaming_bypass(
    enabled: Settings, sdk: anthropic.Anthropic, server: LocalServer, telemetry: Telemetry
) -> None:
    llm = TrackedClient(sdk, settings=enabled, budget=Budget(None, None), telemetry=telemetry.llm)
    ask(llm, QUESTION)
    opted_out = ask(llm, QUESTION, labkit_cache=False)
    assert not opted_out.id.startswith(CACHE_ID_PREFIX) and requests_seen(server) == 2
    with ask(llm, QUESTION, stream=True) as stream:
        events = list(stream)
    assert events and requests_seen(server) == 3
    assert telemetry.results() == {"miss": 1, "bypass": 2}


def test_the_budget_stops_a_miss_but_not_a_hit(
    enabled: Settings, sdk: anthropic.Anthropic, server: LocalServer
) -> None:
    llm = TrackedClient(sdk, settings=enabled, budget=Budget(None, None))
    ask(llm, QUESTION)
    broke = TrackedClient(sdk, settings=enabled, budget=Budget(max_tokens_total=0))
    assert ask(broke, "how many miles is 5 km").id.startswith(CACHE_ID_PREFIX)
    with pytest.raises(BudgetExceeded):
        ask(broke, "What is the capital of Norway?")
    assert requests_seen(server) == 1


def test_a_broken_store_fails_open_through_tracked_client(
    settings: Settings, sdk: anthropic.Anthropic, server: LocalServer, telemetry: Telemetry, tmp_path: Path
) -> None:
    (tmp_path / "data").mkdir(parents=True, exist_ok=True)
    (tmp_path / "data" / "qdrant").write_text("a file where the store's folder should be")
    cache = SemanticCache.from_settings(settings, embedder=BagOfWords(), telemetry=telemetry.cache)
    try:
        assert cache.broken
        llm = TrackedClient(sdk, settings=settings, budget=Budget(None, None), cache=cache)
        first, second = ask(llm, QUESTION), ask(llm, QUESTION)
        assert requests_seen(server) == 2
        assert not second.id.startswith(CACHE_ID_PREFIX) and first.content[0].text
        assert telemetry.results() == {"error": 2}
    finally:
        close_stores()


def test_settings_differing_in_threshold_share_entries_but_not_the_threshold(
    enabled: Settings, sdk: anthropic.Anthropic, server: LocalServer
) -> None:
    # A verifier compares two thresholds in one process: each must really apply.
    loose = TrackedClient(
        sdk, settings=enabled.model_copy(update={"cache_threshold": 0.5}), budget=Budget(None, None)
    )
    strict = TrackedClient(
        sdk, settings=enabled.model_copy(update={"cache_threshold": 0.999}), budget=Budget(None, None)
    )
    assert (loose.cache.threshold, strict.cache.threshold) == (0.5, 0.999)  # type: ignore[union-attr]
    ask(loose, QUESTION)
    paraphrase = "how can I convert 5 km into miles"
    assert ask(strict, QUESTION).id.startswith(CACHE_ID_PREFIX)  # the exact path: one shared entry
    assert ask(loose, paraphrase).id.startswith(CACHE_ID_PREFIX)  # a hit stores nothing
    assert not ask(strict, paraphrase).id.startswith(CACHE_ID_PREFIX)
    assert requests_seen(server) == 2
