"""``labkit stack up|status|down``: the embedded LGTM server as a background process, or the
live Docker compose stack (``--backend live``, driven by :mod:`labkit.stack_live`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from labkit.cli._app import app, settings_or_exit
from labkit.config import Backend, Settings

stack_app = typer.Typer(help="Start, inspect and stop the LGTM stack (embedded server by default).")
app.add_typer(stack_app, name="stack")


class StackBackend(StrEnum):
    EMBEDDED = "embedded"
    LIVE = "live"


def _is_live(settings: Settings, option: StackBackend | None) -> bool:
    chosen = option or (StackBackend.LIVE if settings.backend == Backend.LIVE else StackBackend.EMBEDDED)
    return chosen == StackBackend.LIVE


def _embedded_settings(action: str, backend: StackBackend | None, console: Console) -> Settings | None:
    """Settings for the embedded server, or None once ``action`` has gone to the live stack instead."""
    settings = settings_or_exit(console)
    if _is_live(settings, backend):
        _live(action, settings, console)
        return None
    return settings


def _live_table(states: list[Any]) -> Table:
    table = Table(title="live LGTM stack (stacks/lgtm)")
    for column in ("service", "url", "container", "health", "ready", "detail"):
        table.add_column(column)
    for st in states:
        mark = "[green]ready[/green]" if st.ready else "[red]not ready[/red]"
        table.add_row(st.service, st.url, st.state or "-", st.health or "-", mark, st.detail)
    return table


def _live(action: str, settings: Settings, console: Console) -> None:
    from labkit import stack_live

    try:
        if action == "up":
            console.print("starting the live stack with docker compose (first start pulls images)...")
            states = stack_live.up(settings)
        elif action == "down":
            stack_live.down()
            console.print("live LGTM stack stopped")
            return
        else:
            states = stack_live.status(settings)
    except stack_live.LiveStackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(_live_table(states))
    if not all(st.ready for st in states):
        raise typer.Exit(1)


def _signal_table(signals: dict[str, dict[str, int]]) -> Table:
    table = Table(title="rows per signal")
    table.add_column("signal")
    table.add_column("table")
    table.add_column("rows", justify="right")
    for signal, tables in sorted(signals.items()):
        for name, count in sorted(tables.items()):
            table.add_row(signal, name, f"{count:,}")
    return table


BackendOption = typer.Option(
    None,
    "--backend",
    help="embedded (default unless backend=live) or live (docker compose)",
)


@stack_app.command("up")
def up_command(backend: StackBackend | None = BackendOption) -> None:
    """Start the embedded LGTM server in the background and print its endpoints."""
    from labkit.lgtm import process

    console = Console()
    settings = _embedded_settings("up", backend, console)
    if settings is None:
        return
    try:
        info = process.start(settings)
    except process.StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    if info.already_running:
        console.print(f"embedded LGTM server already running (pid {info.pid})")
    else:
        console.print(f"embedded LGTM server started (pid {info.pid}, ready in {info.startup_s:.2f} s)")
    for name, url in info.urls.items():
        console.print(f"  {name:<10} {url}")
    console.print(f"  log        {info.log_path}")
    for warning in info.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")


@stack_app.command("status")
def status_command(backend: StackBackend | None = BackendOption) -> None:
    """Health and row counts per signal; exit code 1 when the server is not running."""
    from labkit.lgtm import process

    console = Console()
    settings = _embedded_settings("status", backend, console)
    if settings is None:
        return
    info = process.status(settings)
    if not info.running:
        extra = f" (pid {info.pid} is alive but does not answer)" if info.pid else ""
        console.print(f"embedded LGTM server: [red]not running[/red]{extra}; start it with `labkit stack up`")
        raise typer.Exit(1)
    uptime = info.raw.get("uptime_s", 0.0)
    healthy = all(info.ready.values())
    state = "[green]healthy[/green]" if healthy else "[red]degraded[/red]"
    console.print(f"embedded LGTM server: {state} (pid {info.pid}, up {uptime:.0f} s)")
    for name, url in info.urls.items():
        mark = "ready" if info.ready.get(name) else "NOT ANSWERING"
        console.print(f"  {name:<10} {url:<40} {mark}")
    console.print(_signal_table(info.signals))
    for warning in info.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}")
    if not healthy:
        raise typer.Exit(1)


@stack_app.command("down")
def down_command(backend: StackBackend | None = BackendOption) -> None:
    """Stop the embedded LGTM server (SIGTERM, wait, remove the pid file)."""
    from labkit.lgtm import process

    console = Console()
    settings = _embedded_settings("down", backend, console)
    if settings is None:
        return
    try:
        pid = process.stop(settings)
    except process.StackError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    console.print(
        "embedded LGTM server was not running" if pid is None else f"embedded LGTM server stopped (pid {pid})"
    )
