"""Labelled workloads: JSONL, one request a line, with the intent group it belongs to.

```json
{"query": "How many miles is 5 km?", "intent": "convert-5-km-miles"}
{"query": "5 km in miles", "intent": "convert-5-km-miles", "system": "Be brief.", "model": "labkit-offline-1"}
```

``query`` and ``intent`` are required non-empty strings; ``system`` and ``model`` are
optional strings (they change the scope, so a hit never crosses them). Two queries
with the same intent may share an answer; a hit on another intent is a false hit.
Blank lines and lines starting with ``#`` are skipped.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

__all__ = ["HELDOUT_WORKLOAD", "SHIPPED_WORKLOAD", "WorkloadError", "WorkloadItem", "load_workload"]

_DATA = Path(__file__).parent / "data"
SHIPPED_WORKLOAD = _DATA / "workload.jsonl"
HELDOUT_WORKLOAD = _DATA / "heldout.jsonl"
_FIELDS = {"query", "intent", "system", "model"}


class WorkloadError(ValueError):
    """A workload file is malformed; the message names the file and the line."""


@dataclass(frozen=True)
class WorkloadItem:
    query: str
    intent: str
    system: str | None = None
    model: str | None = None
    line: int = 0


def load_workload(path: str | Path) -> list[WorkloadItem]:
    """Read a workload file; raise WorkloadError naming the file and line of the first problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WorkloadError(f"{path}: no such workload file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise WorkloadError(f"{path}: cannot read the workload: {exc}") from None
    items = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise WorkloadError(f"{where}: not valid JSON ({exc.msg} at column {exc.colno})") from None
        if not isinstance(row, dict):
            raise WorkloadError(f"{where}: expected a JSON object, got {type(row).__name__}")
        unknown = set(row) - _FIELDS
        if unknown:
            raise WorkloadError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(_FIELDS)}")
        for name in ("query", "intent"):
            value = row.get(name)
            if not isinstance(value, str) or not value.strip():
                raise WorkloadError(f"{where}: {name!r} must be a non-empty string, got {value!r}")
        for name in ("system", "model"):
            if name in row and row[name] is not None and not isinstance(row[name], str):
                raise WorkloadError(f"{where}: {name!r} must be a string, got {row[name]!r}")
        items.append(WorkloadItem(row["query"], row["intent"], row.get("system"), row.get("model"), number))
    if not items:
        raise WorkloadError(f"{path}: the workload has no queries")
    return items
