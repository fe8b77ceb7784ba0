"""Pricing table, cost per call, and budgets that stop calls before they overrun."""

from __future__ import annotations

import anthropic
import pytest

from labkit.config import Settings
from labkit.llm import Budget, BudgetExceeded, LocalServer, TrackedClient
from labkit.llm.offline import OFFLINE_MODEL
from labkit.llm.pricing import PRICES, PRICING_VERSION, PricingWarning, cost_of, price_for

from .conftest import Telemetry


def test_table_is_dated_and_complete() -> None:
    assert PRICING_VERSION.count("-") == 2
    for model, price in PRICES.items():
        assert price.input > 0 and price.output > price.input, model
        assert price.cache_read < price.input < price.cache_write_5m <= price.cache_write_1h, model


@pytest.mark.parametrize(
    ("model", "base"),
    [
        ("claude-sonnet-4-5-20250929", "claude-sonnet-4-5"),
        ("claude-sonnet-4-5", "claude-sonnet-4-5"),
        ("claude-opus-4-1-20250805", "claude-opus-4-1"),
        ("claude-sonnet-4-5[1m]", "claude-sonnet-4-5"),
        ("claude-sonnet-4-20250514", "claude-sonnet-4"),
        ("claude-sonnet-5", "claude-sonnet-5"),
    ],
)
def test_dated_ids_match_their_base(model: str, base: str) -> None:
    assert price_for(model) == PRICES[base]


def test_cost_uses_every_usage_field() -> None:
    usage = {
        "input_tokens": 1_000_000,
        "output_tokens": 1_000_000,
        "cache_read_input_tokens": 1_000_000,
        "cache_creation_input_tokens": 2_000_000,
        "cache_creation": {"ephemeral_5m_input_tokens": 1_000_000, "ephemeral_1h_input_tokens": 1_000_000},
    }
    cost = cost_of("claude-sonnet-4-5-20250929", usage)
    assert cost.usd == pytest.approx(3 + 15 + 0.30 + 3.75 + 6)
    no_split = {k: v for k, v in usage.items() if k != "cache_creation"}
    assert cost_of("claude-sonnet-4-5", no_split).usd == pytest.approx(3 + 15 + 0.30 + 2 * 3.75)


def test_unknown_model_warns_and_has_no_price() -> None:
    with pytest.warns(PricingWarning, match="no price for model 'gpt-9'"):
        cost = cost_of("gpt-9", {"input_tokens": 10, "output_tokens": 10})
    assert cost.usd is None


def test_offline_is_free_with_a_live_equivalent() -> None:
    usage = {"input_tokens": 1000, "output_tokens": 500}
    cost = cost_of(OFFLINE_MODEL, usage, live_model="claude-haiku-4-5")
    assert cost.usd == 0.0
    assert cost.live_equivalent_usd == pytest.approx((1000 * 1 + 500 * 5) / 1e6)
    assert cost_of(OFFLINE_MODEL, usage).live_equivalent_usd is None


def test_budget_refuses_before_the_limit(
    sdk: anthropic.Anthropic, server: LocalServer, settings: Settings, telemetry: Telemetry
) -> None:
    budget = Budget(max_tokens_total=600, max_usd=None)
    llm = TrackedClient(sdk, budget=budget, telemetry=telemetry.llm, settings=settings)
    messages = [{"role": "user", "content": "Summarise the plot of Hamlet."}]
    llm.messages.create(model=OFFLINE_MODEL, max_tokens=200, messages=messages)
    used = budget.used_tokens
    assert 0 < used <= 600
    with pytest.raises(BudgetExceeded, match=r"token budget: .* > limit 600 \(setting budget_tokens\)"):
        llm.messages.create(model=OFFLINE_MODEL, max_tokens=600 - used, messages=messages)
    assert len(server.request_log()) == 1  # the refused call never reached the server
    assert budget.refused == 1 and budget.used_tokens == used


def test_cost_budget_and_unpriced_models() -> None:
    budget = Budget(max_tokens_total=None, max_usd=0.011)
    reservation = budget.reserve("claude-sonnet-4-5", 1000, 500)  # 0.003 + 0.0075
    assert reservation.usd == pytest.approx(0.0105)
    with pytest.raises(BudgetExceeded, match="cost budget"):
        budget.reserve("claude-sonnet-4-5", 1000, 100)
    budget.settle(reservation, 1200, 0.004)
    assert budget.used_usd == pytest.approx(0.004)
    assert budget.reserve("claude-sonnet-4-5", 100, 100).usd < 0.006
    with pytest.raises(BudgetExceeded, match="has no price"):
        budget.reserve("mystery-model", 1, 1)


def test_zero_budget_stops_every_call() -> None:
    with pytest.raises(BudgetExceeded):
        Budget(max_tokens_total=0).reserve(OFFLINE_MODEL, 1, 1)
    with pytest.raises(ValueError, match="max_usd must be >= 0"):
        Budget(max_usd=-1)
