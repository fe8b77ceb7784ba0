"""Recorded results: ``record()`` inside a notebook, ``read()`` on the executed file.

A result travels as a display output with its own mimetype. Display outputs are
stored in the notebook by every frontend and by papermill, so the executed notebook
itself is the record: nothing to collect from a side channel, and a kernel that dies
half-way still leaves everything it recorded before dying.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "CHECK_MIME",
    "RESULT_MIME",
    "CheckResult",
    "NotebookError",
    "NotebookResults",
    "jsonable",
    "read",
    "record",
]

RESULT_MIME = "application/x.labkit.result+json"
CHECK_MIME = "application/x.labkit.check+json"

# Names become JSON keys and report column headers: keep them printable and short.
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]{0,99}$")

# Cells papermill adds to an executed notebook; they are not the learner's cells.
_INJECTED_TAGS = {"injected-parameters", "papermill-error-cell-tag"}


@dataclass
class CheckResult:
    """The outcome of one checkpoint."""

    name: str
    passed: bool
    detail: str = ""
    # "checkpoint" for labkit.check.that/run/checkpoint, "exercise" for labkit.check.exercise;
    # exercises also carry the hint shown on failure and the name of the answer checked.
    kind: str = "checkpoint"
    hint: str = ""
    answer: str = ""
    # Set once the result has been shown, so a result that is also the cell's last
    # expression is not displayed (and recorded) a second time.
    _shown: bool = field(default=False, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name, "passed": self.passed, "detail": self.detail}
        if self.kind != "checkpoint":
            # Only exercises grow the shape, so checkpoint entries in results.json stay as they were.
            data.update(kind=self.kind, hint=self.hint, answer=self.answer)
        return data

    @classmethod
    def from_dict(cls, item: Mapping[str, Any]) -> CheckResult:
        return cls(
            str(item["name"]),
            bool(item["passed"]),
            str(item.get("detail", "")),
            kind=str(item.get("kind", "checkpoint")),
            hint=str(item.get("hint", "")),
            answer=str(item.get("answer", "")),
        )

    def _ipython_display_(self) -> None:
        if not self._shown:
            from labkit.check import show

            show(self)


@dataclass(frozen=True)
class NotebookError:
    """Why an executed notebook stopped: exception type, message, failing cell (0-based, source order)."""

    type: str
    message: str
    cell_index: int | None

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.type, "message": self.message, "cell_index": self.cell_index}


@dataclass
class NotebookResults:
    """What an executed notebook recorded."""

    results: dict[str, Any]
    checks: list[CheckResult]
    error: NotebookError | None = None


def validate_name(name: object, what: str = "result") -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} name must be a str, got {type(name).__name__}")
    if not _NAME_RE.match(name):
        raise ValueError(
            f"bad {what} name {name!r}: use letters, digits, '_', '.', '-' (max 100), "
            "starting with a letter or '_'"
        )
    return name


def jsonable(value: Any, where: str = "value") -> Any:
    """Convert ``value`` to plain JSON types, or raise naming the part that cannot be converted.

    numpy scalars and arrays become Python numbers and lists, pandas DataFrames become
    a list of records (one dict per row), Series become dicts, dates become ISO strings.
    Missing values inside pandas objects become null; a bare NaN/inf is an error
    because JSON has no such number.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where} is {value}, which JSON cannot represent; use None for missing values")
        return float(value)
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(
                    f"{where} has a key {key!r} of type {type(key).__name__}; JSON keys must be str"
                )
            out[key] = jsonable(item, f"{where}[{key!r}]")
        return out
    if isinstance(value, list | tuple):
        return [jsonable(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, _dt.datetime | _dt.date | _dt.time):
        return value.isoformat()
    module = type(value).__module__.split(".")[0]
    if module == "numpy":
        return _from_numpy(value, where)
    if module == "pandas":
        return _from_pandas(value, where)
    raise TypeError(
        f"{where} of type {type(value).__module__}.{type(value).__qualname__} is not JSON-serialisable; "
        "record numbers, strings, lists, dicts or pandas DataFrames"
    )


def _from_numpy(value: Any, where: str) -> Any:
    import numpy as np

    if isinstance(value, np.ndarray):
        return jsonable(value.tolist(), where)
    if isinstance(value, np.generic):
        return jsonable(value.item(), where)
    raise TypeError(f"{where} of type numpy.{type(value).__name__} is not JSON-serialisable")


def _missing_to_none(value: Any) -> Any:
    import pandas as pd

    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):  # arrays and other non-scalars: not "missing"
        pass
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, pd.Timedelta):
        return value.total_seconds()
    return value


def _from_pandas(value: Any, where: str) -> Any:
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        if not isinstance(value.index, pd.RangeIndex):
            # A meaningful index (service names, timestamps) is data: keep it as columns.
            value = value.reset_index()
        columns = [str(c) for c in value.columns]
        if len(set(columns)) != len(columns):
            raise ValueError(f"{where} is a DataFrame with duplicate column names {columns}")
        rows = []
        for i, row in enumerate(value.itertuples(index=False, name=None)):
            rows.append(
                {
                    col: jsonable(_missing_to_none(v), f"{where}.row[{i}][{col!r}]")
                    for col, v in zip(columns, row, strict=True)
                }
            )
        return rows
    if isinstance(value, pd.Series):
        return {str(k): jsonable(_missing_to_none(v), f"{where}[{k!r}]") for k, v in value.items()}
    if isinstance(value, pd.Timestamp | pd.Timedelta):
        return _missing_to_none(value)
    raise TypeError(f"{where} of type pandas.{type(value).__name__} is not JSON-serialisable")


def publish(bundle: dict[str, Any]) -> None:
    """Display a raw mime bundle in a kernel; outside one, print its text form."""
    from IPython.core.interactiveshell import InteractiveShell  # ships with ipykernel, a dependency

    if InteractiveShell.initialized():
        from IPython.display import display

        display(bundle, raw=True)
    else:
        print(bundle.get("text/plain", ""))


def record(name: str, value: Any) -> None:
    """Record ``value`` under ``name`` in the running notebook; ``labkit run`` reads it back.

    Raises TypeError/ValueError now (not at read time) if the name is bad or the value
    cannot be stored as JSON.
    """
    validate_name(name)
    data = jsonable(value, f"value of {name!r}")
    text = json.dumps(data, ensure_ascii=False)
    if len(text) > 200:
        text = text[:197] + "..."
    publish({RESULT_MIME: {"name": name, "value": data}, "text/plain": f"recorded {name} = {text}"})


def _source_index(cells: list[Any], index: int) -> int:
    """Index of cell ``index`` among the notebook's own cells (without papermill's injected ones)."""
    return sum(
        1 for cell in cells[:index] if not _INJECTED_TAGS & set(cell.get("metadata", {}).get("tags", []))
    )


def read(path: str | Path) -> NotebookResults:
    """Read the results, checks and error (if any) stored in an executed notebook."""
    path = Path(path)
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise FileNotFoundError(f"cannot read notebook {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path} is not a notebook (invalid JSON: {exc})") from exc
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise ValueError(f"{path} is not a notebook (no 'cells' list)")

    results: dict[str, Any] = {}
    checks: list[CheckResult] = []
    error: NotebookError | None = None
    cells = nb["cells"]
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind in ("display_data", "execute_result"):
                data = output.get("data", {})
                if RESULT_MIME in data:
                    item = data[RESULT_MIME]
                    results[item["name"]] = item["value"]  # later records of a name win
                if CHECK_MIME in data:
                    checks.append(CheckResult.from_dict(data[CHECK_MIME]))
            elif kind == "error" and error is None:
                error = NotebookError(
                    type=str(output.get("ename", "")),
                    message=str(output.get("evalue", "")),
                    cell_index=_source_index(cells, index),
                )
    return NotebookResults(results=results, checks=checks, error=error)
