"""Human output of a review: a rich table of findings, then notes and errors."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from labkit.agents.code_critic.graph import CriticResult

__all__ = ["print_table"]

_STYLE = {"critical": "bold red", "high": "red", "medium": "yellow", "low": "cyan", "info": "dim"}


def print_table(result: CriticResult, console: Console | None = None) -> None:
    console = console or Console()
    review = result.review
    console.print(f"[bold]score {review.score}/10[/bold]  {review.summary}")
    if review.findings:
        table = Table(show_lines=False)
        for column in ("severity", "category", "file:line", "rule", "why", "fix"):
            table.add_column(column, overflow="fold")
        for f in review.findings:
            lines = f"{f.line_start}" if f.line_start == f.line_end else f"{f.line_start}-{f.line_end}"
            table.add_row(
                f"[{_STYLE[f.severity]}]{f.severity}[/]",
                f.category,
                f"{f.file}:{lines}",
                f.rule_id,
                f.why,
                f.suggested_fix,
            )
        console.print(table)
    for note in result.notes:
        console.print(f"[dim]note:[/dim] {note}")
    for dropped in result.dropped:
        console.print(f"[dim]dropped:[/dim] {dropped['reason']}")
    for error in result.errors:
        console.print(f"[red]error:[/red] {error}")
    timings = ", ".join(f"{k} {v.duration_s:.2f}s" for k, v in result.specialists.items())
    console.print(f"[dim]{result.model} - wall {result.wall_s:.2f}s ({timings})[/dim]")
