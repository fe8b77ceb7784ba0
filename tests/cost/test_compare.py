"""Prompt caching against semantic caching, with real calls to the offline model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from opentelemetry.sdk.trace import TracerProvider

from labkit.cache import compare as cmp
from labkit.llm import count_tokens

from .conftest import ExactCache, Stack

QUERIES = [f"How do I return order number {i}?" for i in range(6)] * 3  # 6 distinct, 18 requests


@pytest.fixture(scope="module")
def tracer() -> Iterator[TracerProvider]:
    provider = TracerProvider()
    yield provider
    provider.shutdown()


@pytest.fixture(scope="module")
def result(stack: Stack, tracer: TracerProvider) -> tuple[cmp.Comparison, list[ExactCache]]:
    caches: list[ExactCache] = []
    out = cmp.compare(
        QUERIES, settings=stack.settings, client_factory=stack.factory(caches), tracer_provider=tracer
    )
    return out, caches


def test_the_system_prompt_is_long_enough_to_be_cached() -> None:
    assert count_tokens(cmp.SYSTEM_PROMPT) >= 1024


def test_prompt_caching_reads_the_prefix_but_calls_every_time(result: tuple[cmp.Comparison, list]) -> None:
    out, _ = result
    rows = out.table.set_index("strategy")
    assert rows.loc["no cache", "cache_read_tokens"] == 0 and rows.loc["no cache", "cache_write_tokens"] == 0
    prompt = rows.loc["prompt cache"]
    assert prompt["model_calls"] == len(QUERIES)
    assert prompt["cache_read_tokens"] > 0
    # The prefix was already written by an earlier test run at most once; every other call reads it.
    assert prompt["cache_write_tokens"] <= count_tokens(cmp.SYSTEM_PROMPT) + 50
    assert prompt["output_tokens"] == rows.loc["no cache", "output_tokens"]  # the answers are not reused


def test_semantic_caching_skips_repeated_calls(result: tuple[cmp.Comparison, list]) -> None:
    out, caches = result
    rows = out.table.set_index("strategy")
    assert rows.loc["semantic cache", "model_calls"] == 6 and rows.loc["both", "model_calls"] == 6
    assert [c.enabled for c in caches] == [False, False, True, True]
    assert rows.loc["semantic cache", "output_tokens"] < rows.loc["no cache", "output_tokens"]
    # The counters agree with what the calls themselves reported.
    for strategy, cache in zip(cmp.STRATEGIES, caches, strict=True):
        assert rows.loc[strategy, "model_calls"] == len(cache.records)
        assert rows.loc[strategy, "cost_usd"] == pytest.approx(
            sum(r.cost.live_equivalent_usd for r in cache.records)
        )
        assert rows.loc[strategy, "output_tokens"] == sum(r.usage.output_tokens for r in cache.records)


def test_the_savings_order_and_add_up(result: tuple[cmp.Comparison, list]) -> None:
    out, _ = result
    saving = {s: out.saving(s) for s in cmp.STRATEGIES}
    assert saving["no cache"] == 0
    assert 0 < saving["prompt cache"] < 1 and 0 < saving["semantic cache"] < 1
    assert saving["both"] > max(saving["prompt cache"], saving["semantic cache"])
    assert list(out.table["saving"]) == pytest.approx(list(saving.values()))
    assert set(out.when.columns) == {"aspect", "prompt caching", "semantic caching"}


def test_no_queries_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="at least one query"):
        cmp.compare([])
