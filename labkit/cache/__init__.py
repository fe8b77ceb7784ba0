"""A semantic cache for LLM calls, its labelled workloads, and their replay.

```python
import labkit.cache as cache
c = cache.SemanticCache.from_settings()          # or LABKIT_CACHE_ENABLED=true for every TrackedClient
report = cache.replay(cache.SHIPPED_WORKLOAD)     # hit rate, false hits, tokens and USD saved
cache.sweep(cache.SHIPPED_WORKLOAD, [0.7, 0.8, 0.9])
```

See docs/cache.md.
"""

from __future__ import annotations

from labkit.cache._metrics import CacheTelemetry
from labkit.cache.replay import ReplayReport, plot_sweep, replay, sweep
from labkit.cache.semantic import CACHE_ID_PREFIX, CacheLookup, SemanticCache
from labkit.cache.workload import (
    HELDOUT_WORKLOAD,
    SHIPPED_WORKLOAD,
    WorkloadError,
    WorkloadItem,
    load_workload,
)

__all__ = [
    "CACHE_ID_PREFIX",
    "HELDOUT_WORKLOAD",
    "SHIPPED_WORKLOAD",
    "CacheLookup",
    "CacheTelemetry",
    "ReplayReport",
    "SemanticCache",
    "WorkloadError",
    "WorkloadItem",
    "load_workload",
    "plot_sweep",
    "replay",
    "sweep",
]
