"""labkit: the toolkit behind the lab workbook.

Importing labkit must stay cheap (a notebook's first cell, and every CLI call), so
the heavy submodules load on first attribute access.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# name -> (module, attribute or None for the module itself)
_LAZY: dict[str, tuple[str, str | None]] = {
    "config": ("labkit.config", None),
    "containers": ("labkit.containers", None),
    "settings": ("labkit.config", "load_settings"),
    "check": ("labkit.check", None),
    "doctor": ("labkit.doctor", None),  # a callable module: labkit.doctor(stage=...)
    "exercises": ("labkit.exercises", None),
    "record": ("labkit.results", "record"),
    "report": ("labkit.report", None),
    "results": ("labkit.results", None),
    "runner": ("labkit.runner", None),
    "widgets": ("labkit.widgets", None),
    "dashboards": ("labkit.dashboards", None),
    "demo": ("labkit.demo", None),
    "observe": ("labkit.observe", None),
    "telemetry": ("labkit.telemetry", None),
    "llm": ("labkit.llm", None),
    "agents": ("labkit.agents", None),
}

__all__ = ["__version__", *sorted(_LAZY)]

if TYPE_CHECKING:  # pragma: no cover
    from labkit import config as config


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'labkit' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
