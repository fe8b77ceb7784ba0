"""``labkit grade``: run learners' notebooks with the reference checks, per-exercise results."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from labkit.cli._app import app

__all__ = ["grade_command"]

_STYLE = {"ok": "green", "failed": "red", "timeout": "magenta", "error": "red"}


@app.command("grade")
def grade_command(
    paths: list[Path] = typer.Argument(
        ..., help="Submitted notebooks, or folders of them (one subfolder per learner).", show_default=False
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Folder for results.json and the graded notebooks (default: grades/<id>/).",
    ),
    reference: Path | None = typer.Option(
        None, "--reference", help="Folder of solution notebooks (default: the workbook's notebooks/)."
    ),
    timeout: float = typer.Option(
        300.0, "--timeout", help="Seconds per notebook before its kernel is killed."
    ),
) -> None:
    """Grade submissions: each runs in its own kernel with the reference notebook's exercise checks.

    Exit code 0 when grading completed (wrong answers and broken submissions are results);
    2 for bad input (nothing to grade, no reference notebooks).
    """
    from labkit.config import ConfigError
    from labkit.exercises.grade import GradeError, grade
    from labkit.runner import RunError

    console = Console()

    def progress(event: str, name: str, entry: object) -> None:
        if event == "start":
            console.print(f"grading {name} ...")

    try:
        result = grade(
            list(paths), reference_dir=reference, output=output, timeout_s=timeout, on_progress=progress
        )
    except (GradeError, RunError, ConfigError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    for message in result.messages:
        console.print(message)

    table = Table(title="submissions")
    for column in ("submission", "learner", "notebook", "status", "exercises", "note"):
        table.add_column(column)
    for nb in result.notebooks:
        style = _STYLE.get(nb.status, "")
        note = (nb.error or {}).get("message", "")[:90] if nb.error else ""
        table.add_row(
            nb.submission,
            nb.learner or "",
            nb.reference or "-",
            f"[{style}]{nb.status}[/{style}]",
            f"{nb.passed}/{len(nb.exercises)}",
            note,
        )
    console.print(table)

    detail = Table(title="exercises")
    for column in ("submission", "exercise", "result", "detail"):
        detail.add_column(column)
    for nb in result.notebooks:
        for ex in nb.exercises:
            mark = "[green]PASS[/green]" if ex["passed"] else "[red]FAIL[/red]"
            detail.add_row(nb.submission, ex["name"], mark, str(ex.get("detail", ""))[:100])
    if detail.rows:
        console.print(detail)
    console.print(f"results: {result.output / 'results.json'}")
