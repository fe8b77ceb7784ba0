"""Workload files, their generator, replay metrics on a tiny workload, and the CLI."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anthropic.types
import pytest
from typer.testing import CliRunner

import labkit.cache
from labkit.cache import (
    HELDOUT_WORKLOAD,
    SHIPPED_WORKLOAD,
    SemanticCache,
    WorkloadError,
    WorkloadItem,
    load_workload,
    replay,
    sweep,
)
from labkit.cache.workload_gen import build_heldout, build_workload
from labkit.cli import app
from labkit.config import Settings
from labkit.llm import LocalServer, Usage, cost_of

from .conftest import BagOfWords, Telemetry


def test_exported_names() -> None:
    assert set(labkit.cache.__all__) == {
        "CACHE_ID_PREFIX",
        "HELDOUT_WORKLOAD",
        "SHIPPED_WORKLOAD",
        "CacheLookup",
        "CacheTelemetry",
        "ReplayReport",
        "SemanticCache",
        "WorkloadError",
        "WorkloadItem",
        "load_workload",
        "plot_sweep",
        "replay",
        "sweep",
    }


@pytest.mark.parametrize(
    ("lines", "line", "message"),
    [
        (['{"query": "a", "intent": "x"}', '{"query": "b", "intent": "x"'], 2, "not valid JSON"),
        (['{"query": "a", "intent": "x"}', "", '{"query": "b"}'], 3, "'intent' must be a non-empty string"),
        (['{"query": "", "intent": "x"}'], 1, "'query' must be a non-empty string"),
        (['{"query": "a", "intent": "x", "answer": 1}'], 1, "unknown field"),
        (['{"query": "a", "intent": "x", "system": 3}'], 1, "'system' must be a string"),
        (['["query", "intent"]'], 1, "expected a JSON object"),
    ],
)
def test_malformed_workloads_name_the_line(tmp_path: Path, lines: list[str], line: int, message: str) -> None:
    path = tmp_path / "w.jsonl"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorkloadError, match=f"w.jsonl:{line}: {message}"):
        load_workload(path)


def test_empty_and_missing_workloads(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jsonl"
    empty.write_text("# only a comment\n\n")
    with pytest.raises(WorkloadError, match="no queries"):
        load_workload(empty)
    with pytest.raises(WorkloadError, match="no such workload"):
        load_workload(tmp_path / "absent.jsonl")


def test_shipped_workloads_are_the_generators_output_and_big_enough() -> None:
    for path, rows in ((SHIPPED_WORKLOAD, build_workload()), (HELDOUT_WORKLOAD, build_heldout())):
        items = load_workload(path)
        assert [(i.query, i.intent) for i in items] == [(r["query"], r["intent"]) for r in rows]
        assert path.stat().st_size < 1_000_000
    shipped = load_workload(SHIPPED_WORKLOAD)
    assert len(shipped) >= 2000 and len({i.intent for i in shipped}) >= 300
    # near misses are separate intents: the 5 km and the 50 km conversions
    intents = {i.intent for i in shipped}
    assert {"convert:5-km-miles", "convert:50-km-miles"} <= intents
    assert {"which:http_methods-idempotent-", "which:http_methods-idempotent-not"} <= intents
    heldout_intents = {i.intent.split(":")[0] for i in load_workload(HELDOUT_WORKLOAD)}
    assert not heldout_intents & {i.split(":")[0] for i in intents}  # other domains


class FixedResponder:
    """Answers every request with the same usage: 10 in, 30 out."""

    model = "labkit-offline-1"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: Any) -> tuple[Any, Any]:
        self.calls += 1
        message = anthropic.types.Message.model_validate(
            {
                "id": f"msg_{self.calls}",
                "type": "message",
                "role": "assistant",
                "model": self.model,
                "content": [{"type": "text", "text": "answer"}],
                "stop_reason": "end_turn",
                "usage": {"input_tokens": 10, "output_tokens": 30},
            }
        )
        return message, cost_of(self.model, Usage(10, 30), live_model="claude-sonnet-5-5")


def test_replay_metrics_on_a_tiny_workload_with_known_groups(
    telemetry: Telemetry, settings: Settings
) -> None:
    items = [
        WorkloadItem("convert 5 km to miles", "km5"),  # miss
        WorkloadItem("Convert 5 km to miles!", "km5"),  # exact hit
        WorkloadItem("please convert 5 km to miles", "km5"),  # semantic hit
        WorkloadItem("convert 50 km to miles", "km50"),  # near miss, rejected -> model
        WorkloadItem("what is the capital of France", "capital-fr"),  # miss
        WorkloadItem("what is the capital of France", "capital-fr-other"),  # hit on another intent: false hit
    ]
    responder = FixedResponder()
    cache = SemanticCache(threshold=0.6, embedder=BagOfWords(), telemetry=telemetry.cache)
    report = replay(items, cache=cache, responder=responder, settings=settings)
    assert responder.calls == 3
    assert (report.hits, report.exact_hits, report.false_hits) == (3, 2, 1)
    assert (report.near_miss_rejected, report.misses) == (1, 2)
    assert report.hit_rate == pytest.approx(3 / 6)
    assert report.false_hit_rate == pytest.approx(1 / 3)
    assert (report.tokens_spent, report.tokens_saved) == (120, 120)
    assert report.cost_reduction == pytest.approx(0.5)
    assert report.usd_saved > 0 and report.price_model == "claude-sonnet-5-5"
    assert report.false_hit_examples[0]["cached_intent"] == "capital-fr"
    as_dict = report.as_dict()
    for name in ("hit_rate", "false_hit_rate", "near_miss_rejected", "tokens_saved", "usd_saved"):
        assert name in as_dict
    assert {"cost_reduction", "latency_p50_ms", "latency_p95_ms", "n_queries"} <= set(as_dict)


def test_sweep_columns_and_monotone_hits(settings: Settings) -> None:
    items = [
        WorkloadItem("how do I reverse a list in Python", "rev"),
        WorkloadItem("how can I reverse a list in Python", "rev"),
        WorkloadItem("reverse a list in Python", "rev"),
        WorkloadItem("how do I sort a list in Python", "sort"),
    ]
    frame = sweep(items, [0.5, 0.99], responder=FixedResponder(), settings=settings)
    assert list(frame.columns[:4]) == ["threshold", "hit_rate", "false_hit_rate", "cost_reduction"]
    assert frame.hit_rate.iloc[0] >= 0.5 > frame.hit_rate.iloc[1]
    assert frame.false_hit_rate.iloc[0] >= frame.false_hit_rate.iloc[1]


def test_replay_goes_through_the_local_messages_api_server(settings: Settings, server: LocalServer) -> None:
    items = [
        WorkloadItem("How do I convert 5 km to miles?", "a"),
        WorkloadItem("how many miles is 5 km", "a"),
    ]
    report = replay(items, settings=settings, threshold=0.75)
    assert len(server.request_log()) == 1  # one miss, one hit
    assert report.hits == 1 and report.tokens_spent > 0 and report.tokens_saved == report.tokens_spent
    assert report.usd_spent > 0  # priced live-equivalent: the offline model itself costs 0


def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, server: LocalServer) -> None:
    monkeypatch.setenv("LABKIT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    monkeypatch.setenv("LABKIT_LLM_URL", server.url)
    monkeypatch.delenv("LABKIT_CONFIG", raising=False)
    monkeypatch.chdir(tmp_path)


def test_cli_replay_reports_on_a_workload_it_has_never_seen(
    tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, server)
    workload = tmp_path / "unseen.jsonl"
    rows = [
        {"query": "How long do I boil an egg?", "intent": "egg"},
        {"query": "how long should I boil an egg", "intent": "egg"},
        {"query": "How long do I boil 12 eggs?", "intent": "eggs12"},
        {"query": "What is the tallest mountain in Japan?", "intent": "mountain-jp"},
        {"query": "What is the tallest mountain in Japan?", "intent": "mountain-jp"},
    ]
    workload.write_text("".join(json.dumps(r) + "\n" for r in rows))
    runner = CliRunner()
    table = runner.invoke(app, ["cache", "replay", str(workload), "--threshold", "0.8"])
    assert table.exit_code == 0, table.output
    assert "hit rate" in table.output and "false-hit rate" in table.output
    as_json = runner.invoke(app, ["cache", "replay", str(workload), "--format", "json"])
    report = json.loads(as_json.output)
    assert report["n_queries"] == 5 and report["hits"] >= 2 and report["false_hits"] == 0
    swept = runner.invoke(
        app, ["cache", "sweep", str(workload), "--thresholds", "0.7,0.9", "--format", "json"]
    )
    assert [row["threshold"] for row in json.loads(swept.output)] == [0.7, 0.9]


def test_cli_malformed_workload_exits_2_with_the_line(
    tmp_path: Path, server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    _env(monkeypatch, tmp_path, server)
    workload = tmp_path / "bad.jsonl"
    workload.write_text('{"query": "a", "intent": "x"}\n{"query": "b", "intent": ""}\n')
    result = CliRunner().invoke(app, ["cache", "replay", str(workload)])
    assert result.exit_code == 2
    assert "bad.jsonl:2" in result.output.replace("\n", "")
    bad_threshold = CliRunner().invoke(app, ["cache", "replay", str(workload), "--threshold", "2"])
    assert bad_threshold.exit_code == 2 and "--threshold" in bad_threshold.output
