"""The Code Critic: a multi-agent code reviewer as a LangGraph graph.

```python
from labkit.agents import code_critic
result = code_critic.review(["calc.py"], tests=["tests"])
result.review.score, [(f.file, f.line_start, f.rule_id) for f in result.review.findings]
```

intake (files, folder or diff; guardrails) -> four specialists in parallel (style/ruff,
security/bandit, complexity/radon, tests/pytest+coverage+Ochiai) -> supervisor (merge,
de-duplicate, refute, rank) -> a :class:`CodeReview`. See docs/code-critic.md.
"""

from __future__ import annotations

from labkit.agents.code_critic.graph import AGENT_NAME, CriticConfig, CriticResult, build_graph, review
from labkit.agents.code_critic.intake import Intake, IntakeError, SourceFile, from_diff, from_paths
from labkit.agents.code_critic.sandbox import Limits, run_contained
from labkit.agents.code_critic.schema import CATEGORIES, SEVERITIES, CodeReview, Finding, review_tool
from labkit.agents.code_critic.specialist import SPECIALISTS, Specialist, Tool

__all__ = [
    "AGENT_NAME",
    "CATEGORIES",
    "SEVERITIES",
    "SPECIALISTS",
    "CodeReview",
    "CriticConfig",
    "CriticResult",
    "Finding",
    "Intake",
    "IntakeError",
    "Limits",
    "SourceFile",
    "Specialist",
    "Tool",
    "build_graph",
    "from_diff",
    "from_paths",
    "review",
    "review_tool",
    "run_contained",
]
