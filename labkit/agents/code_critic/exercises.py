"""Verifiers of notebook 07's exercises; each runs the Code Critic for real on the answer."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from labkit.agents.code_critic.graph import build_graph, review
from labkit.agents.code_critic.rules import line_rule, with_tool
from labkit.agents.code_critic.samples import ORDERS_TESTS, PRINT_PROBE, PRINT_PROBE_LINES
from labkit.agents.code_critic.specialist import SPECIALISTS

__all__ = ["critic_passes", "rule_catches_prints"]


def critic_passes(graph: Any | None = None, tests: str = ORDERS_TESTS) -> Callable[[Any], tuple[bool, str]]:
    """verify(fixed_source): the critic reviews it with the sample's tests and finds nothing at all."""

    def verify(source: Any) -> tuple[bool, str]:
        if not isinstance(source, str) or not source.strip():
            return False, "the answer must be the fixed module's source code, as a string"
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "orders.py").write_text(source, encoding="utf-8")
            (Path(tmp) / "test_orders.py").write_text(tests, encoding="utf-8")
            result = review(
                [Path(tmp) / "orders.py"], tests=[Path(tmp) / "test_orders.py"], root=tmp, graph=graph
            )
        left = [
            f"{f.file}:{f.line_start} {f.rule_id} ({f.category}) {f.why[:80]}" for f in result.review.findings
        ]
        ran = [n for n in result.notes if n.startswith("tests:") and "test(s)" in n]
        if left:
            return False, f"score {result.review.score}/10, still {len(left)} finding(s): " + "; ".join(
                left[:5]
            )
        return True, f"score 10/10, nothing found ({ran[-1] if ran else 'tests ran'})"

    return verify


def rule_catches_prints(graph_factory: Callable[..., Any] | None = None) -> Callable[[Any], tuple[bool, str]]:
    """verify(predicate): the style specialist with the learner's rule flags exactly the real print() calls."""

    def verify(predicate: Any) -> tuple[bool, str]:
        if not callable(predicate):
            return False, "the answer must be a function line -> bool"
        tool = line_rule(
            "print_calls",
            "LAB001",
            predicate,
            why="print() in library code: use logging",
            suggested_fix="log.info(...) instead of print(...)",
        )
        specialists = {"style": with_tool(SPECIALISTS["style"], tool)}
        make = graph_factory or build_graph
        graph = make(specialists=specialists)
        graph.labkit_deps.config.specialists = ["style"]
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "report.py").write_text(PRINT_PROBE, encoding="utf-8")
            result = review([Path(tmp) / "report.py"], root=tmp, graph=graph)
        lines = tuple(sorted(f.line_start for f in result.review.findings if f.rule_id == "LAB001"))
        ok = lines == PRINT_PROBE_LINES
        calls = result.specialists["style"].tool_calls
        detail = f"LAB001 on lines {list(lines)}, expected {list(PRINT_PROBE_LINES)}; style called {calls}"
        return ok, detail

    return verify
