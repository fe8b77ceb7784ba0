"""Per-run token and cost budgets that refuse a call *before* it could overrun.

Before each call the tracked client asks :meth:`Budget.reserve` with an estimate:
input tokens from :mod:`labkit.llm.tokenizer` over the whole request (system,
messages, tools) plus the worst-case output, ``max_tokens``. If the tokens already
used plus that estimate would exceed ``max_tokens_total``, or the priced estimate would
exceed ``max_usd``, the call is refused with :class:`BudgetExceeded` and nothing is
sent. After the call the reservation is replaced by the real usage.

The offline model costs $0, so only the token limit can stop it. A model without a
price cannot be checked against a USD limit: with a USD limit set such a call is
refused, because an unpriced call could cost anything.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from labkit.llm.pricing import OFFLINE_MODELS, price_for
from labkit.llm.tokenizer import count_tokens

__all__ = ["Budget", "BudgetExceeded", "Reservation", "estimate_input_tokens"]


class BudgetExceeded(RuntimeError):
    """A call would exceed the run's token or cost budget; nothing was sent."""


@dataclass(frozen=True)
class Reservation:
    tokens: int
    usd: float


def estimate_input_tokens(request: Mapping[str, Any]) -> int:
    """Input tokens of a Messages request by the local tokenizer (an estimate for live models)."""
    parts: list[str] = []
    system = request.get("system")
    if system:
        parts.append(system if isinstance(system, str) else json.dumps(system))
    for message in request.get("messages", []):
        content = message.get("content") if isinstance(message, Mapping) else message
        parts.append(content if isinstance(content, str) else json.dumps(content, default=str))
    if request.get("tools"):
        parts.append(json.dumps(request["tools"], default=str))
    return sum(count_tokens(p) for p in parts) + 4 * len(request.get("messages", []))


class Budget:
    """Token and USD limits for one run. Thread-safe; ``None`` disables a limit."""

    def __init__(self, max_tokens_total: int | None = None, max_usd: float | None = None) -> None:
        if max_tokens_total is not None and max_tokens_total < 0:
            raise ValueError(f"max_tokens_total must be >= 0, got {max_tokens_total}")
        if max_usd is not None and max_usd < 0:
            raise ValueError(f"max_usd must be >= 0, got {max_usd}")
        self.max_tokens_total = max_tokens_total
        self.max_usd = max_usd
        self.used_tokens = 0
        self.used_usd = 0.0
        self.calls = 0
        self.refused = 0
        self._reserved_tokens = 0
        self._reserved_usd = 0.0
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Any) -> Budget:
        return cls(max_tokens_total=int(settings.budget_tokens), max_usd=float(settings.budget_usd))

    def __repr__(self) -> str:
        return (
            f"Budget(tokens {self.used_tokens}/{self.max_tokens_total}, "
            f"usd {self.used_usd:.6f}/{self.max_usd}, calls {self.calls}, refused {self.refused})"
        )

    def reserve(self, model: str, input_tokens: int, max_output_tokens: int) -> Reservation:
        """Hold the worst case of a call, or raise BudgetExceeded naming the limit."""
        tokens = int(input_tokens) + int(max_output_tokens)
        usd = 0.0
        if model not in OFFLINE_MODELS:
            price = price_for(model)
            if price is None:
                if self.max_usd is not None:
                    with self._lock:
                        self.refused += 1
                    raise BudgetExceeded(
                        f"model {model!r} has no price, so a call cannot be checked against the "
                        f"${self.max_usd} budget; add it to labkit.llm.pricing or set budget_usd to None"
                    )
            else:
                usd = (input_tokens * price.input + max_output_tokens * price.output) / 1_000_000
        with self._lock:
            if self.max_tokens_total is not None:
                committed = self.used_tokens + self._reserved_tokens
                if committed + tokens > self.max_tokens_total:
                    self.refused += 1
                    raise BudgetExceeded(
                        f"token budget: {committed} used or reserved + up to {tokens} for this call "
                        f"(~{input_tokens} in + max_tokens {max_output_tokens}) "
                        f"> limit {self.max_tokens_total} (setting budget_tokens)"
                    )
            if self.max_usd is not None:
                committed_usd = self.used_usd + self._reserved_usd
                if committed_usd + usd > self.max_usd:
                    self.refused += 1
                    raise BudgetExceeded(
                        f"cost budget: ${committed_usd:.6f} used or reserved "
                        f"+ up to ${usd:.6f} for this call > limit ${self.max_usd} (setting budget_usd)"
                    )
            self._reserved_tokens += tokens
            self._reserved_usd += usd
        return Reservation(tokens, usd)

    def settle(self, reservation: Reservation, tokens: int, usd: float | None) -> None:
        """Replace a reservation by what the call really used (0 if it failed before usage)."""
        with self._lock:
            self._reserved_tokens -= reservation.tokens
            self._reserved_usd -= reservation.usd
            self.used_tokens += int(tokens)
            self.used_usd += float(usd or 0.0)
            self.calls += 1

    @property
    def remaining_tokens(self) -> int | None:
        if self.max_tokens_total is None:
            return None
        return max(0, self.max_tokens_total - self.used_tokens - self._reserved_tokens)
