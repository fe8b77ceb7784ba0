"""``labkit run``: execute notebooks in curriculum order and write a run folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from labkit.cli._app import app

__all__ = ["run_command"]

_STATUS_STYLE = {"ok": "green", "failed": "red", "timeout": "magenta", "skipped": "yellow"}


class _RunCommand(typer.core.TyperCommand):
    """``-p KEY VALUE`` takes two words, which Typer cannot declare for a repeatable option.

    The raw arguments are rewritten to ``-p KEY=VALUE`` before parsing (a KEY is an
    identifier, so it never holds ``=``); a ``-p`` without both words is a usage error.
    """

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        rewritten: list[str] = []
        i = 0
        while i < len(args):
            arg = args[i]
            if arg == "--":
                rewritten.extend(args[i:])
                break
            if arg in ("-p", "--parameter"):
                if len(args) - i < 3:
                    raise typer.BadParameter("needs two values: -p KEY VALUE", param_hint="-p/--parameter")
                rewritten += [arg, f"{args[i + 1]}={args[i + 2]}"]
                i += 3
                continue
            rewritten.append(arg)
            i += 1
        return super().parse_args(ctx, rewritten)


@app.command("run", cls=_RunCommand)
def run_command(
    paths: list[Path] = typer.Argument(
        None, help="Notebook files or folders (default: notebooks/).", show_default=False
    ),
    stage: str | None = typer.Option(
        None,
        "--stage",
        help="Only this stage's folder: its number, name or full name (01, docker, 01-docker).",
    ),
    output_dir: Path | None = typer.Option(
        None, "--output-dir", help="Run folder to write (default: runs/<run-id>/)."
    ),
    parameter: list[str] = typer.Option(
        [],
        "-p",
        "--parameter",
        metavar="KEY VALUE",
        help="KEY VALUE injected into each notebook's parameters cell; VALUE is JSON when it parses.",
        show_default=False,
    ),
    timeout: float = typer.Option(
        600.0, "--timeout", help="Seconds per notebook before its kernel is killed."
    ),
    strict: bool = typer.Option(
        False,
        "--strict",
        help="A notebook skipped for a missing need (docker, a cluster, a key) fails the run.",
    ),
) -> None:
    """Execute notebooks with papermill, one fresh kernel each, and write results.json and report.html.

    A notebook whose needs (metadata.labkit.requires) this machine lacks is skipped with
    the fix. Exit code 0 only if every notebook that ran reached the end with every check
    passing (and, with --strict, nothing was skipped).
    """
    from labkit.config import ConfigError, load_settings
    from labkit.lgtm.process import StackError
    from labkit.runner import RunError, discover, parse_parameter, run_notebooks

    console = Console()
    parameters: dict[str, Any] = {}
    for pair in parameter:  # "KEY=VALUE", see _RunCommand
        key, _, value = pair.partition("=")
        if not key.isidentifier():
            console.print(f"[red]error:[/red] parameter name {key!r} is not a Python identifier")
            raise typer.Exit(2)
        parameters[key] = parse_parameter(value)
    try:
        settings = load_settings()
    except ConfigError as exc:
        console.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None

    try:
        total = len(discover(paths or (), stage))
    except RunError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None

    with Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task("starting", total=total)

        def on_progress(event: str, spec: Any, run: Any) -> None:
            if event == "start":
                progress.update(task, description=spec.path)
            else:
                style = _STATUS_STYLE.get(run.status, "white")
                if run.status == "skipped":
                    progress.console.print(
                        f"[{style}]{run.status:>7}[/{style}] {spec.path}: {escape(run.reason or '')}"
                    )
                else:
                    progress.console.print(
                        f"[{style}]{run.status:>7}[/{style}] {spec.path} ({run.duration_s:.1f} s)"
                    )
                progress.advance(task)

        try:
            result = run_notebooks(
                paths or (),
                stage=stage,
                output_dir=output_dir,
                parameters=parameters,
                timeout_s=timeout,
                settings=settings,
                on_progress=on_progress,
                strict=strict,
            )
        except RunError as exc:
            progress.stop()
            console.print(f"[red]error:[/red] {exc}")
            raise typer.Exit(2) from None
        except StackError as exc:  # the embedded server could not be started: say why, no traceback
            progress.stop()
            console.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        progress.update(task, description="done")

    for message in result.messages:
        console.print(message)
    table = Table(title=f"run {result.run_id} (backend {result.backend})")
    for column in ("notebook", "status", "seconds", "checks", "error"):
        table.add_column(column)
    for nb in result.notebooks:
        if nb.status == "skipped":
            need = (nb.reason or "").split(":", 1)[0]
            table.add_row(nb.path, f"[yellow]skipped: {escape(need)}[/yellow]", "-", "-", "see below")
            continue
        passed = sum(1 for c in nb.checks if c["passed"])
        error = f"{nb.error.type}: {nb.error.message}" if nb.error else ""
        if nb.error and nb.error.cell_index is not None:
            error += f" (cell {nb.error.cell_index})"
        style = _STATUS_STYLE.get(nb.status, "white")
        table.add_row(
            nb.path,
            f"[{style}]{nb.status}[/{style}]",
            f"{nb.duration_s:.1f}",
            f"{passed}/{len(nb.checks)}" if nb.checks else "-",
            error[:120],
        )
    console.print(table)
    for nb in result.skipped:
        # Said in full after the table: the reason and the fix are what the learner acts on.
        verdict = "[red]fails the run (--strict)[/red]" if strict else "not run"
        console.print(f"[yellow]skipped[/yellow] {nb.path} ({verdict}): {escape(nb.reason or '')}")
        if nb.fix:
            console.print(f"  fix: {escape(nb.fix)}")
    console.print(f"results: {result.run_dir / 'results.json'}")
    if result.report_path.is_file():
        console.print(f"report:  {result.report_path}")
    raise typer.Exit(result.exit_code)
