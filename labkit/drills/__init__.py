"""Incident drills: a fault injected into replayed multi-agent traffic, and a question.

```python
from labkit import drills
run = drills.run("costs-doubled", seed=3)       # replays the last 10 minutes with a fault
print(run)                                      # the question, the window, the valid answers
drills.answer("costs-doubled", agent="rag", cause="retry_storm")
drills.solve("costs-doubled")                   # the shipped solution path, on the backends
```

The truth is kept hashed under the data dir (see ``labkit.drills._state``); the learner
finds it in Mimir, Tempo and Loki. See docs/drills.md.
"""

from __future__ import annotations

from labkit.drills._api import (
    DrillError,
    DrillRun,
    MalformedAnswer,
    Verdict,
    answer,
    answer_verifier,
    current,
    get,
    list_drills,
    run,
    solve,
)
from labkit.drills._catalog import DRILLS, Drill
from labkit.drills._solution import COSTS_QUERIES, SLOW_QUERIES, Solution, Step, compare, span_durations

__all__ = [
    "COSTS_QUERIES",
    "DRILLS",
    "SLOW_QUERIES",
    "Drill",
    "DrillError",
    "DrillRun",
    "MalformedAnswer",
    "Solution",
    "Step",
    "Verdict",
    "answer",
    "answer_verifier",
    "compare",
    "current",
    "get",
    "list_drills",
    "run",
    "solve",
    "span_durations",
]
