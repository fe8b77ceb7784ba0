"""SemanticCache on its own: scope, verification, exact path, TTL, eviction, durable store, fail open."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import anthropic.types
import pytest

from labkit.cache import CACHE_ID_PREFIX, SemanticCache
from labkit.cache._store import QdrantBacking
from labkit.cache._text import features, verify

from .conftest import BagOfWords, Telemetry


def req(text: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "labkit-offline-1",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": text}],
        **extra,
    }


def answer(text: str, tokens: tuple[int, int] = (10, 40)) -> anthropic.types.Message:
    return anthropic.types.Message.model_validate(
        {
            "id": "msg_test_1",
            "type": "message",
            "role": "assistant",
            "model": "labkit-offline-1",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": tokens[0], "output_tokens": tokens[1]},
        }
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_paraphrase_hits_with_an_sdk_message_marked_as_cached(make_cache: Any) -> None:
    cache = make_cache()
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    outcome = cache.lookup(req("how can I reverse a list in Python please"))
    assert outcome.result == "hit" and not outcome.exact
    message = outcome.message
    assert isinstance(message, anthropic.types.Message)
    assert message.id.startswith(CACHE_ID_PREFIX)
    assert message.content[0].text == "use reversed()"
    assert message.usage.input_tokens == 0 and message.usage.output_tokens == 0
    assert message.labkit_cache["hit"] is True and message.labkit_cache["saved_tokens"] == 50


def test_a_different_question_misses(make_cache: Any) -> None:
    cache = make_cache()
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    assert cache.lookup(req("what is the weather like on Mars")).result == "miss"


@pytest.mark.parametrize(
    "change",
    [
        {"model": "claude-haiku-5-5"},
        {"system": "Answer in French."},
        {"temperature": 0.9},
        {"max_tokens": 999},
        {"top_p": 0.5},
        {"stop_sequences": ["END"]},
        {"tools": [{"name": "calc", "description": "math", "input_schema": {"type": "object"}}]},
    ],
)
def test_a_hit_never_crosses_scopes(make_cache: Any, change: dict[str, Any]) -> None:
    cache = make_cache()
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    other = {**req("how do I reverse a list in Python"), **change}
    assert cache.lookup(other).result == "miss"  # not even the exact text crosses
    assert cache.lookup(req("how do I reverse a list in Python")).result == "hit"


def test_earlier_turns_are_part_of_the_scope(make_cache: Any) -> None:
    cache = make_cache()
    first = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": "I use Go."},
            {"role": "assistant", "content": "ok"},
            {"role": "user", "content": "how do I reverse a list"},
        ],
    }
    cache.put(first, answer("slices.Reverse"))
    assert cache.lookup(req("how do I reverse a list", model="m", max_tokens=10)).result == "miss"
    assert cache.lookup(first).result == "hit"


def test_metadata_does_not_change_the_scope(make_cache: Any) -> None:
    cache = make_cache()
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    hit = cache.lookup(req("how do I reverse a list in Python", metadata={"user_id": "u1"}))
    assert hit.result == "hit"


@pytest.mark.parametrize(
    ("stored", "asked", "reason"),
    [
        ("convert 5 km to miles", "convert 50 km to miles", "numbers differ"),
        ("convert five km to miles", "convert 6 km to miles", "numbers differ"),
        ("what is the capital of France", "what is the capital of Spain", "named entities differ"),
        ("how do I parse JSON in Python", "how do I parse JSON in Rust", "named entities differ"),
        ("which HTTP methods are idempotent", "which HTTP methods are not idempotent", "negation differs"),
        (
            "list the packages that are installed",
            "list the packages that aren't installed",
            "negation differs",
        ),
        ("weather in Oslo today", "weather in Oslo tomorrow", "time words differ"),
    ],
)
def test_near_misses_are_rejected_by_verification(
    make_cache: Any, stored: str, asked: str, reason: str
) -> None:
    cache = make_cache(threshold=0.5)  # let the candidate through the threshold; verification decides
    cache.put(req(stored), answer("stored answer"))
    outcome = cache.lookup(req(asked))
    assert outcome.result == "near_miss_rejected"
    assert outcome.reason == reason
    assert outcome.similarity is not None and outcome.similarity >= 0.5


def test_verification_accepts_what_only_looks_different() -> None:
    assert verify(features("What is the capital of France?"), features("france capital city")) is None
    assert verify(features("convert five km"), features("Convert 5 km please")) is None
    assert verify(features("Which types aren't mutable?"), features("which types are not mutable")) is None


def test_exact_match_skips_the_embedding(make_cache: Any, embedder: BagOfWords) -> None:
    cache = make_cache()
    cache.put(req("How do I reverse a list in Python?"), answer("use reversed()"))
    calls = embedder.calls
    outcome = cache.lookup(req("  how do I reverse a LIST in python  "))
    assert outcome.result == "hit" and outcome.exact and outcome.similarity == 1.0
    assert embedder.calls == calls


def test_entries_expire_after_the_ttl(make_cache: Any) -> None:
    clock = FakeClock()
    cache = make_cache(ttl_s=60, clock=clock)
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    clock.now += 59
    assert cache.lookup(req("how do I reverse a list in Python")).result == "hit"
    assert cache.lookup(req("how can I reverse a list in Python")).result == "hit"
    clock.now += 2
    assert cache.lookup(req("how can I reverse a list in Python")).result == "miss"
    assert cache.lookup(req("how do I reverse a list in Python")).result == "miss"
    assert len(cache) == 0


def test_the_least_recently_used_entry_is_evicted(make_cache: Any) -> None:
    cache = make_cache(max_entries=2)
    cache.put(req("alpha question one"), answer("a"))
    cache.put(req("beta question two"), answer("b"))
    assert cache.lookup(req("alpha question one")).result == "hit"  # alpha is now the most recent
    cache.put(req("gamma question three"), answer("c"))
    assert len(cache) == 2
    assert cache.lookup(req("beta question two")).result == "miss"
    assert cache.lookup(req("alpha question one")).result == "hit"
    assert cache.lookup(req("gamma question three")).result == "hit"


def test_not_cacheable_requests_bypass(make_cache: Any) -> None:
    cache = make_cache()
    tool_result = {
        "model": "m",
        "max_tokens": 10,
        "messages": [
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t", "content": "1"}]}
        ],
    }
    assert cache.lookup(tool_result).result == "bypass"
    assert cache.put(tool_result, answer("x")) is None


def test_counters_and_the_lookup_span(make_cache: Any, telemetry: Telemetry) -> None:
    cache = make_cache(threshold=0.5)
    cache.lookup(req("convert 5 km to miles"), agent="demo")
    cache.put(
        req("convert 5 km to miles"),
        answer("3.1 miles", (10, 40)),
        cost=type("C", (), {"usd": 0.0, "live_equivalent_usd": 0.00063})(),
    )
    cache.lookup(req("convert 5 km to miles"), agent="demo")
    cache.lookup(req("convert 50 km to miles"), agent="demo")
    cache.bypass(req("x"), agent="demo")
    assert telemetry.results() == {"miss": 1, "hit": 1, "near_miss_rejected": 1, "bypass": 1}
    (point,) = [p for p in telemetry.points("labkit.cache.requests") if p.attributes["result"] == "hit"]
    assert point.attributes["agent"] == "demo" and point.attributes["model"] == "labkit-offline-1"
    assert sum(p.value for p in telemetry.points("labkit.cache.saved.tokens")) == 50
    assert sum(p.value for p in telemetry.points("labkit.cache.saved.live_equivalent.usd")) == pytest.approx(
        0.00063
    )
    spans = [s for s in telemetry.spans.get_finished_spans() if s.name == "cache.lookup"]
    assert [s.attributes["labkit.cache.result"] for s in spans] == ["miss", "hit", "near_miss_rejected"]
    assert spans[1].attributes["labkit.cache.similarity"] == 1.0
    assert len({s.attributes["labkit.cache.scope"] for s in spans}) == 1


def test_prometheus_names_of_the_counters() -> None:
    from labkit.lgtm.metrics.translate import metric_name

    assert metric_name("labkit.cache.requests", "{request}", "counter") == "labkit_cache_requests_total"
    assert metric_name("labkit.cache.saved.tokens", "{token}", "counter") == "labkit_cache_saved_tokens_total"
    assert metric_name("labkit.cache.saved.usd", "{USD}", "counter") == "labkit_cache_saved_usd_total"
    assert (
        metric_name("labkit.cache.saved.live_equivalent.usd", "{USD}", "counter")
        == "labkit_cache_saved_live_equivalent_usd_total"
    )


def test_entries_survive_in_a_local_qdrant_store_and_keep_their_scope(
    tmp_path: Path, embedder: BagOfWords, telemetry: Telemetry
) -> None:
    from qdrant_client import QdrantClient

    client = QdrantClient(path=str(tmp_path / "qdrant"))
    try:
        cache = SemanticCache(
            threshold=0.7, backing=QdrantBacking(client), embedder=embedder, telemetry=telemetry.cache
        )
        cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
        cache.put(req("how do I reverse a list in Python", system="Be terse."), answer("reversed()"))
        again = SemanticCache(
            threshold=0.7, backing=QdrantBacking(client), embedder=embedder, telemetry=telemetry.cache
        )
        assert len(again) == 2
        plain = again.lookup(req("how can I reverse a list in Python"))
        terse = again.lookup(req("how can I reverse a list in Python", system="Be terse."))
        assert plain.message.content[0].text == "use reversed()"
        assert terse.message.content[0].text == "reversed()"
        assert again.lookup(req("how can I reverse a list in Python", system="Be verbose.")).result == "miss"
    finally:
        client.close()


def test_a_corrupted_store_fails_open_with_a_warning_and_an_error_count(
    tmp_path: Path, embedder: BagOfWords, telemetry: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    from qdrant_client import QdrantClient

    path = tmp_path / "qdrant"
    client = QdrantClient(path=str(path))
    cache = SemanticCache(backing=QdrantBacking(client), embedder=embedder, telemetry=telemetry.cache)
    cache.put(req("how do I reverse a list in Python"), answer("use reversed()"))
    client.close()
    for sqlite in path.glob("collection/*/storage.sqlite"):
        sqlite.write_bytes(b"not a database" * 64)

    class Reopened(QdrantBacking):
        def __init__(self) -> None:  # opening the folder is what fails on a corrupted store
            super().__init__(QdrantClient(path=str(path)))

    caplog.set_level(logging.WARNING, logger="labkit.cache")
    broken = SemanticCache.from_settings(
        _settings(tmp_path), backing_factory=Reopened, embedder=embedder, telemetry=telemetry.cache
    )
    assert broken.broken
    assert broken.lookup(req("how do I reverse a list in Python")).result == "error"
    assert broken.put(req("anything"), answer("x")) is None
    assert telemetry.results() == {"error": 1}
    assert any("calls go to the model" in r.getMessage() for r in caplog.records)


def test_a_store_that_fails_on_read_fails_open(embedder: BagOfWords, telemetry: Telemetry) -> None:
    class Unreadable:
        def load(self) -> list[Any]:
            raise ConnectionError("qdrant is down")

        def put(self, entry: Any) -> None: ...
        def delete(self, ids: list[str]) -> None: ...
        def clear(self) -> None: ...

    cache = SemanticCache(backing=Unreadable(), embedder=embedder, telemetry=telemetry.cache)
    assert cache.lookup(req("hello there")).result == "error"


def test_an_embedder_failure_is_an_error_result_not_an_exception(make_cache: Any) -> None:
    def broken(texts: Any) -> Any:
        raise RuntimeError("no model")

    cache = make_cache(embedder=broken)
    outcome = cache.lookup(req("hello there"))
    assert outcome.result == "error" and "no model" in (outcome.reason or "")


def test_bad_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="threshold"):
        SemanticCache(threshold=1.5)
    with pytest.raises(ValueError, match="max_entries"):
        SemanticCache(max_entries=0)


def _settings(tmp_path: Path) -> Any:
    from labkit.config import load_settings

    return load_settings(
        environ={}, config_file=None, cwd=Path("/"), backend="embedded", data_dir=str(tmp_path / "d")
    )
