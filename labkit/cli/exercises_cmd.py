"""``labkit exercises build``: generate the learner edition of the workbook."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["build_command", "exercises_app"]

exercises_app = typer.Typer(
    help="The workbook's exercises: build the learner edition (solutions replaced by stubs and hints).",
    no_args_is_help=True,
)
app.add_typer(exercises_app, name="exercises")


@exercises_app.command("build")
def build_command(
    notebooks: list[Path] = typer.Argument(
        None, help="Solution notebooks or folders (default: notebooks/).", show_default=False
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Folder for the learner edition (default: <data_dir>/learner)."
    ),
    force: bool = typer.Option(
        False, "--force", help="Overwrite learner notebooks that already exist (loses the learner's edits)."
    ),
) -> None:
    """Write the learner edition: every ### BEGIN/END SOLUTION block becomes a stub plus its hint.

    Existing learner notebooks are kept (they hold the learner's work) unless --force.
    Exit code 2 when a notebook has a broken marker; nothing is written then.
    """
    from labkit.config import ConfigError
    from labkit.exercises import MarkerError, build_learner_edition
    from labkit.runner import RunError

    console = Console()
    try:
        report = build_learner_edition(list(notebooks or []), output, force=force)
    except (MarkerError, RunError, ConfigError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    total = sum(report.exercises.values())
    console.print(
        f"learner edition in {report.output}: {len(report.written)} written, "
        f"{len(report.kept)} kept (already there), {total} exercises"
    )
    for name in report.kept:
        console.print(f"  kept {name} (use --force to replace it with a fresh copy)")
