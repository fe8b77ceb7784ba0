"""``labkit report``: one offline HTML page over one or many run folders (a cohort)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["report_command"]


@app.command("report")
def report_command(
    run_dirs: list[Path] = typer.Argument(
        ..., help="Run folders (each holding results.json).", show_default=False
    ),
    output: Path = typer.Option(Path("report.html"), "--output", "-o", help="HTML file to write."),
) -> None:
    """Aggregate run folders into one HTML report: status grid, check pass rates, results, durations."""
    from labkit.report import ReportError, write_report

    console = Console()
    try:
        path = write_report(list(run_dirs), output)
    except ReportError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    console.print(f"report: {path} ({len(run_dirs)} run(s))")
