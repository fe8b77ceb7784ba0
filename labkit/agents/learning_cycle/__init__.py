"""The learning-cycle workflow: generate_assignment -> review_code -> update_progress (LangGraph).

```python
from labkit.agents import learning_cycle
result = learning_cycle.run_cycle("ada")           # offline model, embedded backends
result.assignment.title, result.score, result.trace_id
```

Checkpointed in SQLite (an interrupted run resumes by its ``run_id``), progress in
SQLite under the data dir, traced as ``invoke_workflow learning_cycle`` > ``invoke_agent
<node>`` > ``chat`` / ``execute_tool``. See docs/learning-cycle.md.
"""

from __future__ import annotations

from labkit.agents.learning_cycle.graph import (
    NODES,
    WORKFLOW,
    CycleConfig,
    Submission,
    build_graph,
    default_paths,
    run_cycle,
)
from labkit.agents.learning_cycle.progress import ProgressEntry, ProgressStore
from labkit.agents.learning_cycle.schema import Assignment, AssignmentError, CycleResult, assignment_tool

__all__ = [
    "NODES",
    "WORKFLOW",
    "Assignment",
    "AssignmentError",
    "CycleConfig",
    "CycleResult",
    "ProgressEntry",
    "ProgressStore",
    "Submission",
    "assignment_tool",
    "build_graph",
    "default_paths",
    "run_cycle",
]
