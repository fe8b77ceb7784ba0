"""LogQL rules of one cycle share their reads of the log store (CycleReads) without changing results."""

from __future__ import annotations

from labkit.lgtm.rules.engines import CycleReads, LogQLEngine
from labkit.lgtm.server import EmbeddedServer

from .conftest import T0_MS, push_logs

# Rules of a typical group: shared selectors and ranges, different filters and groupings.
EXPRS = [
    'sum by (service_name) (count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0',
    'sum(count_over_time({service_name="rag"} |= "answer" [10m]))',
    'sum by (service_name) (rate({service_name=~".+"}[5m]))',
    'sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [5m]))',
    'sum by (service_name) (rate({service_name=~".+"} |= "error" [1m])) > 0',
    'sum by (agent) (count_over_time({service_name=~"rag|api"} != "ok" [5m]))',
    'sum(bytes_over_time({service_name="api"} |~ "time(out|d out)" [5m]))',
]


def _push(server: EmbeddedServer, t: int) -> None:
    push_logs(
        server,
        {"service_name": "rag", "agent": "rag"},
        [(t - 200_000, "answer ok"), (t - 30_000, "hallucination detected"), (t - 10_000, "error x")],
    )
    push_logs(server, {"service_name": "api"}, [(t - 50_000, "request timeout"), (t - 5_000, "error y")])
    push_logs(server, {"service_name": "web", "pod": "w1"}, [(t - 20_000, "ok"), (t - 400_000, "timed out")])


def test_shared_reads_give_the_per_rule_results_with_fewer_statements(server: EmbeddedServer) -> None:
    t = T0_MS
    _push(server, t)
    engine = LogQLEngine()
    compiled = [engine.compile(e) for e in EXPRS]
    direct = [engine.instant(server.db, c, t) for c in compiled]
    assert any(direct), "the fixture data should make some rules return series"
    reads = CycleReads(server.db)
    shared = [engine.instant(reads, c, t) for c in compiled]
    assert shared == direct
    assert reads.reused > 0, "rules with the same selector and range should share statements"
    # Evaluated twice within one cycle, nothing new is sent to the store.
    sent = reads.statements
    assert [engine.instant(reads, c, t) for c in compiled] == direct
    assert reads.statements == sent


def test_a_new_cycle_sees_lines_pushed_after_the_last_one(server: EmbeddedServer) -> None:
    t = T0_MS
    _push(server, t)
    engine = LogQLEngine()
    rule = engine.compile('sum(count_over_time({service_name="rag"} |= "hallucination" [5m]))')
    first = CycleReads(server.db)
    [(_, before)] = engine.instant(first, rule, t)
    push_logs(server, {"service_name": "rag", "agent": "rag"}, [(t - 1_000, "hallucination detected")])
    # The old cycle keeps its consistent view; the next cycle reads the store again.
    assert engine.instant(first, rule, t) == [({}, before)]
    assert engine.instant(CycleReads(server.db), rule, t) == [({}, before + 1)]
