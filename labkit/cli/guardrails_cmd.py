"""``labkit guardrails check|eval``: the shared guardrails from the command line.

``check`` runs one input (an argument, a file, or ``-`` for stdin) and prints the verdict as
JSON; exit 0 when allowed, 1 when blocked. ``eval`` measures a corpus file (JSON lines:
``text``, ``category`` — ``benign`` for benign cases — and optional ``language``, ``kind``,
``split``) or the packaged corpora, and prints detection and false-positive rates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["guardrails_app"]

guardrails_app = typer.Typer(
    help="The shared guardrails: check one input, or measure a corpus.", no_args_is_help=True
)
app.add_typer(guardrails_app, name="guardrails")


@guardrails_app.command("check")
def check_command(
    text: str = typer.Argument(
        ..., help="The input, or @FILE to read a file, or - for stdin.", show_default=False
    ),
    agent: str = typer.Option("cli", help="Agent name for labels and logs."),
    kind: str = typer.Option("prompt", help="prompt | code | document"),
) -> None:
    """Check one input and print the verdict (exit 1 when blocked)."""
    from labkit.guardrails import check_input

    if text == "-":
        body: str | bytes = sys.stdin.buffer.read()
    elif text.startswith("@"):
        path = Path(text[1:])
        if not path.is_file():
            Console(stderr=True).print(f"[red]error:[/red] no such file: {path}")
            raise typer.Exit(2)
        body = path.read_bytes()
    else:
        body = text
    try:
        verdict = check_input(body, agent=agent, kind=kind, record=False)
    except ValueError as exc:
        Console(stderr=True).print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    print(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    raise typer.Exit(0 if verdict.allowed else 1)


@guardrails_app.command("eval")
def eval_command(
    corpus: list[Path] = typer.Argument(
        None, help="Corpus files (JSON lines); default: the packaged corpora."
    ),
    misses: bool = typer.Option(False, "--misses", help="List missed attacks and blocked benign inputs."),
) -> None:
    """Detection rate, false-positive rate and CPU ms per check, per split, category and language."""
    from labkit.guardrails.corpus import CorpusError, load_corpus, read_cases
    from labkit.guardrails.evaluate import evaluate

    console = Console()
    try:
        cases = (
            [c for path in corpus for c in read_cases(path)]
            if corpus
            else load_corpus("attacks") + load_corpus("benign")
        )
    except (CorpusError, OSError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    report = evaluate(cases)
    print(report.summary().to_string(index=False))
    print()
    print(report.by_category().to_string(index=False))
    print()
    print(report.by_language().to_string(index=False))
    if misses:
        print()
        print(report.misses(50).to_string(index=False))
