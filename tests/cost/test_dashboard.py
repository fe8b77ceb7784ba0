"""The cost dashboard's every panel runs on the embedded server, over real TrackedClient traffic."""

from __future__ import annotations

import json
import math
import time

import pytest

from labkit import dashboards
from labkit.cache import proof

from .conftest import ExactCache, Stack

UID = "labkit-llm-cost"
QUERIES = [f"Summarise ticket {i} in one line." for i in range(5)] * 3


@pytest.fixture(scope="module")
def rendered(stack: Stack) -> dashboards.Rendered:
    caches: list[ExactCache] = []
    make = stack.factory(caches)
    for phase in proof.PHASES:
        settings = proof.phase_settings(stack.settings, cache=phase == "cache")
        # Several exports per phase: rate() needs two samples of each series.
        proof.run_phase(
            _slowly(QUERIES),
            phase,
            run_id="dash",
            settings=settings,
            client_factory=make,
            metric_interval_s=0.2,
        )
    return dashboards.render(UID, settings=stack.settings, start="now-10m", draw=False)


def _slowly(queries: list[str]):
    for q in queries:
        time.sleep(0.05)
        yield q


def test_the_dashboard_is_provisioned_with_the_stack() -> None:
    path = dashboards.DASHBOARD_DIR / "llm-cost.json"
    model = json.loads(path.read_text("utf-8"))
    assert model["uid"] == UID and dashboards.load(UID)["title"] == model["title"]
    exprs = [t.get("expr") or t.get("query") for p in model["panels"] for t in p["targets"]]
    assert "sum(rate($cost[1h])) * 24 * 30" in exprs  # the plan's monthly projection
    assert any("rate(llm_tokens_total[5m])" in e and "by (agent, model)" in e for e in exprs)
    assert any("gen_ai.usage." in e for e in exprs)


def test_every_panel_answers_without_error(rendered: dashboards.Rendered) -> None:
    assert rendered.errors == {}
    assert len(rendered.panels) == 10


def test_the_proof_phases_show_the_drop(rendered: dashboards.Rendered) -> None:
    table = rendered.panel("Cache proof: cost per phase (instance = run/phase)").table
    phases = dict(zip(table["instance"], table["value"], strict=True))
    assert phases["dash/cache"] < phases["dash/no-cache"]  # 5 of 15 calls reach the model with the cache
    assert phases["dash/cache"] == pytest.approx(phases["dash/no-cache"] / 3, rel=0.2)


def test_tokens_and_cost_series_are_per_agent(rendered: dashboards.Rendered) -> None:
    tokens = rendered.panel("Tokens per second by agent and model").table
    assert not tokens.empty and set(tokens["agent"]) == {proof.AGENT}
    assert (tokens["value"] > 0).any()
    cost = rendered.panel("Cost per hour (USD) by agent").table
    assert (cost["value"] > 0).any()


def test_stats_have_values(rendered: dashboards.Rendered) -> None:
    monthly = rendered.panel("Monthly projection (USD)").value
    per_request = rendered.panel("Cost per request (USD)").value
    assert monthly is not None and monthly > 0
    assert per_request is not None and 0 < per_request < 1
    hit_ratio = rendered.panel("Cache hit ratio").value
    assert hit_ratio is not None and 0 < hit_ratio < 1  # 10 of 15 cached lookups hit, give or take rate()
    saved = rendered.panel("USD saved by the cache (1h)").value
    assert saved is not None and saved > 0 and not math.isnan(saved)


def test_cost_per_endpoint_is_a_table_by_agent_and_node(rendered: dashboards.Rendered) -> None:
    table = rendered.panel("Cost per request by endpoint (agent, node)").table
    assert list(table.columns)[:2] == ["agent", "node"] and (table["value"] > 0).all()


def test_most_expensive_traces_come_from_tempo_sorted_by_cost(rendered: dashboards.Rendered) -> None:
    table = rendered.panel("Most expensive traces (LLM calls)").table
    column = "span.labkit.llm.cost_live_equivalent_usd"
    assert len(table) == 10 and column in table.columns
    assert list(table[column]) == sorted(table[column], reverse=True)
    assert (table["span.gen_ai.usage.input_tokens"] > 0).all()


def test_the_plan_cost_counter_is_a_variable_choice(stack: Stack, rendered: dashboards.Rendered) -> None:
    spent = dashboards.render(
        UID, settings=stack.settings, start="now-10m", draw=False, variables={"cost": "llm_cost_dollars"}
    )
    assert spent.errors == {}
    assert spent.panel("Monthly projection (USD)").value == 0  # the offline model costs nothing


def test_the_whole_dashboard_draws_as_one_figure(stack: Stack, rendered: dashboards.Rendered) -> None:
    drawn = dashboards.render(UID, settings=stack.settings, start="now-10m")
    assert drawn.errors == {}
    bundle = drawn._repr_mimebundle_()
    assert bundle["image/png"]
    import matplotlib.pyplot as plt

    plt.close("all")


def test_panel_builders_refuse_bad_input_and_sort_like_grafana() -> None:
    import pandas as pd

    with pytest.raises(ValueError, match="at least one option"):
        dashboards.variable("cost", [])
    panel = dashboards.traces_panel("t", "{}", sort_by="span.x")
    assert panel["datasource"]["type"] == "tempo" and panel["targets"][0]["tableType"] == "traces"
    table = pd.DataFrame({"span.x": [1, 3, 2]})
    assert list(dashboards._sorted(table, panel)["span.x"]) == [3, 2, 1]
    # A column the data lacks is ignored, as Grafana does.
    assert list(dashboards._sorted(table, dashboards.traces_panel("t", "{}", sort_by="nope"))["span.x"]) == [
        1,
        3,
        2,
    ]
