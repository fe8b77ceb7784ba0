"""``labkit workflow run``: one learning cycle (generate -> review -> progress), resumable by run id."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["run_command", "workflow_app"]

workflow_app = typer.Typer(help="The learning-cycle workflow (LangGraph, checkpointed, traced).")
app.add_typer(workflow_app, name="workflow")


@workflow_app.command("run")
def run_command(
    learner: str = typer.Option("learner", "--learner", help="Whose progress the cycle records."),
    submission: Path = typer.Option(
        None, "--submission", help="The learner's module source; default: a stand-in solution."
    ),
    run_id: str = typer.Option(None, "--run-id", help="Resume (or name) this run; its checkpoint thread id."),
    critic_url: str = typer.Option(None, "--critic-url", help="A Code Critic supervisor service to call."),
) -> None:
    """Run (or resume) a cycle; prints one JSON line per finished node, then the result as JSON."""
    from labkit.agents.learning_cycle import CycleConfig, build_graph, run_cycle

    err = Console(stderr=True)
    text = None
    if submission is not None:
        try:
            text = submission.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            err.print(f"[red]error:[/red] cannot read the submission {submission}: {exc}")
            raise typer.Exit(2) from None
    try:
        graph = build_graph(config=CycleConfig(critic_url=critic_url))
        result = run_cycle(
            learner,
            text,
            run_id=run_id,
            graph=graph,
            on_node=lambda name, _update: print(json.dumps({"node": name, "done": True}), flush=True),
        )
    except ValueError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    print(result.model_dump_json(), flush=True)
