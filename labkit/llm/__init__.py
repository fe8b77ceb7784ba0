"""labkit's LLM layer: one ``anthropic.Anthropic`` surface over a live or an offline backend.

```python
import labkit
llm = labkit.llm.TrackedClient(agent="demo")          # budget + telemetry + cost
msg = llm.messages.create(model=labkit.llm.default_model(), max_tokens=200,
                          messages=[{"role": "user", "content": "Hello"}])
llm.last.cost, llm.last.usage
```

Submodules: ``client`` (backend choice), ``server`` (local Messages API server),
``offline`` (the deterministic model), ``pricing``, ``budget``, ``telemetry``,
``tokenizer``, ``rubric``, ``schema_fill``.
"""

from __future__ import annotations

from labkit.llm.budget import Budget, BudgetExceeded, estimate_input_tokens
from labkit.llm.client import BackendChoice, choose_backend, client, default_model, ensure_local_server
from labkit.llm.offline import OFFLINE_MODEL, OfflineModel
from labkit.llm.pricing import PRICING_VERSION, Cost, PricingWarning, cost_of, price_for
from labkit.llm.server import LocalServer
from labkit.llm.telemetry import CallRecord, LLMTelemetry, Usage
from labkit.llm.tokenizer import count_tokens
from labkit.llm.tracked import CallResult, TrackedClient, call, reset_run_budget, run_budget

__all__ = [
    "OFFLINE_MODEL",
    "PRICING_VERSION",
    "BackendChoice",
    "Budget",
    "BudgetExceeded",
    "CallRecord",
    "CallResult",
    "Cost",
    "LLMTelemetry",
    "LocalServer",
    "OfflineModel",
    "PricingWarning",
    "TrackedClient",
    "Usage",
    "call",
    "choose_backend",
    "client",
    "cost_of",
    "count_tokens",
    "default_model",
    "ensure_local_server",
    "estimate_input_tokens",
    "price_for",
    "reset_run_budget",
    "run_budget",
]
