"""record() validation and conversion, read() on executed notebooks."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest

from labkit import results
from labkit.results import CHECK_MIME, RESULT_MIME, jsonable, read, record


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    bundles: list[dict[str, Any]] = []
    monkeypatch.setattr(results, "publish", bundles.append)
    return bundles


def test_record_emits_result_mimetype_with_text_fallback(published: list[dict[str, Any]]) -> None:
    record("latency_ms", 12.5)
    assert published == [
        {RESULT_MIME: {"name": "latency_ms", "value": 12.5}, "text/plain": "recorded latency_ms = 12.5"}
    ]


def test_record_dataframe_as_records_with_numpy_scalars_and_missing_values(
    published: list[dict[str, Any]],
) -> None:
    frame = pd.DataFrame(
        {
            "n": np.array([1, 2], dtype=np.int64),
            "x": [0.5, np.nan],
            "when": pd.to_datetime(["2026-01-02", None]),
            "name": ["a", None],
        }
    )
    record("table", frame)
    value = published[0][RESULT_MIME]["value"]
    assert value == [
        {"n": 1, "x": 0.5, "when": "2026-01-02T00:00:00", "name": "a"},
        {"n": 2, "x": None, "when": None, "name": None},
    ]
    assert type(value[0]["n"]) is int
    json.dumps(value, allow_nan=False)  # strict JSON


def test_a_meaningful_index_is_kept_as_columns() -> None:
    frame = pd.DataFrame({"p95": [1.0, 2.0]}, index=pd.Index(["api", "db"], name="service"))
    assert jsonable(frame) == [{"service": "api", "p95": 1.0}, {"service": "db", "p95": 2.0}]
    assert jsonable(pd.DataFrame({"x": [1]})) == [{"x": 1}]


def test_jsonable_converts_numpy_and_nested_values() -> None:
    value = {
        "a": np.float32(1.5),
        "b": (1, np.int8(2)),
        "c": np.arange(3),
        "d": dt.date(2026, 1, 2),
        "e": np.bool_(True),
    }
    assert jsonable(value) == {"a": 1.5, "b": [1, 2], "c": [0, 1, 2], "d": "2026-01-02", "e": True}
    assert jsonable(pd.Series({"p50": np.float64(1.0), "p95": np.float64(2.0)})) == {"p50": 1.0, "p95": 2.0}


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ({"x": object()}, TypeError, "value of 'r'['x'] of type builtins.object"),
        ([1, {2: "x"}], TypeError, "key 2 of type int"),
        (float("nan"), ValueError, "JSON cannot represent"),
        ({"inf": float("inf")}, ValueError, "value of 'r'['inf'] is inf"),
        ({1, 2}, TypeError, "builtins.set"),
        (pd.DataFrame([[1, 2]], columns=["a", "a"]), ValueError, "duplicate column"),
    ],
)
def test_record_refuses_unserialisable_values_naming_the_part(
    published: list[dict[str, Any]], value: Any, error: type[Exception], words: str
) -> None:
    with pytest.raises(error, match=words.replace("[", r"\[").replace("(", r"\(")):
        record("r", value)
    assert published == []


@pytest.mark.parametrize(
    ("name", "error"), [("", ValueError), ("has space", ValueError), ("1st", ValueError), (3, TypeError)]
)
def test_record_refuses_bad_names(published: list[dict[str, Any]], name: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="name"):
        record(name, 1)


def test_record_outside_a_kernel_prints_the_text(capsys: pytest.CaptureFixture[str]) -> None:
    record("answer", 42)
    assert capsys.readouterr().out == "recorded answer = 42\n"


def _cell(outputs: list[dict[str, Any]], tags: list[str] | None = None) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell("pass")
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    if tags:
        cell.metadata["tags"] = tags
    return cell


def _display(data: dict[str, Any]) -> dict[str, Any]:
    return {"output_type": "display_data", "data": data, "metadata": {}}


def test_read_returns_results_checks_and_the_failing_cell_in_source_order(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("papermill error banner"),
        _cell([], ["parameters"]),
        _cell([], ["injected-parameters"]),
        _cell([_display({RESULT_MIME: {"name": "a", "value": 1}, "text/plain": "a"})]),
        _cell([_display({CHECK_MIME: {"name": "c1", "passed": True, "detail": "ok"}, "text/plain": "c1"})]),
        _cell([_display({RESULT_MIME: {"name": "a", "value": 2}, "text/plain": "a"})]),
        _cell([{"output_type": "error", "ename": "KeyError", "evalue": "'x'", "traceback": []}]),
        _cell([{"output_type": "error", "ename": "Later", "evalue": "", "traceback": []}]),
    ]
    nb.cells[0].metadata["tags"] = ["papermill-error-cell-tag"]
    path = tmp_path / "executed.ipynb"
    nbformat.write(nb, path)

    got = read(path)
    assert got.results == {"a": 2}  # the last record of a name wins
    assert [c.to_dict() for c in got.checks] == [{"name": "c1", "passed": True, "detail": "ok"}]
    assert got.error is not None
    # 6 in the executed file, 4 in the notebook as written (banner and injected cell removed)
    assert got.error.to_dict() == {"type": "KeyError", "message": "'x'", "cell_index": 4}


def test_read_rejects_missing_and_non_notebook_files(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="cannot read notebook"):
        read(tmp_path / "absent.ipynb")
    bad = tmp_path / "bad.ipynb"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError, match="not a notebook"):
        read(bad)
    bad.write_text('{"cells": 3}', encoding="utf-8")
    with pytest.raises(ValueError, match="no 'cells' list"):
        read(bad)
