"""``labkit report``: one self-contained HTML page over one or many run folders.

A cohort is a set of run folders (one per learner, or one per attempt). The page has
the run x notebook status grid, checkpoint pass rates, recorded results as tables, the
errors, and a durations plot. Everything is inline (CSS, SVG), so the file can be
mailed or opened offline; all learner-provided text is escaped by the template.
"""

from __future__ import annotations

import io
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "CohortReport",
    "ReportError",
    "build",
    "load_run",
    "notebook_figures",
    "render",
    "write",
    "write_report",
]

_STATUSES = ("ok", "failed", "timeout", "skipped")


class ReportError(ValueError):
    """A run folder cannot be read; the message names it."""


@dataclass
class Cell:
    status: str
    duration_s: float
    checks_passed: int
    checks_total: int
    error: dict[str, Any] | None
    reason: str | None = None  # skipped: what was missing
    fix: str | None = None

    @property
    def css(self) -> str:
        if self.status != "ok":
            return self.status
        return "ok" if self.checks_passed == self.checks_total else "checkfail"


@dataclass
class CheckRate:
    notebook: str
    name: str
    passed: int
    total: int

    @property
    def percent(self) -> float:
        return 100.0 * self.passed / self.total if self.total else 0.0


@dataclass
class CohortReport:
    runs: list[dict[str, Any]]
    notebooks: list[str]
    grid: dict[tuple[str, str], Cell]
    check_rates: list[CheckRate]
    results: dict[str, tuple[list[str], list[tuple[str, dict[str, Any]]]]]  # notebook -> (names, rows)
    errors: list[dict[str, Any]]
    failed_checks: list[dict[str, Any]]
    skipped: list[dict[str, Any]] = field(default_factory=list)
    figures: list[dict[str, Any]] = field(default_factory=list)  # run, notebook, images (base64 PNG)
    problems: list[str] = field(default_factory=list)  # sources that could not be read
    progress: list[Any] = field(default_factory=list)  # labkit.progress.StageProgress rows
    learners: list[Any] = field(default_factory=list)  # labkit.progress.LearnerSummary rows
    generated: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def load_run(run_dir: str | Path) -> dict[str, Any]:
    """Read and validate ``run_dir/results.json``."""
    run_dir = Path(run_dir)
    path = run_dir / "results.json" if run_dir.is_dir() else run_dir
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{run_dir} is not a run folder: no results.json") from None
    except (OSError, json.JSONDecodeError) as exc:
        raise ReportError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict) or not isinstance(data.get("notebooks"), list) or "run_id" not in data:
        raise ReportError(f"{path} is not a labkit results.json (needs run_id and a notebooks list)")
    for i, nb in enumerate(data["notebooks"]):
        if (
            not isinstance(nb, dict)
            or not isinstance(nb.get("path"), str)
            or nb.get("status") not in _STATUSES
        ):
            raise ReportError(f"{path}: notebooks[{i}] needs a path and a status in {_STATUSES}")
    return data


def _order(paths: set[str]) -> list[str]:
    from labkit.runner import _order_key

    return sorted(paths, key=_order_key)


def build(sources: list[str | Path], *, figures: bool | None = None) -> CohortReport:
    """The report over ``sources``: run folders, folders of submissions, ``labkit share``
    archives (``labkit.submissions``). A source that cannot be read is listed in
    ``report.problems`` and the others are still reported; if none can be read, ReportError.

    ``figures`` (default: for a single run) embeds the notebooks' charts, which would make
    a cohort page of many runs very large.
    """
    import tempfile

    if not sources:
        raise ReportError("give at least one run folder")
    with tempfile.TemporaryDirectory(prefix="labkit-report-") as work:
        return _build(sources, Path(work), figures)


def _build(sources: list[str | Path], work: Path, figures: bool | None) -> CohortReport:
    from labkit.progress import learner_summaries, stage_progress
    from labkit.submissions import expand

    expanded = expand(sources, work)
    problems = list(expanded.problems)
    runs: list[dict[str, Any]] = []
    run_dirs: list[Path] = []
    for run_dir, origin in expanded.runs:
        try:
            run = load_run(run_dir)
        except ReportError as exc:
            problems.append(str(exc).replace(str(run_dir), origin))  # name the archive, not a temp dir
            continue
        run["origin"] = origin
        runs.append(run)
        run_dirs.append(run_dir)
    if not runs:
        raise ReportError("; ".join(problems) or "no runs found")
    # Two folders can hold the same run id (a copied run); keep their labels apart.
    seen: dict[str, int] = {}
    for run, run_dir in zip(runs, run_dirs, strict=True):
        label = str(run["run_id"])
        seen[label] = seen.get(label, 0) + 1
        run["label"] = label if seen[label] == 1 else f"{label} ({Path(run_dir).name})"

    notebooks = _order({nb["path"] for run in runs for nb in run["notebooks"]})
    grid: dict[tuple[str, str], Cell] = {}
    rates: dict[tuple[str, str], CheckRate] = {}
    results: dict[str, tuple[list[str], list[tuple[str, dict[str, Any]]]]] = {}
    errors: list[dict[str, Any]] = []
    failed_checks: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for run in runs:
        for nb in run["notebooks"]:
            checks = nb.get("checks") or []
            passed = sum(1 for c in checks if c.get("passed"))
            grid[(run["label"], nb["path"])] = Cell(
                nb["status"],
                float(nb.get("duration_s") or 0.0),
                passed,
                len(checks),
                nb.get("error"),
                nb.get("reason"),
                nb.get("fix"),
            )
            for c in checks:
                rate = rates.setdefault(
                    (nb["path"], str(c.get("name"))), CheckRate(nb["path"], str(c.get("name")), 0, 0)
                )
                rate.total += 1
                rate.passed += 1 if c.get("passed") else 0
                if not c.get("passed"):
                    failed_checks.append(
                        {
                            "run": run["label"],
                            "notebook": nb["path"],
                            "name": rate.name,
                            "detail": c.get("detail", ""),
                        }
                    )
            recorded = nb.get("results") or {}
            if recorded:
                names, rows = results.setdefault(nb["path"], ([], []))
                names.extend(n for n in recorded if n not in names)
                rows.append((run["label"], recorded))
            if nb["status"] == "skipped":
                skipped.append(
                    {
                        "run": run["label"],
                        "notebook": nb["path"],
                        "reason": nb.get("reason") or "",
                        "fix": nb.get("fix") or "",
                    }
                )
            if nb.get("error"):
                errors.append(
                    {"run": run["label"], "notebook": nb["path"], "status": nb["status"], **nb["error"]}
                )
    check_rates = sorted(rates.values(), key=lambda r: (notebooks.index(r.notebook), r.name))
    ordered_results = {nb: results[nb] for nb in notebooks if nb in results}
    report = CohortReport(runs, notebooks, grid, check_rates, ordered_results, errors, failed_checks, skipped)
    report.problems = problems
    report.progress = stage_progress(runs)
    report.learners = learner_summaries(report.progress)
    if figures if figures is not None else len(runs) == 1:
        report.figures = _figures(runs, run_dirs)
    return report


def durations_svg(report: CohortReport) -> str:
    """Median duration per notebook as bars, each run's duration as a dot; inline SVG."""
    from matplotlib.backends.backend_svg import FigureCanvasSVG
    from matplotlib.figure import Figure

    names = report.notebooks
    fig = Figure(figsize=(8, max(1.6, 0.45 * len(names) + 0.9)))
    FigureCanvasSVG(fig)
    ax = fig.add_subplot()
    positions = list(range(len(names)))
    medians = []
    for pos, name in zip(positions, names, strict=True):
        values = [
            report.grid[(run["label"], name)].duration_s
            for run in report.runs
            if (run["label"], name) in report.grid
        ]
        medians.append(statistics.median(values) if values else 0.0)
        ax.plot(values, [pos] * len(values), "o", color="#1f4e79", markersize=4, alpha=0.7)
    ax.barh(positions, medians, color="#9ecae1", height=0.6, label="median")
    ax.set_yticks(positions)
    # parse_math=False: a notebook called "$cost.ipynb" must not be read as TeX.
    ax.set_yticklabels(names, parse_math=False)
    ax.invert_yaxis()
    ax.set_xlabel("duration (s)")
    ax.set_title("Notebook durations (bar: median, dots: runs)")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog and doctype inside HTML


MAX_FIGURES_PER_NOTEBOOK = 12


def notebook_figures(path: str | Path) -> list[tuple[int, bytes]]:
    """The ``image/png`` outputs of an executed notebook as ``(cell index, PNG bytes)``, in order.

    The run report embeds these, so the charts a learner saw are in the one HTML file.
    An unreadable notebook has no figures (its own error is reported elsewhere).
    """
    import base64
    import binascii

    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    found: list[tuple[int, bytes]] = []
    for index, cell in enumerate(cells if isinstance(cells, list) else []):
        for output in cell.get("outputs", []) if isinstance(cell, dict) else []:
            data = output.get("data", {}) if isinstance(output, dict) else {}
            png = data.get("image/png") if isinstance(data, dict) else None
            if isinstance(png, list):
                png = "".join(png)
            if not isinstance(png, str):
                continue
            try:
                found.append((index, base64.b64decode(png, validate=False)))
            except (binascii.Error, ValueError):
                continue
    return found


def _figures(runs: list[dict[str, Any]], run_dirs: Sequence[str | Path]) -> list[dict[str, Any]]:
    import base64

    shown = []
    for run, run_dir in zip(runs, run_dirs, strict=True):
        base = Path(run_dir)
        if not base.is_dir():
            continue
        for nb in run["notebooks"]:
            figures = notebook_figures(base / nb["path"])[:MAX_FIGURES_PER_NOTEBOOK]
            if figures:
                shown.append(
                    {
                        "run": run["label"],
                        "notebook": nb["path"],
                        "images": [(i, base64.b64encode(png).decode("ascii")) for i, png in figures],
                    }
                )
    return shown


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) for v in value)


def _render_value(value: Any) -> dict[str, Any]:
    """Shape a recorded value for the template: records -> table, dict -> key/value table, else text."""
    if _is_records(value):
        columns: list[str] = []
        for row in value:
            columns.extend(k for k in row if k not in columns)
        shown = value[:20]
        return {
            "kind": "records",
            "columns": columns,
            "rows": [[_short(row.get(c)) for c in columns] for row in shown],
            "more": len(value) - len(shown),
        }
    if isinstance(value, dict) and value and len(value) <= 30:
        return {"kind": "mapping", "rows": [(str(k), _short(v)) for k, v in value.items()]}
    return {"kind": "text", "text": _short(value, 300)}


def _short(value: Any, limit: int = 80) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def render(report: CohortReport, title: str = "labkit report") -> str:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("labkit", "templates"),
        autoescape=True,  # every string from a results.json is learner content
        undefined=jinja2.StrictUndefined,
    )
    template = env.get_template("report.html.j2")
    return template.render(
        title=title,
        report=report,
        plot_svg=durations_svg(report) if report.notebooks else "",
        render_value=_render_value,
        statuses=_STATUSES,
    )


def write_report(
    run_dirs: list[str | Path], output: str | Path, title: str | None = None, *, csv: str | Path | None = None
) -> Path:
    """Build the report over ``run_dirs`` and write it to ``output`` (and the progress rows to
    ``csv``); returns the path. See :func:`write` for the report object too."""
    return write(run_dirs, output, title, csv=csv)[0]


def write(
    sources: list[str | Path], output: str | Path, title: str | None = None, *, csv: str | Path | None = None
) -> tuple[Path, CohortReport]:
    """Build, write the HTML (atomically) and optionally the CSV; returns the path and the report."""
    from labkit.progress import write_csv

    report = build(sources)
    if title is None:
        title = (
            f"labkit run {report.runs[0]['label']}"
            if len(report.runs) == 1
            else f"labkit cohort ({len(report.runs)} runs)"
        )
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    tmp = output.with_name(output.name + ".tmp")
    tmp.write_text(render(report, title), encoding="utf-8")
    tmp.replace(output)
    if csv is not None:
        write_csv(report.progress, csv)
    return output, report
