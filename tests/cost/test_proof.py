"""The before/after proof reads each phase's cost from PromQL, and it matches what was sent."""

from __future__ import annotations

import math

import pytest

from labkit.cache import proof
from labkit.observe import Mimir

from .conftest import ExactCache, Stack

QUERIES = [f"What is the capital of country number {i}?" for i in range(8)] * 4  # 8 distinct, 32 calls


@pytest.fixture(scope="module")
def result(stack: Stack) -> tuple[proof.Proof, list[ExactCache]]:
    caches: list[ExactCache] = []
    out = proof.prove(QUERIES, settings=stack.settings, client_factory=stack.factory(caches), pause_s=0.1)
    return out, caches


def test_each_phase_cost_comes_from_promql_and_matches_the_calls(
    result: tuple[proof.Proof, list[ExactCache]],
) -> None:
    out, caches = result
    assert list(out.table["phase"]) == ["no cache", "cache"]
    assert [c.enabled for c in caches] == [False, True]
    for (_, row), cache in zip(out.table.iterrows(), caches, strict=True):
        sent = sum(r.cost.live_equivalent_usd for r in cache.records)
        assert row["calls"] == len(QUERIES)
        assert row["cost_usd"] == pytest.approx(sent, rel=1e-9)
        assert row["tokens"] == sum(r.usage.total for r in cache.records)
    assert len(caches[1].records) == 8 and caches[1].hits == 24


def test_reduction_is_the_ratio_of_the_phase_costs(result: tuple[proof.Proof, list[ExactCache]]) -> None:
    out, _ = result
    before, after = out.table["cost_usd"]
    assert before > 0 and after > 0
    assert out.reduction == pytest.approx(1 - after / before)
    # 8 of 32 calls reach the model; the queries are alike in length, so about 75%.
    assert 0.70 < out.reduction < 0.80
    assert out.as_dict()["reduction"] == out.reduction
    assert 'instance="' + out.run_id + '/cache"' in out.queries["cache"]


def test_the_phase_query_is_plain_promql_a_learner_can_rerun(
    stack: Stack, result: tuple[proof.Proof, list[ExactCache]]
) -> None:
    out, _ = result
    frame = Mimir(settings=stack.settings).query(proof.phase_query(out.run_id, "no cache", window_s=600))
    assert float(frame["value"].sum()) == pytest.approx(out.table["cost_usd"][0])
    # Another run's id matches nothing: phases of different runs never mix.
    assert Mimir(settings=stack.settings).query(proof.phase_query("other", "cache")).empty


def test_reduction_is_nan_when_nothing_was_spent() -> None:
    import pandas as pd

    empty = proof.Proof("x", pd.DataFrame({"phase": list(proof.PHASES), "cost_usd": [0.0, 0.0]}))
    assert math.isnan(empty.reduction)


def test_phase_settings_switch_the_cache_even_without_the_field() -> None:
    from labkit.config import load_settings

    base = load_settings(environ={}, config_file=None)
    on = proof.phase_settings(base, cache=True, threshold=0.9)
    assert on.cache_enabled is True and on.cache_threshold == 0.9
    assert proof.phase_settings(base, cache=False).cache_enabled is False


def test_no_queries_is_a_clear_error(stack: Stack) -> None:
    with pytest.raises(ValueError, match="at least one query"):
        proof.prove([], settings=stack.settings)


def test_sample_queries_takes_whole_intent_groups() -> None:
    import pandas as pd

    rows = [{"query": f"q{g}-{i}", "intent": f"g{g}"} for g in range(10) for i in range(g % 3 + 1)]
    picked = proof.sample_queries(rows, 4, seed=1)
    groups = {q.split("-")[0] for q in picked}
    assert len(groups) == 4
    assert sorted(picked) == sorted(r["query"] for r in rows if r["query"].split("-")[0] in groups)
    assert proof.sample_queries(pd.DataFrame(rows), 4, seed=1) == picked  # a DataFrame workload too
    assert proof.sample_queries(rows, 4, seed=1) == picked  # deterministic
