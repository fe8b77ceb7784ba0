"""Verifiers for notebook 08's exercises; each checks live state, never the answer's text."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from labkit.rag.evaluate import EvalReport, score_index
from labkit.rag.index import IndexReport
from labkit.rag.judgements import Query
from labkit.rag.search import Fusion
from labkit.rag.store import VectorStore

__all__ = ["REFERENCE_ALERT_EXPR", "alert_expr_or_reference", "fusion_raises_recall", "logql_alert_matches"]

# The reference answer of the alert exercise lives here, not in the notebook, so that the
# learner edition (which keeps check cells) does not give it away.
REFERENCE_ALERT_EXPR = 'sum(count_over_time({service_name="rag"} |= "hallucination detected" [5m])) > 0'


def fusion_raises_recall(
    store: VectorStore,
    name: str,
    queries: Sequence[Query],
    index: IndexReport,
    baseline: EvalReport,
    *,
    at_least: float = 0.9,
) -> Callable[[Any], tuple[bool, str]]:
    """The learner's ``Fusion`` must beat the baseline's hybrid recall@5 and reach ``at_least``."""
    before = baseline.aggregate()["hybrid"]["recall@5"]

    def verify(fusion: Any) -> tuple[bool, str]:
        assert isinstance(fusion, Fusion), f"expected a labkit.rag.search.Fusion, got {type(fusion).__name__}"
        report = score_index(store, name, queries, index, modes=("hybrid",), fusion=fusion)
        after = report.aggregate()["hybrid"]["recall@5"]
        detail = f"hybrid recall@5 {before:.3f} -> {after:.3f} (need > {before:.3f} and >= {at_least})"
        return after > before and after >= at_least, detail

    return verify


def alert_expr_or_reference(expr: Any) -> str:
    """The learner's expression, or the reference while it is unanswered, so the lesson's alert still runs."""
    return expr if isinstance(expr, str) and expr.strip() else REFERENCE_ALERT_EXPR


def logql_alert_matches(
    reference: str = REFERENCE_ALERT_EXPR, *, settings: Any = None
) -> Callable[[Any], tuple[bool, str]]:
    """The learner's alert expression must parse on the log store and fire exactly when the reference does."""

    def verify(expr: Any) -> tuple[bool, str]:
        from labkit.observe import Loki

        assert isinstance(expr, str) and expr.strip(), "the alert expression must be a LogQL string"
        loki = Loki(settings=settings)
        mine = loki.query(expr)
        theirs = loki.query(reference)
        fires, should = not mine.empty, not theirs.empty
        detail = f"your expression returns {len(mine)} series, the reference {len(theirs)}"
        return fires == should and fires, detail

    return verify
