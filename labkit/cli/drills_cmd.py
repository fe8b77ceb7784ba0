"""``labkit drills``: list the incident drills, run one, answer it, run its solution path."""

from __future__ import annotations

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["drills_app"]

drills_app = typer.Typer(
    help="Incident drills: a fault injected into replayed traffic, answered from telemetry."
)
app.add_typer(drills_app, name="drills")


def _fail(console: Console, exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(2) from None


@drills_app.command("list")
def list_command() -> None:
    """The drills, what an answer names, and the possible causes."""
    from labkit import drills

    console = Console()
    for row in drills.list_drills().to_dict("records"):
        drill = drills.get(row["drill"])
        console.print(f"[bold]{drill.name}[/bold]: {drill.title}", highlight=False)
        console.print(f"  answer: labkit drills answer {drill.name} {row['answer']}", highlight=False)
        console.print(f"  {drill.subject}s: {', '.join(drill.subjects)}", highlight=False)
        console.print(f"  causes: {', '.join(drill.causes)}", highlight=False)


@drills_app.command("run")
def run_command(
    name: str = typer.Argument(..., help="Drill name (labkit drills list)."),
    seed: int = typer.Option(..., "--seed", help="Picks the injected fault (integer >= 0)."),
) -> None:
    """Inject the fault the seed picks and replay the last 10 minutes of traffic; print the question."""
    from labkit import drills
    from labkit.config import load_settings
    from labkit.lgtm import process

    console = Console()
    try:
        drills.get(name)
        settings = load_settings()
        started = process.ensure_up(settings)
        if started:
            console.print(str(started), highlight=False)
        run = drills.run(name, seed, settings=settings)
    except (drills.DrillError, ValueError, ConnectionError, OSError) as exc:
        _fail(console, exc)
    console.print(str(run), highlight=False)
    if run.stats is not None:
        stats = run.stats
        console.print(
            f"replayed {stats.requests} requests ({stats.llm_calls} LLM calls, {stats.spans} spans, "
            f"{stats.log_lines} log lines) in {stats.seconds:.1f} s",
            highlight=False,
        )


@drills_app.command("answer")
def answer_command(
    name: str = typer.Argument(..., help="Drill name."),
    agent: str = typer.Option(None, "--agent", help="costs-doubled: the agent responsible."),
    node: str = typer.Option(None, "--node", help="responses-slow: the slow node."),
    cause: str = typer.Option(None, "--cause", help="What caused it (labkit drills list)."),
) -> None:
    """Check an answer against the injected truth; exit 1 if wrong, 2 if malformed (not counted)."""
    from labkit import drills

    console = Console()
    given = {k: v for k, v in {"agent": agent, "node": node, "cause": cause}.items() if v is not None}
    try:
        verdict = drills.answer(name, **given)
    except drills.DrillError as exc:
        _fail(console, exc)
    console.print(str(verdict), highlight=False)
    if not verdict.correct:
        raise typer.Exit(1)


@drills_app.command("solve")
def solve_command(name: str = typer.Argument(..., help="Drill name.")) -> None:
    """Run the drill's shipped solution path against the backends and print what it found."""
    from labkit import drills
    from labkit.observe import ObserveError

    console = Console()
    try:
        solution = drills.solve(name)
    except (drills.DrillError, LookupError, ObserveError) as exc:
        _fail(console, exc)
    for step, language, query in solution.queries:
        console.print(f"[bold]{step}[/bold] ({language}): {query}", highlight=False)
    found = ", ".join(f"{k}={v}" for k, v in solution.answer.items())
    console.print(
        f"solution path: {found}; matches the injected fault: {solution.matches_truth}", highlight=False
    )
    if not solution.matches_truth:
        raise typer.Exit(1)
