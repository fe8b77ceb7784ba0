"""The root Typer application every command module registers on."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="labkit",
    help="Run the labkit workbook: notebooks, embedded backends, checks and reports.",
    no_args_is_help=True,
    rich_markup_mode="rich",
    pretty_exceptions_show_locals=False,
)


@app.callback()
def _root() -> None:
    """Run the labkit workbook: notebooks, embedded backends, checks and reports."""
