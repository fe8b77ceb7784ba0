"""Verifiers for notebook 12's exercises, checked against what the backends hold for a drill run.

* :func:`cost_jump_query`: the learner's PromQL, evaluated at the end of the incident,
  returns one series per agent and ranks first the agent whose spend rose most.
* :func:`slow_node_query`: the learner's TraceQL finds exactly the incident's traces in
  which the slow node (as the solution path finds it in Tempo) took over 150 ms.

Neither reads the injected truth: the reference comes from the backends, like the answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["cost_jump_query", "cost_reference", "or_reference", "slow_node_query", "slow_node_reference"]

Verify = Callable[[Any], tuple[bool, str]]


def cost_reference(run: Any) -> str:
    """Spend per agent in the incident's 5 minutes minus the 5 minutes before."""
    sel = f'labkit_llm_cost_usd_total{{instance="{run.instance}"}}'
    return f"sum by (agent) (increase({sel}[5m])) - sum by (agent) (increase({sel}[5m] offset 5m))"


def _top_agent(frame: Any) -> str | None:
    if frame.empty or "agent" not in frame.columns:
        return None
    return str(frame.loc[frame["value"].astype(float).idxmax(), "agent"])


def cost_jump_query(run: Any, *, settings: Any = None) -> Verify:
    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.config import load_settings
        from labkit.observe import Mimir

        if not isinstance(answer, str) or not answer.strip():
            return False, "the answer must be a PromQL query string"
        mimir = Mimir(settings=settings or load_settings())
        expected = _top_agent(mimir.query(cost_reference(run), run.end))
        if expected is None:
            return False, "no cost series for this run yet: run the drill first"
        got = mimir.query(answer, run.end)
        if "agent" not in got.columns or got["agent"].nunique() < 2:
            return False, f"your query returns {len(got)} series; it should return one per agent (by (agent))"
        if _top_agent(got) != expected:
            return False, "the agent your query ranks highest is not the one whose spend rose most"
        return (
            True,
            f"one series per agent ({got['agent'].nunique()}); the highest is the agent whose cost jumped",
        )

    return verify


def slow_node_reference(run: Any, *, settings: Any = None) -> str:
    from labkit.drills._api import solve

    node = solve(run.drill, settings=settings).answer["node"]
    return (
        f'{{ resource.service.instance.id = "{run.instance}" && span.labkit.agent.node = "{node}" '
        "&& duration > 150ms }"
    )


def slow_node_query(run: Any, *, settings: Any = None) -> Verify:
    def verify(answer: Any) -> tuple[bool, str]:
        import pandas as pd

        from labkit.exercises.verify_queries import traceql_same_traces

        check = traceql_same_traces(
            slow_node_reference(run, settings=settings),
            since=run.incident_start,
            until=run.end + pd.Timedelta(seconds=1),
            settings=settings,
        )
        passed, detail = check(answer)
        return passed, detail.split(" (")[0] if not passed else detail  # never echo the reference

    return verify


def or_reference(answer: Any, reference: str) -> str:
    """The learner's query once written, the reference until then (later cells still run)."""
    return answer if isinstance(answer, str) and answer.strip() else reference
