"""``labkit rules check|list|alerts``: validate rule files, and ask a ruler what it runs.

``check`` validates files offline, like ``promtool check rules`` (PromQL, Mimir's ruler)
or with ``--logql`` for Loki's ruler, and exits 1 naming the file, group, rule and
position of the first problem in each bad file. ``list`` and ``alerts`` query the
configured Mimir (or ``--loki``) ruler API, embedded or live alike.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

from labkit.cli._app import app
from labkit.config import ConfigError, load_settings

rules_app = typer.Typer(help="Validate rule files and list the rules and alerts of a ruler.")
app.add_typer(rules_app, name="rules")


@rules_app.command("check")
def check_command(
    files: list[Path] = typer.Argument(..., help="rule files (Prometheus rule-file YAML)"),
    logql: bool = typer.Option(False, "--logql", help="the queries are LogQL (Loki's ruler)"),
) -> None:
    """Validate rule files: YAML, fields, durations, templates and query syntax."""
    from labkit.lgtm.rules import RuleFileError, check_rule_file

    console = Console(emoji=False)
    failed = 0
    for path in files:
        try:
            n = check_rule_file(str(path), "logql" if logql else "promql")
        except RuleFileError as exc:
            failed += 1
            console.print(Text.assemble(("FAILED ", "red"), str(exc)), soft_wrap=True)
            continue
        console.print(Text.assemble(("SUCCESS ", "green"), f"{path}: {n} rules found"), soft_wrap=True)
    if failed:
        raise typer.Exit(1)


def _client(loki: bool):  # type: ignore[no-untyped-def]
    from labkit.observe import Loki, Mimir

    try:
        settings = load_settings()
    except ConfigError as exc:
        Console().print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    return Loki(settings=settings) if loki else Mimir(settings=settings)


@rules_app.command("list")
def list_command(
    loki: bool = typer.Option(False, "--loki", help="Loki's ruler instead of Mimir's"),
    kind: str = typer.Option("", "--type", help="alert or record"),
) -> None:
    """The rules a running ruler evaluates, with state, health and last error."""
    from labkit.observe import ObserveError

    console = Console(emoji=False)
    try:
        frame = _client(loki).rules(kind or None)
    except (ObserveError, ValueError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    table = Table(title=f"{'Loki' if loki else 'Mimir'} rules")
    for col in ("group", "name", "type", "state", "health", "alerts", "last_error"):
        table.add_column(col)
    for row in frame.itertuples():
        cells = (row.group, row.name, row.type, row.state, row.health, row.alerts, row.last_error)
        table.add_row(*(Text(str(c)) for c in cells))  # Text: a query's [5m] is not markup
    console.print(table)


@rules_app.command("alerts")
def alerts_command(
    loki: bool = typer.Option(False, "--loki", help="Loki's ruler instead of Mimir's"),
) -> None:
    """Pending and firing alerts of a running ruler."""
    from labkit.observe import ObserveError

    console = Console(emoji=False)
    try:
        frame = _client(loki).alerts()
    except ObserveError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    table = Table(title=f"{'Loki' if loki else 'Mimir'} alerts")
    for col in ("alertname", "state", "value", "active_at", "labels"):
        table.add_column(col)
    for row in frame.itertuples():
        labels = ", ".join(f"{k}={v}" for k, v in row.labels.items() if k != "alertname")
        cells = (row.alertname, row.state, f"{row.value:g}", str(row.active_at), labels)
        table.add_row(*(Text(c) for c in cells))
    console.print(table)
