"""``labkit rag eval``: retrieval accuracy of dense, sparse and hybrid search on any corpus.

The corpus folder is indexed into its own alias (``eval-<hash of the folder>``), each
query runs in every mode, and :mod:`labkit.rag.metrics` scores the rankings. Queries
are embedded once, in one batch, and shared by the dense and hybrid runs.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.rag.chunking import ChunkingConfig
from labkit.rag.index import IndexReport, build_index
from labkit.rag.judgements import JudgementError, Query, load_qrels, load_queries
from labkit.rag.metrics import RetrievedChunk, score_query
from labkit.rag.search import MODES, Fusion, Mode, Searcher
from labkit.rag.store import VectorStore

__all__ = ["DEFAULT_KS", "EvalReport", "evaluate", "load_judged_queries", "score_index"]

DEFAULT_KS = (1, 3, 5, 10)


@dataclass
class EvalReport:
    ks: tuple[int, ...]
    modes: tuple[Mode, ...]
    rows: list[dict[str, Any]]  # one per (query, mode)
    index: IndexReport
    warnings: list[str] = field(default_factory=list)

    def metric_names(self) -> list[str]:
        return [f"recall@{k}" for k in self.ks] + ["mrr", "ndcg@10"]

    def frame(self) -> Any:
        """Aggregate metrics as a DataFrame: one row per metric, one column per mode."""
        import pandas as pd

        return pd.DataFrame(self.aggregate()).loc[self.metric_names()]

    def plot(self) -> Any:
        """A grouped bar chart of the aggregate metrics (a matplotlib Figure)."""
        import matplotlib.pyplot as plt

        frame = self.frame()
        fig, ax = plt.subplots(figsize=(8, 3.5))
        frame.plot.bar(ax=ax, rot=0, ylim=(0, 1.05), width=0.8)
        ax.set_ylabel("mean over queries")
        ax.set_title(f"retrieval accuracy: {len({r['query_id'] for r in self.rows})} queries")
        ax.legend(title="search", loc="lower right")
        fig.tight_layout()
        return fig

    def aggregate(self) -> dict[str, dict[str, float]]:
        """mode -> metric -> mean over queries."""
        out: dict[str, dict[str, float]] = {}
        for mode in self.modes:
            rows = [r for r in self.rows if r["mode"] == mode]
            out[mode] = {m: sum(r[m] for r in rows) / len(rows) for m in self.metric_names()} if rows else {}
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "ks": list(self.ks),
            "modes": list(self.modes),
            "queries": len({r["query_id"] for r in self.rows}),
            "chunks": self.index.chunks,
            "documents": self.index.documents,
            "skipped": [{"path": s.path, "reason": s.reason} for s in self.index.skipped],
            "aggregate": self.aggregate(),
            "per_query": self.rows,
            "warnings": self.warnings,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def table(self) -> str:
        """Aggregate metrics, one column per mode (a plain-text table)."""
        agg = self.aggregate()
        width = max(len(m) for m in self.metric_names()) + 2
        lines = ["metric".ljust(width) + "".join(mode.rjust(10) for mode in self.modes)]
        for metric in self.metric_names():
            lines.append(metric.ljust(width) + "".join(f"{agg[m][metric]:10.3f}" for m in self.modes))
        return "\n".join(lines)


def load_judged_queries(queries: Path | str, qrels: Path | str | None = None) -> list[Query]:
    loaded = load_queries(queries)
    if qrels is not None:
        judged = load_qrels(qrels)
        known = {q.id for q in loaded}
        unknown = sorted(set(judged) - known)
        if unknown:
            raise JudgementError(f"{qrels}: judgements for unknown query id(s): {', '.join(unknown[:5])}")
        for query in loaded:
            for target, grade in judged.get(query.id, {}).items():
                query.targets[target] = max(grade, query.targets.get(target, 0))
    return loaded


def evaluate(
    corpus: Path | str,
    queries: Path | str,
    qrels: Path | str | None = None,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    modes: Sequence[Mode] = MODES,
    chunking: ChunkingConfig | None = None,
    fusion: Fusion | None = None,
    store: VectorStore | None = None,
    name: str | None = None,
) -> EvalReport:
    ks = tuple(sorted(set(ks)))
    if not ks or ks[0] < 1:
        raise ValueError(f"k values must be >= 1, got {list(ks)}")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; known: {', '.join(MODES)}")
    judged = load_judged_queries(queries, qrels)  # parse errors before any indexing work
    if store is None:
        from labkit.rag.store import open_store

        store = open_store()
    corpus = Path(corpus)
    name = name or "eval-" + hashlib.sha256(str(corpus.resolve()).encode()).hexdigest()[:10]
    index = build_index(corpus, store=store, name=name, chunking=chunking)
    return score_index(store, name, judged, index, ks=ks, modes=modes, fusion=fusion, corpus=corpus)


def score_index(
    store: VectorStore,
    name: str,
    judged: Sequence[Query],
    index: IndexReport,
    *,
    ks: Sequence[int] = DEFAULT_KS,
    modes: Sequence[Mode] = MODES,
    fusion: Fusion | None = None,
    corpus: Path | None = None,
) -> EvalReport:
    """Score an index that is already built (e.g. to compare fusion settings without re-indexing)."""
    ks = tuple(sorted(set(ks)))
    searcher = Searcher(store, name)
    warnings: list[str] = []
    scored = [q for q in judged if any(g > 0 for g in q.targets.values())]
    for query in judged:
        if query not in scored:
            warnings.append(f"query {query.id} has no relevant judgement and is not scored")
    if not scored:
        raise JudgementError("no query has a relevant judgement (give 'relevant' or --qrels)")
    depth = max(10, ks[-1])
    from labkit.rag.embeddings import embed

    vectors = (
        _query_vectors(tuple(q.text for q in scored), embed) if set(modes) & {"dense", "hybrid"} else None
    )
    rows: list[dict[str, Any]] = []
    seen_targets: set[str] = set()
    for i, query in enumerate(scored):
        for mode in modes:
            hits = searcher.search(
                query.text,
                mode=mode,
                k=depth,
                fusion=fusion,
                query_vector=None if vectors is None else vectors[i],
            )
            ranking = [RetrievedChunk(h.id, h.source) for h in hits]
            seen_targets.update(h.id for h in hits)
            metrics = score_query(ranking, query.targets, ks)
            row: dict[str, Any] = {"query_id": query.id, "mode": mode}
            row.update({f"recall@{k}": v for k, v in metrics.recall.items()})
            row.update({"mrr": metrics.mrr, "ndcg@10": metrics.ndcg10, "first_hit": metrics.first_hit})
            rows.append(row)
    if corpus is not None:
        documents = _sources(corpus)
        for query in scored:
            for target in query.targets:
                known = target in documents or target in seen_targets or _is_chunk(store, name, target)
                if not known:
                    warnings.append(f"query {query.id}: judged target {target!r} is not in the corpus")
    return EvalReport(ks=ks, modes=tuple(modes), rows=rows, index=index, warnings=warnings)


_QUERY_CACHE: dict[tuple[str, ...], Any] = {}


def _query_vectors(texts: tuple[str, ...], embed: Any) -> Any:
    """Embed a query set once per process: comparing settings re-scores the same questions."""
    if texts not in _QUERY_CACHE:
        _QUERY_CACHE.clear()  # one set at a time is all a notebook or a CLI run needs
        _QUERY_CACHE[texts] = embed(list(texts))
    return _QUERY_CACHE[texts]


def _sources(corpus: Path) -> set[str]:
    return {p.relative_to(corpus).as_posix() for p in corpus.rglob("*") if p.is_file()}


def _is_chunk(store: VectorStore, name: str, target: str) -> bool:
    try:
        return bool(store.client.retrieve(name, [target]))
    except Exception:  # not a UUID: certainly not a chunk id
        return False
