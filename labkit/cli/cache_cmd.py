"""``labkit cache``: replay a labelled workload through the semantic cache, sweep its threshold."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["cache_app"]

cache_app = typer.Typer(help="Semantic cache: replay a labelled workload, sweep the similarity threshold.")
app.add_typer(cache_app, name="cache")

DEFAULT_THRESHOLDS = "0.6,0.65,0.7,0.75,0.8,0.85,0.9,0.95"


def _fail(console: Console, exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(2) from None


def _check_format(console: Console, output_format: str) -> None:
    if output_format not in ("table", "json"):
        _fail(console, ValueError(f"--format must be table or json, got {output_format!r}"))


@cache_app.command("replay")
def replay_command(
    workload: Path = typer.Argument(..., help='JSONL workload: {"query": ..., "intent": ...} per line.'),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Similarity threshold (default: setting)."
    ),
    output_format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """Hit rate, false-hit rate, tokens and USD saved, cost reduction and lookup latency."""
    from labkit.cache import WorkloadError, load_workload, replay
    from labkit.config import ConfigError

    console = Console()
    _check_format(console, output_format)
    if threshold is not None and not 0.0 < threshold <= 1.0:
        _fail(console, ValueError(f"--threshold must be in (0, 1], got {threshold}"))
    try:
        report = replay(load_workload(workload), threshold=threshold)
    except (WorkloadError, ConfigError, ValueError) as exc:
        _fail(console, exc)
    if output_format == "json":
        typer.echo(json.dumps(report.as_dict(), indent=2))
        return
    rows = [
        ("queries", f"{report.n_queries}"),
        ("threshold", f"{report.threshold:.2f}"),
        ("hit rate", f"{report.hit_rate:.1%}  ({report.hits} hits, {report.exact_hits} exact)"),
        ("false-hit rate", f"{report.false_hit_rate:.2%}  ({report.false_hits} hits on another intent)"),
        ("near misses rejected", f"{report.near_miss_rejected}"),
        ("misses", f"{report.misses}"),
        ("tokens spent / saved", f"{report.tokens_spent} / {report.tokens_saved}"),
        ("USD spent / saved", f"{report.usd_spent:.4f} / {report.usd_saved:.4f}  (at {report.price_model})"),
        ("cost reduction", f"{report.cost_reduction:.1%} vs no cache"),
        ("lookup p50 / p95", f"{report.latency_p50_ms:.2f} / {report.latency_p95_ms:.2f} ms"),
        ("embedding", f"{report.embed_ms_per_query:.2f} ms per query (batched)"),
        ("throughput", f"{report.queries_per_s:.0f} queries/s"),
    ]
    for name, value in rows:
        console.print(f"{name:<22}{value}", highlight=False)
    for example in report.false_hit_examples[:5]:
        console.print(
            f"[yellow]false hit[/yellow] {example['query']!r} ({example['intent']}) served "
            f"{example['cached']!r} ({example['cached_intent']}) at {example['similarity']:.3f}",
            highlight=False,
        )


@cache_app.command("sweep")
def sweep_command(
    workload: Path = typer.Argument(..., help="JSONL workload."),
    thresholds: str = typer.Option(DEFAULT_THRESHOLDS, "--thresholds", help="Comma-separated thresholds."),
    output_format: str = typer.Option("table", "--format", help="table | json"),
) -> None:
    """Replay at each threshold: hit rate, false-hit rate and cost reduction side by side."""
    from labkit.cache import WorkloadError, load_workload, sweep
    from labkit.config import ConfigError

    console = Console()
    _check_format(console, output_format)
    try:
        values = [float(part) for part in thresholds.split(",") if part.strip()]
    except ValueError:
        _fail(console, ValueError(f"--thresholds must be comma-separated numbers, got {thresholds!r}"))
    if not values or not all(0.0 < v <= 1.0 for v in values):
        _fail(console, ValueError(f"--thresholds must be numbers in (0, 1], got {thresholds!r}"))
    try:
        frame = sweep(load_workload(workload), values)
    except (WorkloadError, ConfigError, ValueError) as exc:
        _fail(console, exc)
    if output_format == "json":
        typer.echo(frame.to_json(orient="records", indent=2))
        return
    console.print(f"{'threshold':>9} {'hit rate':>9} {'false hits':>11} {'cost cut':>9} {'rejected':>9}")
    for row in frame.itertuples():
        console.print(
            f"{row.threshold:9.2f} {row.hit_rate:9.1%} {row.false_hit_rate:11.2%} "
            f"{row.cost_reduction:9.1%} {row.near_miss_rejected:9d}",
            highlight=False,
        )
