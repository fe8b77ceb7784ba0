"""The plan's names, labkit's names and the GenAI semconv metrics agree, as docs/cost.md says."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.cache import proof
from labkit.observe import Mimir

from .conftest import ExactCache, Stack

DOC = Path(__file__).resolve().parents[2] / "docs" / "cost.md"
QUERIES = [f"Explain error code {i} briefly." for i in range(6)]


@pytest.fixture(scope="module")
def mimir(stack: Stack) -> Iterator[Mimir]:
    caches: list[ExactCache] = []
    proof.run_phase(
        QUERIES, "no cache", run_id="names", settings=stack.settings, client_factory=stack.factory(caches)
    )
    with Mimir(settings=stack.settings) as client:
        yield client


def _total(mimir: Mimir, expr: str) -> float:
    frame = mimir.query(expr)
    assert not frame.empty, f"{expr} returned nothing"
    return float(frame["value"].sum())


SAME = [
    # (plan or semconv query, labkit query): each pair must give the same number.
    ("sum(llm_tokens_total)", "sum(labkit_llm_tokens_total)"),
    ("sum(llm_tokens_total)", "sum(gen_ai_client_token_usage_sum)"),
    (
        'sum(llm_tokens_total{token_type=~"input|cache_read|cache_creation"})',
        'sum(gen_ai_client_token_usage_sum{gen_ai_token_type="input"})',
    ),
    ("sum(llm_cost_dollars)", "sum(labkit_llm_cost_usd_total)"),
    ("sum(llm_requests_total)", "sum(gen_ai_client_operation_duration_seconds_count)"),
]


@pytest.mark.parametrize(("left", "right"), SAME)
def test_names_agree(mimir: Mimir, left: str, right: str) -> None:
    assert _total(mimir, left) == pytest.approx(_total(mimir, right))


def test_the_totals_are_what_was_sent(mimir: Mimir) -> None:
    assert _total(mimir, "sum(llm_requests_total)") == len(QUERIES)
    assert _total(mimir, "sum(llm_tokens_total)") > 0
    assert _total(mimir, "sum(labkit_llm_cost_live_equivalent_usd_total)") > 0


def test_the_plan_counters_are_named_as_the_plan_writes_them(mimir: Mimir) -> None:
    for name in ("llm_tokens_total", "llm_cost_dollars", "llm_requests_total"):
        assert not mimir.query(name).empty, name
    assert _total(mimir, "sum(rate(llm_cost_dollars[1h])) * 24 * 30") == 0  # offline: nothing spent


def test_every_query_in_the_doc_parses_on_the_embedded_server(mimir: Mimir) -> None:
    # Code spans that use a metric of the doc; `\|` is a pipe escaped for the Markdown table.
    spans = [q.replace("\\|", "|") for q in re.findall(r"`([^`]+)`", DOC.read_text("utf-8"))]
    promql = [
        q for q in spans if "(" in q and q[0].islower() and re.search(r"\b(llm|labkit|gen_ai)_[a-z_]+", q)
    ]
    assert len(promql) >= 12
    for q in promql:
        mimir.query(q.replace("<run>", "r1"))  # raises QueryError on a syntax error
