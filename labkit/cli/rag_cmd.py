"""``labkit rag``: build an index, search it, and measure retrieval accuracy."""

from __future__ import annotations

from pathlib import Path
from typing import cast

import typer
from rich.console import Console

from labkit.cli._app import app

__all__ = ["rag_app"]

rag_app = typer.Typer(help="Retrieval: index a folder, search it, evaluate dense/sparse/hybrid search.")
app.add_typer(rag_app, name="rag")


def _fail(console: Console, exc: Exception) -> None:
    console.print(f"[red]error:[/red] {exc}", highlight=False)
    raise typer.Exit(2) from None


@rag_app.command("index")
def index_command(
    corpus: Path = typer.Argument(..., help="Folder of .md/.txt/.ipynb files."),
    name: str = typer.Option("labkit-docs", help="Index (alias) name."),
    max_chars: int = typer.Option(1200, help="Chunk size limit in characters."),
    overlap: int = typer.Option(200, help="Overlap between consecutive chunks of a section."),
) -> None:
    """Build (or atomically rebuild) an index of a folder."""
    from labkit.rag.chunking import ChunkingConfig
    from labkit.rag.index import build_index
    from labkit.rag.store import StoreError

    console = Console()
    try:
        report = build_index(
            corpus, name=name, chunking=ChunkingConfig(max_chars=max_chars, overlap_chars=overlap)
        )
    except (StoreError, ValueError, FileNotFoundError) as exc:
        _fail(console, exc)
    console.print(
        f"indexed {report.chunks} chunks from {report.documents} documents into {report.name} "
        f"({report.embedded} embedded, {report.seconds:.1f} s)"
    )
    for skipped in report.skipped:
        console.print(f"skipped {skipped.path}: {skipped.reason}", highlight=False)


@rag_app.command("search")
def search_command(
    query: str = typer.Argument(...),
    name: str = typer.Option("labkit-docs", help="Index (alias) name."),
    mode: str = typer.Option("hybrid", help="dense | sparse | hybrid"),
    k: int = typer.Option(5, help="How many chunks."),
    source: list[str] = typer.Option([], help="Only chunks of this document (repeatable)."),
    tag: list[str] = typer.Option([], help="Only chunks with this tag (repeatable)."),
) -> None:
    """Search an index and print the chunks found."""
    from labkit.rag.search import Filters, Mode, Searcher
    from labkit.rag.store import StoreError, open_store

    console = Console()
    try:
        hits = Searcher(open_store(), name).search(
            query,
            mode=cast("Mode", mode),  # Searcher.search rejects anything but MODES, naming them
            k=k,
            filters=Filters.of(source or None, None, tag),  # type: ignore[arg-type]
        )
    except (StoreError, ValueError, LookupError) as exc:
        _fail(console, exc)
    for hit in hits:
        console.print(
            f"{hit.rank:2d}. {hit.score:.4f} {hit.source} | {hit.section} [{hit.id}]", highlight=False
        )


@rag_app.command("eval")
def eval_command(
    corpus: Path = typer.Option(..., "--corpus", help="Folder of documents to index."),
    queries: Path = typer.Option(..., "--queries", help="BEIR-style queries JSONL."),
    qrels: Path | None = typer.Option(None, "--qrels", help="Relevance judgements (TSV or JSONL)."),
    k: list[int] = typer.Option([1, 3, 5, 10], "--k", help="Cut-offs for recall@k (repeatable)."),
    output_format: str = typer.Option("table", "--format", help="table | json"),
    per_query: bool = typer.Option(False, "--per-query", help="Also print per-query metrics (table format)."),
) -> None:
    """Recall@k, MRR and nDCG@10 of dense, sparse and hybrid search, side by side."""
    from labkit.rag.evaluate import evaluate
    from labkit.rag.judgements import JudgementError
    from labkit.rag.store import StoreError

    console = Console()
    if output_format not in ("table", "json"):
        _fail(console, ValueError(f"--format must be table or json, got {output_format!r}"))
    try:
        report = evaluate(corpus, queries, qrels, ks=k)
    except (JudgementError, StoreError, ValueError, FileNotFoundError) as exc:
        _fail(console, exc)
    if output_format == "json":
        typer.echo(report.to_json())
        return
    console.print(
        f"{len({r['query_id'] for r in report.rows})} queries, {report.index.chunks} chunks "
        f"from {report.index.documents} documents",
        highlight=False,
    )
    console.print(report.table(), highlight=False)
    if per_query:
        names = report.metric_names()
        console.print("query".ljust(14) + "mode".ljust(8) + "".join(n.rjust(11) for n in names))
        for row in report.rows:
            console.print(
                str(row["query_id"]).ljust(14)
                + row["mode"].ljust(8)
                + "".join(f"{row[n]:11.3f}" for n in names),
                highlight=False,
            )
    for warning in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {warning}", highlight=False)
