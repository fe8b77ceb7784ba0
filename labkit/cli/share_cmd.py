"""``labkit share``: one scrubbed archive of a run folder, for handing in."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["share_command"]


@app.command("share")
def share_command(
    run_dir: Path = typer.Argument(..., help="The run folder (holding results.json).", show_default=False),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Archive to write (default: ./<learner>-<run-id>.tar.gz)."
    ),
) -> None:
    """Write a .tar.gz of the run's executed notebooks, results.json and report.html, with
    secrets, secret environment values and local paths (home, project, user names) removed."""
    from labkit.config import ConfigError
    from labkit.share import ShareError, share

    console = Console()
    try:
        shared = share(run_dir, output)
    except (ShareError, ConfigError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    removed = ", ".join(f"{n} {kind}" for kind, n in sorted(shared.redactions.items())) or "nothing"
    console.print(f"shared: {shared.path} ({len(shared.files)} files; removed {removed})")
