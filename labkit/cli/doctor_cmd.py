"""``labkit doctor``: a table of what this machine has for a stage, with a fix per failing row."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from labkit.cli._app import app

__all__ = ["doctor_command"]


@app.command("doctor")
def doctor_command(
    stage: str | None = typer.Option(
        None,
        "--stage",
        help="Stage to check for: docker, kubernetes, lgtm, otel, agents, rag, production, all.",
    ),
) -> None:
    """Check Python, packages, Docker, compose, kubectl, endpoints and the API key. Exit 0 when ready."""
    from labkit.config import ConfigError
    from labkit.doctor import diagnose

    console = Console()
    try:
        report = diagnose(stage)
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    except ValueError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table(title=f"labkit doctor (stage: {report.stage or 'default'})")
    for column in ("", "check", "needed", "detail", "fix"):
        table.add_column(column)
    for row in report.rows:
        style = "green" if row.ok else ("red" if row.required else "yellow")
        table.add_row(
            f"[{style}]{row.mark}[/{style}]",
            escape(row.name),  # "[ml] extras" is text, not rich markup
            "required" if row.required else "optional",
            escape(row.detail),
            "" if row.ok else escape(row.fix),
        )
    console.print(table)
    if report.ok:
        console.print("[green]ready[/green]")
    else:
        console.print(f"[red]not ready:[/red] {len(report.failed)} required check(s) failed")
    raise typer.Exit(0 if report.ok else 1)
