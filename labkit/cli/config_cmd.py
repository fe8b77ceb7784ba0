"""``labkit config``: the effective settings and where each came from."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from labkit.cli._app import app
from labkit.config import ConfigError, load_settings_with_sources


@app.command("config")
def config_command() -> None:
    """Print the effective configuration, the source of each value, secrets masked."""
    console = Console()
    try:
        _, sources = load_settings_with_sources()
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    table = Table(title="labkit configuration")
    table.add_column("setting")
    table.add_column("value")
    table.add_column("source")
    for row in sources:
        table.add_row(row.name, row.shown, row.source)
    console.print(table)
