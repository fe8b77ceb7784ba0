"""labkit report over synthetic run folders: grid, pass rates, results, plot, escaping, offline."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.report import ReportError, build, write_report


def make_run(root: Path, run_id: str, notebooks: list[dict[str, Any]]) -> Path:
    run_dir = root / run_id
    run_dir.mkdir(parents=True)
    data = {
        "run_id": run_id,
        "started": "2026-11-26T05:00:00+00:00",
        "finished": "2026-11-26T05:01:00+00:00",
        "backend": "embedded",
        "notebooks": notebooks,
    }
    (run_dir / "results.json").write_text(json.dumps(data), encoding="utf-8")
    return run_dir


def nb(path: str, status: str = "ok", **extra: Any) -> dict[str, Any]:
    return {
        "path": path,
        "status": status,
        "duration_s": 1.5,
        "error": None,
        "results": {},
        "checks": [],
        **extra,
    }


@pytest.fixture
def cohort(tmp_path: Path) -> list[Path]:
    alice = make_run(
        tmp_path,
        "20261126-050000-aaaa",
        [
            nb(
                "00-start-here/00-start-here.ipynb",
                results={"p95_ms": 12.5, "rows": [{"a": 1, "b": "<b>bold</b>"}]},
                checks=[{"name": "stack up", "passed": True, "detail": ""}],
            ),
            nb("01-docker/build.ipynb", checks=[{"name": "image built", "passed": True, "detail": "ok"}]),
        ],
    )
    bob = make_run(
        tmp_path,
        "20261126-060000-bbbb",
        [
            nb(
                "00-start-here/00-start-here.ipynb",
                results={"p95_ms": 30.0},
                checks=[{"name": "stack up", "passed": False, "detail": "<script>alert(1)</script>"}],
            ),
            nb(
                "01-docker/build.ipynb",
                "failed",
                error={"type": "ValueError", "message": "<img src=x onerror=alert(2)>", "cell_index": 3},
            ),
            nb("10-later/x.ipynb", "timeout", duration_s=9.0),
        ],
    )
    return [alice, bob]


def test_build_aggregates_grid_rates_and_results(cohort: list[Path]) -> None:
    report = build(cohort)
    assert [r["label"] for r in report.runs] == ["20261126-050000-aaaa", "20261126-060000-bbbb"]
    assert report.notebooks == [
        "00-start-here/00-start-here.ipynb",
        "01-docker/build.ipynb",
        "10-later/x.ipynb",
    ]
    assert report.grid[("20261126-060000-bbbb", "01-docker/build.ipynb")].status == "failed"
    assert report.grid[("20261126-060000-bbbb", "00-start-here/00-start-here.ipynb")].css == "checkfail"
    assert ("20261126-050000-aaaa", "10-later/x.ipynb") not in report.grid
    rates = {(r.notebook, r.name): (r.passed, r.total) for r in report.check_rates}
    assert rates == {
        ("00-start-here/00-start-here.ipynb", "stack up"): (1, 2),
        ("01-docker/build.ipynb", "image built"): (1, 1),
    }
    names, rows = report.results["00-start-here/00-start-here.ipynb"]
    assert names == ["p95_ms", "rows"] and [label for label, _ in rows] == [r["label"] for r in report.runs]
    assert report.errors[0]["cell_index"] == 3


def test_html_has_both_runs_an_inline_plot_escaped_content_and_no_network(
    cohort: list[Path], tmp_path: Path
) -> None:
    out = write_report(cohort, tmp_path / "out" / "cohort.html")
    page = out.read_text(encoding="utf-8")
    grid = page[page.index('<table class="grid">') : page.index("</table>")]
    assert "20261126-050000-aaaa" in grid and "20261126-060000-bbbb" in grid
    assert grid.count('<td class="failed">') == 1 and grid.count('<td class="timeout">') == 1
    assert "<svg" in page and "Notebook durations" in page
    assert "50%" in page  # stack up: 1 of 2
    # learner content is escaped wherever it appears
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<b>bold</b>" not in page
    # offline: no scripts, stylesheets or images fetched from anywhere
    assert "<script" not in page and "<link" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?https?://""", page)


def test_single_run_title_and_results_table(cohort: list[Path], tmp_path: Path) -> None:
    page = write_report(cohort[:1], tmp_path / "one.html").read_text(encoding="utf-8")
    assert "<title>labkit run 20261126-050000-aaaa</title>" in page
    assert "12.5" in page and "p95_ms" in page


def test_duplicate_run_ids_stay_apart(cohort: list[Path], tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "results.json").write_text(
        (cohort[0] / "results.json").read_text(encoding="utf-8"), encoding="utf-8"
    )
    report = build([cohort[0], copy])
    assert [r["label"] for r in report.runs] == ["20261126-050000-aaaa", "20261126-050000-aaaa (copy)"]


def test_bad_run_folders_are_named(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"no results\.json"):
        build([tmp_path])
    (tmp_path / "results.json").write_text('{"run_id": "x", "notebooks": [{"path": "a", "status": "weird"}]}')
    with pytest.raises(ReportError, match=r"notebooks\[0\]"):
        build([tmp_path])
    with pytest.raises(ReportError, match="at least one"):
        build([])


def test_report_cli(cohort: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    result = CliRunner().invoke(app, ["report", *map(str, cohort), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and "2 run(s)" in result.output
    result = CliRunner().invoke(app, ["report", str(tmp_path / "missing")])
    assert result.exit_code == 2 and "not a run folder" in result.output
