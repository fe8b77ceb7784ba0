"""The Prompt Reviewer agent: guardrails -> structured review -> validation, as a LangGraph graph.

```python
from labkit.agents import prompt_reviewer
result = prompt_reviewer.review("Write something good about stuff.")
result.status, result.review.scores, result.cost_usd
```
"""

from __future__ import annotations

from labkit.agents.prompt_reviewer.graph import AGENT_NAME, ReviewerConfig, ReviewResult, build_graph, review
from labkit.agents.prompt_reviewer.guardrails import Finding, GuardrailConfig, Verdict, check_input
from labkit.agents.prompt_reviewer.schema import PromptReview, ReviewIssue, Scores, review_tool

__all__ = [
    "AGENT_NAME",
    "Finding",
    "GuardrailConfig",
    "PromptReview",
    "ReviewIssue",
    "ReviewResult",
    "ReviewerConfig",
    "Scores",
    "Verdict",
    "build_graph",
    "check_input",
    "review",
    "review_tool",
]
