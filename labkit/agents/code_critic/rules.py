"""A learner's own rule, added to a specialist as one more tool.

``line_rule(...)`` turns a per-line predicate into a :class:`Tool` that returns
findings in the review schema; ``with_tool(SPECIALISTS["style"], tool)`` is that
specialist with the tool added, and ``build_graph(specialists=...)`` uses it. The
model sees one more tool; offline, the generic policy calls it like the others.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from labkit.agents.code_critic.schema import Finding
from labkit.agents.code_critic.specialist import Context, Specialist, Tool

__all__ = ["line_rule", "with_tool"]


def line_rule(
    name: str,
    rule_id: str,
    predicate: Callable[[str], bool],
    *,
    category: str = "style",
    severity: str = "low",
    why: str,
    suggested_fix: str,
) -> Tool:
    """A tool that reports ``rule_id`` on every line of the reviewed files where ``predicate(line)`` holds."""

    def run(ctx: Context) -> dict[str, Any]:
        findings = []
        for source in ctx.files:
            for number, line in enumerate(source.lines, 1):
                if predicate(line):
                    findings.append(
                        Finding(
                            file=source.path, line_start=number, line_end=number, rule_id=rule_id,
                            category=category, severity=severity, code=line, why=why,  # type: ignore[arg-type]
                            suggested_fix=suggested_fix, source=name,
                        ).model_dump()
                    )  # fmt: skip
        return {"findings": findings, "notes": [f"{name}: {len(findings)} finding(s)"]}

    return Tool(name, f"Report {rule_id}: {why}", run)


def with_tool(specialist: Specialist, tool: Tool) -> Specialist:
    return dataclasses.replace(specialist, tools=(*specialist.tools, tool))
