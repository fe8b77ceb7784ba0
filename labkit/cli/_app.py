"""The root Typer application every command module registers on."""

from __future__ import annotations

import typer
from rich.console import Console

from labkit.config import ConfigError, Settings, load_settings

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


def settings_or_exit(console: Console) -> Settings:
    """The effective settings; a bad value is printed (naming the setting) and exits 2."""
    try:
        return load_settings()
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
