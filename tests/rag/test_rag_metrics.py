"""Retrieval metrics agree with ir-measures; judgement files fail with their line number."""

from __future__ import annotations

import random
from pathlib import Path

import ir_measures
import pytest
from ir_measures import MRR, Qrel, R, ScoredDoc, nDCG

from labkit.rag.judgements import JudgementError, load_qrels, load_queries
from labkit.rag.metrics import RetrievedChunk, credited_ranks, score_query

KS = (1, 3, 5, 10)


def _reference(ranking: list[RetrievedChunk], targets: dict[str, int]) -> dict[str, float]:
    """ir-measures on the item-level run: each chunk becomes the target it credits, or a unique miss."""
    credited = dict(credited_ranks(ranking, targets))
    run = [
        ScoredDoc("q", credited.get(rank, f"miss-{rank}"), float(len(ranking) - rank))
        for rank in range(1, len(ranking) + 1)
    ]
    qrels = [Qrel("q", t, g) for t, g in targets.items()]
    measures = [R @ k for k in KS] + [MRR, nDCG @ 10]
    return {str(m): v for m, v in ir_measures.calc_aggregate(measures, qrels, run).items()}


@pytest.mark.parametrize("seed", range(40))
def test_metrics_match_ir_measures_on_random_rankings(seed: int) -> None:
    rng = random.Random(seed)
    docs = [f"doc{i}.md" for i in range(6)]
    chunks = [RetrievedChunk(f"c{i}", rng.choice(docs)) for i in range(30)]
    ranking = rng.sample(chunks, 12)
    targets: dict[str, int] = {}
    for _ in range(rng.randint(1, 4)):
        target = rng.choice(docs) if rng.random() < 0.5 else rng.choice(chunks).id
        targets[target] = rng.randint(1, 3)
    ours = score_query(ranking, targets, KS)
    ref = _reference(ranking, targets)
    for k in KS:
        assert ours.recall[k] == pytest.approx(ref.get(f"R@{k}", 0.0), abs=1e-9)
    assert ours.mrr == pytest.approx(ref.get("RR", 0.0), abs=1e-9)
    assert ours.ndcg10 == pytest.approx(ref.get("nDCG@10", 0.0), abs=1e-9)


def test_a_document_judgement_is_credited_once() -> None:
    ranking = [RetrievedChunk("a", "x.md"), RetrievedChunk("b", "x.md"), RetrievedChunk("c", "y.md")]
    metrics = score_query(ranking, {"x.md": 1, "y.md": 1}, (1, 2, 3))
    assert metrics.recall == {1: 0.5, 2: 0.5, 3: 1.0}
    assert metrics.mrr == 1.0 and metrics.first_hit == 1
    assert 0 < metrics.ndcg10 < 1  # y.md at rank 3, not 2


def test_a_query_needs_a_relevant_judgement() -> None:
    with pytest.raises(ValueError, match="relevant"):
        score_query([], {"x.md": 0}, (1,))


def test_queries_and_qrels_in_beir_shapes(tmp_path: Path) -> None:
    queries = tmp_path / "queries.jsonl"
    queries.write_text(
        '{"_id": "q1", "text": "first?"}\n\n{"id": 2, "query": "second?", "relevant": ["a.md", '
        '{"chunk": "c-1", "grade": 2}]}\n'
    )
    tsv = tmp_path / "qrels.tsv"
    tsv.write_text("query-id\tcorpus-id\tscore\nq1\tb.md\t1\nq1\tc.md\t0\n")
    jsonl = tmp_path / "qrels.jsonl"
    jsonl.write_text('{"query_id": "2", "corpus_id": "a.md", "score": 3}\n')
    loaded = load_queries(queries)
    assert [(q.id, q.text, q.targets) for q in loaded] == [
        ("q1", "first?", {}),
        ("2", "second?", {"a.md": 1, "c-1": 2}),
    ]
    assert load_qrels(tsv) == {"q1": {"b.md": 1, "c.md": 0}}
    assert load_qrels(jsonl) == {"2": {"a.md": 3}}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("q.jsonl", '{"_id": "a", "text": "ok"}\n{"_id": "b", "text": \n', r"q\.jsonl:2: not valid JSON"),
        ("q.jsonl", '{"_id": "a", "text": "ok"}\n\n{"text": "no id"}\n', r"q\.jsonl:3: missing query id"),
        ("q.jsonl", '{"_id": "a", "text": ""}\n', r"q\.jsonl:1: missing query text"),
        ("q.jsonl", '{"_id": "a", "text": "x"}\n{"_id": "a", "text": "y"}\n', r"q\.jsonl:2: duplicate"),
        ("q.jsonl", '{"_id": "a", "text": "x", "relevant": [3]}\n', r"q\.jsonl:1: a judgement"),
        ("r.tsv", "q1\td.md\t1\nq1\td.md\n", r"r\.tsv:2: expected 3 tab-separated fields"),
        ("r.tsv", "q1\td.md\thigh\n", r"r\.tsv:1: score must be an integer"),
        ("r.tsv", "q1\td.md\t-1\n", r"r\.tsv:1: score must be a non-negative integer"),
        ("r.jsonl", '{"query_id": "q1"}\n', r"r\.jsonl:1: missing corpus id"),
    ],
)
def test_malformed_files_name_the_line(tmp_path: Path, name: str, content: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(content)
    loader = load_queries if name.startswith("q") else load_qrels
    with pytest.raises(JudgementError, match=message):
        loader(path)
