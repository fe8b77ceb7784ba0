"""`labkit rag eval` on a folder and queries it has never seen; bad files exit 2 with file:line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.rag.store import close_stores


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    monkeypatch.delenv("LABKIT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    close_stores()


def test_eval_prints_three_modes_for_an_unseen_corpus(env: Path, corpus: Path) -> None:
    queries = env / "queries.jsonl"
    queries.write_text(
        '{"_id": "a", "text": "which port does OTLP over HTTP use?"}\n'
        '{"_id": "b", "text": "how do I query logs with a filter?"}\n'
        '{"_id": "c", "text": "oven temperature for bread"}\n'
    )
    qrels = env / "qrels.tsv"
    qrels.write_text(
        "query-id\tcorpus-id\tscore\na\tguide/setup.md\t1\nb\tguide/logs.md\t1\nc\tnotes/cooking.txt\t1\n"
    )
    runner = CliRunner()
    table = runner.invoke(
        app, ["rag", "eval", "--corpus", str(corpus), "--queries", str(queries), "--qrels", str(qrels)]
    )
    assert table.exit_code == 0, table.output
    header = next(line for line in table.output.splitlines() if line.startswith("metric"))
    assert header.split() == ["metric", "dense", "sparse", "hybrid"]
    for metric in ("recall@1", "recall@5", "mrr", "ndcg@10"):
        assert any(line.startswith(metric) for line in table.output.splitlines())
    as_json = runner.invoke(
        app,
        [
            "rag",
            "eval",
            "--corpus",
            str(corpus),
            "--queries",
            str(queries),
            "--qrels",
            str(qrels),
            "--format",
            "json",
        ],
    )
    report = json.loads(as_json.output)
    assert report["queries"] == 3 and set(report["aggregate"]) == {"dense", "sparse", "hybrid"}
    assert report["aggregate"]["hybrid"]["recall@5"] == 1.0
    assert len(report["per_query"]) == 9


def test_malformed_queries_exit_2_with_the_line(env: Path, corpus: Path) -> None:
    queries = env / "queries.jsonl"
    queries.write_text('{"_id": "a", "text": "ok"}\n{"_id": "b"\n')
    result = CliRunner().invoke(app, ["rag", "eval", "--corpus", str(corpus), "--queries", str(queries)])
    assert result.exit_code == 2
    assert "queries.jsonl:2" in result.output.replace("\n", "")
