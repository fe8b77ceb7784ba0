"""Retrieval metrics over ranked chunks with chunk- or document-level judgements.

A judgement names a *target*: a chunk id, or a document path (relative to the corpus).
A retrieved chunk satisfies a target when it is that chunk, or when it comes from that
document. Each target is credited once, at the first rank that satisfies it: five
chunks of one relevant document are one hit, not five, which keeps recall <= 1 and
nDCG <= 1 and means "find the right document" is what document-level judgements score.

* ``recall@k``: credited targets in the top k / relevant targets.
* ``MRR`` (reciprocal rank, cut at the retrieved depth): 1 / rank of the first chunk
  that satisfies any target, 0 when none does.
* ``nDCG@10``: trec_eval's ``ndcg_cut``: linear gains (the judgement grade), discount
  ``log2(rank + 1)``, normalised by the ideal order of the grades.

These are the trec_eval definitions; tests check them against ``ir-measures``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["QueryMetrics", "RetrievedChunk", "credited_ranks", "score_query"]


@dataclass(frozen=True)
class RetrievedChunk:
    id: str
    source: str


@dataclass(frozen=True)
class QueryMetrics:
    recall: dict[int, float]
    mrr: float
    ndcg10: float
    first_hit: int | None  # rank (1-based) of the first relevant chunk


def credited_ranks(ranking: Sequence[RetrievedChunk], targets: Mapping[str, int]) -> list[tuple[int, str]]:
    """(rank, target) for each relevant target at the first rank that satisfies it."""
    remaining = {t for t, grade in targets.items() if grade > 0}
    out: list[tuple[int, str]] = []
    for rank, chunk in enumerate(ranking, start=1):
        for target in (chunk.id, chunk.source):
            if target in remaining:
                remaining.discard(target)
                out.append((rank, target))
                break  # one chunk credits at most one target
    return out


def score_query(
    ranking: Sequence[RetrievedChunk], targets: Mapping[str, int], ks: Sequence[int]
) -> QueryMetrics:
    relevant = {t: g for t, g in targets.items() if g > 0}
    if not relevant:
        raise ValueError("a query needs at least one relevant judgement (grade > 0)")
    credited = credited_ranks(ranking, relevant)
    recall = {k: sum(1 for rank, _ in credited if rank <= k) / len(relevant) for k in ks}
    first = next(
        (
            rank
            for rank, chunk in enumerate(ranking, start=1)
            if chunk.id in relevant or chunk.source in relevant
        ),
        None,
    )
    dcg = sum(relevant[t] / math.log2(rank + 1) for rank, t in credited if rank <= 10)
    ideal = sorted(relevant.values(), reverse=True)[:10]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return QueryMetrics(
        recall=recall,
        mrr=1.0 / first if first else 0.0,
        ndcg10=dcg / idcg if idcg else 0.0,
        first_hit=first,
    )
