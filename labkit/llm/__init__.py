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

import importlib
import sys
import types
from typing import Any

# name -> the submodule defining it. Loaded on first access: the anthropic SDK alone takes
# about a second to import, and the embedded server (which serves the local Messages API
# from ``labkit.llm.server``) must be ready well within that.
_LAZY: dict[str, str] = {
    "Budget": "labkit.llm.budget",
    "BudgetExceeded": "labkit.llm.budget",
    "estimate_input_tokens": "labkit.llm.budget",
    "BackendChoice": "labkit.llm.client",
    "choose_backend": "labkit.llm.client",
    "client": "labkit.llm.client",
    "default_model": "labkit.llm.client",
    "ensure_local_server": "labkit.llm.client",
    "OFFLINE_MODEL": "labkit.llm.offline",
    "OfflineModel": "labkit.llm.offline",
    "PRICING_VERSION": "labkit.llm.pricing",
    "Cost": "labkit.llm.pricing",
    "PricingWarning": "labkit.llm.pricing",
    "cost_of": "labkit.llm.pricing",
    "price_for": "labkit.llm.pricing",
    "LocalServer": "labkit.llm.server",
    "CallRecord": "labkit.llm.telemetry",
    "LLMTelemetry": "labkit.llm.telemetry",
    "Usage": "labkit.llm.telemetry",
    "count_tokens": "labkit.llm.tokenizer",
    "CallResult": "labkit.llm.tracked",
    "ResponseCache": "labkit.llm.tracked",
    "TrackedClient": "labkit.llm.tracked",
    "call": "labkit.llm.tracked",
    "reset_run_budget": "labkit.llm.tracked",
    "run_budget": "labkit.llm.tracked",
}

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
    "ResponseCache",
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


def __getattr__(name: str) -> Any:
    module_name = _LAZY.get(name)
    if module_name is None:
        raise AttributeError(f"module 'labkit.llm' has no attribute {name!r}")
    value = getattr(importlib.import_module(module_name), name)
    globals()[name] = value
    return value


class _Package(types.ModuleType):
    """Keeps ``labkit.llm.client`` the function when the ``labkit.llm.client`` module loads.

    Importing a submodule sets it as an attribute of its package, which would replace
    the exported ``client()`` by the module of the same name (the eager imports this
    package had rebound it right after).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "client" and isinstance(value, types.ModuleType):
            self.__dict__.pop("client", None)  # resolved again, as the function, on next access
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
