"""The CLI's bad-input paths and the local LLM server's per-model latency."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.llm.server import FaultPlan

runner = CliRunner()


def test_list_names_every_drill_and_cause() -> None:
    result = runner.invoke(app, ["drills", "list"])
    assert result.exit_code == 0
    for word in ("costs-doubled", "responses-slow", "retry_storm", "contention", "update_progress"):
        assert word in result.output


def test_unknown_drill_exits_2_listing_drills() -> None:
    result = runner.invoke(app, ["drills", "run", "costs-tripled", "--seed", "3"])
    assert result.exit_code == 2
    assert "costs-doubled" in result.output and "responses-slow" in result.output


def test_malformed_answer_exits_2_with_choices() -> None:
    result = runner.invoke(
        app, ["drills", "answer", "responses-slow", "--node", "warp_drive", "--cause", "x"]
    )
    assert result.exit_code == 2
    assert "valid nodes" in result.output and "review_code" in result.output


def test_model_latency_applies_to_the_named_model_only() -> None:
    plan = FaultPlan(latency_s=0.1)
    plan.configure({"model_latency_s": {"claude-3-haiku": 0.5}, "append": True})
    assert plan.latency_for("claude-3-haiku") == pytest.approx(0.6)
    assert plan.latency_for("claude-sonnet-4-5") == pytest.approx(0.1)
    assert plan.latency_for(None) == pytest.approx(0.1)
    plan.configure({"model_latency_s": {}})
    assert plan.latency_for("claude-3-haiku") == pytest.approx(0.1)
    with pytest.raises(ValueError, match="model_latency_s must be >= 0"):
        plan.configure({"model_latency_s": {"m": -1}})
    with pytest.raises(ValueError, match="model id -> seconds"):
        plan.configure({"model_latency_s": [1, 2]})
