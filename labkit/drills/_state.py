"""Where a drill keeps its injected truth and its results: under the data dir, never in memory.

The truth is stored as salted SHA-256 digests of each answer field (``agent``/``node`` and
``cause``), so printing a run object or opening the state file does not give the answer
away, and an answer is checked by hashing it the same way. Results (attempts, time to find)
append to ``drills/results.jsonl``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

__all__ = ["digest", "load_run", "new_salt", "record_result", "results_path", "save_run"]


def _root(settings: Any) -> Path:
    return Path(settings.data_dir) / "drills"


def new_salt() -> str:
    return secrets.token_hex(16)


def digest(salt: str, field: str, value: str) -> str:
    return hashlib.sha256(f"{salt}:{field}:{value}".encode()).hexdigest()


def _run_path(settings: Any, drill: str) -> Path:
    return _root(settings) / "runs" / f"{drill}.json"


def save_run(settings: Any, drill: str, state: dict[str, Any]) -> None:
    """Write atomically (temp file + rename): an interrupted write never leaves half a state."""
    path = _run_path(settings, drill)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state, indent=1, sort_keys=True))
    tmp.replace(path)


def load_run(settings: Any, drill: str) -> dict[str, Any] | None:
    path = _run_path(settings, drill)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{path}: line {exc.lineno}: not valid JSON ({exc.msg}); run the drill again"
        ) from exc


def results_path(settings: Any) -> Path:
    return _root(settings) / "results.jsonl"


def record_result(settings: Any, entry: dict[str, Any]) -> None:
    path = results_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        handle.write(json.dumps({**entry, "recorded_at": round(time.time(), 3)}, sort_keys=True) + "\n")
