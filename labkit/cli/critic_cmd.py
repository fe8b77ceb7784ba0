"""``labkit critic review``: the Code Critic on files, folders or a diff, as a table or JSON."""

from __future__ import annotations

import enum
import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["critic_app", "review_command"]

critic_app = typer.Typer(help="Review Python code with the Code Critic (ruff, bandit, radon, tests).")
app.add_typer(critic_app, name="critic")


class Format(enum.StrEnum):
    table = "table"
    json = "json"


@critic_app.command("review")
def review_command(
    paths: list[Path] = typer.Argument(None, help="Files or folders to review.", show_default=False),
    tests: list[Path] = typer.Option(
        None, "--tests", help="Test files/folders to run against them (repeatable)."
    ),
    diff: Path = typer.Option(
        None, "--diff", help="Review a unified diff ('-' reads stdin) instead of paths."
    ),
    root: Path = typer.Option(None, "--root", help="Base folder for the diff's files and for shown paths."),
    output_format: Format = typer.Option(
        Format.table, "--format", help="table or json (schema: docs/code-critic.md)."
    ),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds before the tests are killed."),
    fail_under: int = typer.Option(None, "--fail-under", help="Exit 1 when the score is below this (0-10)."),
) -> None:
    """Review code; the JSON output's schema is stable (docs/code-critic.md)."""
    from labkit.agents.code_critic import CriticConfig, review
    from labkit.agents.code_critic.render import print_table

    err = Console(stderr=True)
    if not paths and diff is None:
        err.print("[red]error:[/red] give PATH... to review, or --diff FILE")
        raise typer.Exit(2)
    diff_text = None
    if diff is not None:
        try:
            diff_text = sys.stdin.read() if str(diff) == "-" else diff.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"[red]error:[/red] cannot read the diff {diff}: {exc}")
            raise typer.Exit(2) from None
    result = review(
        list(paths or []) if diff_text is None else None,
        tests=list(tests or []),
        diff=diff_text,
        root=root,
        config=CriticConfig(test_timeout_s=timeout),
    )
    if output_format is Format.json:
        sys.stdout.write(json.dumps(result.model_dump(mode="json"), indent=2) + "\n")
    else:
        print_table(result)
    if result.status != "reviewed":
        raise typer.Exit(2)
    if fail_under is not None and result.review.score < fail_under:
        raise typer.Exit(1)
