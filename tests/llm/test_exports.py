"""The public surface of labkit.llm and the prompt reviewer is the intended one."""

from __future__ import annotations

import labkit
import labkit.llm
from labkit.agents import prompt_reviewer


def test_llm_exports() -> None:
    assert set(labkit.llm.__all__) == {
        "OFFLINE_MODEL",
        "PRICING_VERSION",
        "BackendChoice",
        "Budget",
        "BudgetExceeded",
        "CallRecord",
        "CallResult",
        "Cost",
        "LLMTelemetry",
        "LocalServer",
        "OfflineModel",
        "PricingWarning",
        "ResponseCache",
        "TrackedClient",
        "Usage",
        "call",
        "choose_backend",
        "client",
        "cost_of",
        "count_tokens",
        "default_model",
        "ensure_local_server",
        "estimate_input_tokens",
        "price_for",
        "reset_run_budget",
        "run_budget",
    }
    assert all(hasattr(labkit.llm, name) for name in labkit.llm.__all__)


def test_reviewer_exports() -> None:
    assert all(hasattr(prompt_reviewer, name) for name in prompt_reviewer.__all__)
    assert {"review", "build_graph", "ReviewResult", "PromptReview", "check_input"} <= set(
        prompt_reviewer.__all__
    )


def test_lazy_attribute_on_labkit() -> None:
    assert labkit.llm is labkit.llm  # resolved through labkit._LAZY
    assert callable(labkit.llm.client) and callable(labkit.llm.default_model)
