"""``labkit report``: one offline HTML page over one or many run folders (a cohort)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from labkit.cli._app import app

__all__ = ["report_command"]


@app.command("report")
def report_command(
    run_dirs: list[Path] = typer.Argument(
        ...,
        help="Run folders, folders of submissions, or `labkit share` archives (.tar.gz, .zip).",
        show_default=False,
    ),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="HTML file to write."),
    csv: Path | None = typer.Option(
        None, "--csv", help="Also write progress per learner and stage as CSV to this file."
    ),
) -> None:
    """Aggregate runs into one HTML report: progress per learner and stage, status grid,
    check pass rates, results, durations.

    A source that cannot be read (a corrupted archive, a folder without results.json) is
    named and skipped; the others are still reported, and the exit code is then 1.
    """
    from labkit.report import ReportError, write

    console = Console()
    try:
        path, report = write(list(run_dirs), output, csv=csv)
    except ReportError as exc:
        console.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    for problem in report.problems:
        console.print(f"[red]error:[/red] {escape(problem)}")
    learners = len({r.learner for r in report.progress})
    console.print(f"report: {path} ({len(report.runs)} run(s), {learners} learner(s))")
    if csv is not None:
        console.print(f"csv:    {csv} ({len(report.progress)} rows: learner x stage)")
    if report.problems:
        raise typer.Exit(1)
