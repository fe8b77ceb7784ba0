"""A dated, versioned price table for Claude models, and the cost of one call.

Prices are USD per million tokens, as Anthropic publishes them: base input, output,
5-minute cache write, 1-hour cache write, cache read (hits and refreshes).

Rules:

* A response's model id may carry a date or a suffix (``claude-sonnet-4-5-20250929``,
  ``claude-sonnet-4-5[1m]``); it is matched to the longest table id it starts with.
* An unknown model gives a ``PricingWarning`` and a cost of ``None``: labkit never
  invents a price.
* The offline model costs 0. ``Cost.live_equivalent_usd`` additionally prices the same
  usage at the configured live model (``settings.model``), so lessons can show what
  a run would have cost on Claude without spending anything.
* Usage follows the API: ``input_tokens`` excludes cached tokens; cache writes are
  split by TTL in ``usage.cache_creation`` when present (otherwise all 5 minute).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "PRICES",
    "PRICING_SOURCE",
    "PRICING_VERSION",
    "Cost",
    "ModelPrice",
    "PricingWarning",
    "cost_of",
    "price_for",
]

PRICING_VERSION = "2026-11-26"
PRICING_SOURCE = (
    "Anthropic docs 'Pricing' page (platform.claude.com/docs/en/about-claude/pricing) and the model overview "
    "pages, read 2026-11-26. Haiku 5.5 has a second tier for prompts over 100k tokens "
    "(0.50 / 2.50 / 0.625 / 1.00 / 0.05) that this table does not apply; batch (-50%) and data-residency "
    "multipliers are not applied either."
)

OFFLINE_MODELS = frozenset({"labkit-offline-1"})


class PricingWarning(UserWarning):
    """A model has no price in the table; its cost is reported as None."""


@dataclass(frozen=True)
class ModelPrice:
    """USD per million tokens."""

    input: float
    output: float
    cache_write_5m: float
    cache_write_1h: float
    cache_read: float


def _p(i: float, o: float, w5: float, w1: float, r: float) -> ModelPrice:
    return ModelPrice(input=i, output=o, cache_write_5m=w5, cache_write_1h=w1, cache_read=r)


PRICES: dict[str, ModelPrice] = {
    "claude-fable-5-1": _p(10, 50, 12.5, 20, 0.25),
    "claude-fable-5": _p(10, 50, 12.5, 20, 1.0),
    "claude-opus-5-5": _p(4, 20, 5, 8, 0.20),
    "claude-opus-5": _p(5, 25, 6.25, 10, 0.50),
    "claude-opus-4-8": _p(5, 25, 6.25, 10, 0.50),
    "claude-opus-4-7": _p(5, 25, 6.25, 10, 0.50),
    "claude-opus-4-6": _p(5, 25, 6.25, 10, 0.50),
    "claude-opus-4-5": _p(5, 25, 6.25, 10, 0.50),
    "claude-opus-4-1": _p(15, 75, 18.75, 30, 1.50),
    "claude-opus-4-0": _p(15, 75, 18.75, 30, 1.50),
    "claude-opus-4": _p(15, 75, 18.75, 30, 1.50),
    "claude-sonnet-5-5": _p(2, 10, 2.50, 4, 0.20),
    "claude-sonnet-5": _p(2, 10, 2.50, 4, 0.20),
    "claude-sonnet-4-6": _p(3, 15, 3.75, 6, 0.30),
    "claude-sonnet-4-5": _p(3, 15, 3.75, 6, 0.30),
    "claude-sonnet-4-0": _p(3, 15, 3.75, 6, 0.30),
    "claude-sonnet-4": _p(3, 15, 3.75, 6, 0.30),
    "claude-3-7-sonnet": _p(3, 15, 3.75, 6, 0.30),
    "claude-haiku-5-5": _p(0.10, 0.50, 0.125, 0.20, 0.01),
    "claude-haiku-4-5": _p(1, 5, 1.25, 2, 0.10),
    "claude-3-5-haiku": _p(0.80, 4, 1, 1.6, 0.08),
    "claude-3-haiku": _p(0.25, 1.25, 0.30, 0.50, 0.03),
}


@dataclass(frozen=True)
class Cost:
    """The cost of one call. ``usd`` is None when the model has no price."""

    model: str
    usd: float | None
    live_equivalent_usd: float | None = None
    live_model: str | None = None
    pricing_version: str = PRICING_VERSION


def price_for(model: str) -> ModelPrice | None:
    """The table entry for ``model`` (dated ids and ``[1m]`` suffixes match their base id)."""
    if not isinstance(model, str) or not model:
        raise ValueError(f"model must be a non-empty string, got {model!r}")
    base = model.split("[", 1)[0]
    if base in PRICES:
        return PRICES[base]
    matches = [k for k in PRICES if base.startswith(k + "-") or base.startswith(k + "@")]
    return PRICES[max(matches, key=len)] if matches else None


def _get(usage: Any, name: str) -> int:
    value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0


def _usd(price: ModelPrice, usage: Any) -> float:
    split = (
        usage.get("cache_creation") if isinstance(usage, Mapping) else getattr(usage, "cache_creation", None)
    )
    written = _get(usage, "cache_creation_input_tokens")
    if split is not None:
        w1 = _get(split, "ephemeral_1h_input_tokens")
        w5 = _get(split, "ephemeral_5m_input_tokens")
        w5 += max(0, written - w1 - w5)  # tokens the split does not explain are billed at 5m
    else:
        w1, w5 = 0, written
    total = (
        _get(usage, "input_tokens") * price.input
        + _get(usage, "output_tokens") * price.output
        + w5 * price.cache_write_5m
        + w1 * price.cache_write_1h
        + _get(usage, "cache_read_input_tokens") * price.cache_read
    )
    return round(total / 1_000_000, 10)


def cost_of(model: str, usage: Any, *, live_model: str | None = None) -> Cost:
    """Cost of a call with ``usage`` (an SDK ``Usage`` or its dict) on ``model``.

    For the offline model the cost is 0 and ``live_equivalent_usd`` prices the same
    usage at ``live_model`` (when that model is known).
    """
    if model in OFFLINE_MODELS:
        equivalent = None
        if live_model:
            price = price_for(live_model)
            equivalent = _usd(price, usage) if price is not None else None
        return Cost(model=model, usd=0.0, live_equivalent_usd=equivalent, live_model=live_model)
    price = price_for(model)
    if price is None:
        warnings.warn(
            f"no price for model {model!r} in the labkit pricing table {PRICING_VERSION}; its cost is None. "
            f"Known: {', '.join(sorted(PRICES))}",
            PricingWarning,
            stacklevel=2,
        )
        return Cost(model=model, usd=None)
    usd = _usd(price, usage)
    return Cost(model=model, usd=usd, live_equivalent_usd=usd, live_model=model)
