"""The service in-process, and the service graph its traffic produces on the embedded server.

Seven services on loopback (learning-cycle, the Code Critic's supervisor and four
specialists) export to a private embedded server; the caller is this test under its own
``service.name``. Grafana's service-map queries must answer every edge.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from labkit.agents.learning_cycle.local_services import LocalServices, post_cycle
from labkit.lgtm.testing import running_server
from labkit.observe import Mimir, Tempo
from labkit.observe.service_graph import draw_service_graph, grafana_queries, service_graph

CALLER = "learning-cycle-test"
EXPECTED = {
    (CALLER, "learning-cycle"),
    ("learning-cycle", "code-critic-supervisor"),
    *{("code-critic-supervisor", f"code-critic-{r}") for r in ("style", "security", "complexity", "tests")},
}


@pytest.fixture(scope="module")
def traffic(tmp_path_factory: pytest.TempPathFactory, llm_server: Any) -> Iterator[dict[str, Any]]:
    from labkit.telemetry import setup

    tmp = tmp_path_factory.mktemp("cycle-services")
    saved = {k: os.environ.get(k) for k in ("LABKIT_LLM_URL", "LABKIT_DATA_DIR", "LABKIT_BACKEND")}
    # The services build their own clients and stores from the environment, as in a container.
    os.environ.update(
        LABKIT_LLM_URL=llm_server.url, LABKIT_DATA_DIR=str(tmp / "data"), LABKIT_BACKEND="embedded"
    )
    try:
        with running_server(tmp) as srv:
            settings = srv.settings
            caller = setup(
                CALLER, protocol="http", settings=settings, set_global=False, capture_logging=False
            )
            tracer = caller.tracer("test")
            with LocalServices(settings) as svc:
                health = httpx.get(svc.url + "/health", timeout=10).json()
                bad = httpx.post(svc.url + "/cycle", json={"learner": ""}, timeout=10)
                results = [post_cycle(svc.url, f"learner-{i}", tracer=tracer) for i in range(2)]
                # A run id of another learner: a 400 whose SERVER span is an error, a failed edge.
                with pytest.raises(RuntimeError, match="belongs to learner"):
                    post_cycle(svc.url, "intruder", run_id=results[0]["run_id"], tracer=tracer)
                svc.flush()
            caller.flush()
            caller.shutdown()
            yield {"settings": settings, "results": results, "health": health, "bad": bad}
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _wait_edges(mimir: Mimir) -> Any:
    deadline = time.monotonic() + 30
    while True:
        graph = service_graph(mimir, range_="10m")
        edges = set(zip(graph.edges["client"], graph.edges["server"], strict=True))
        if edges >= EXPECTED or time.monotonic() > deadline:
            return graph
        time.sleep(0.5)


def _error_spans(traffic: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(service, span, status message) of every failed span of the cycles: why an edge failed."""
    tempo = Tempo(settings=traffic["settings"])
    out = []
    for result in traffic["results"]:
        spans = tempo.trace(result["trace_id"])
        failed = spans[spans["status_code"] == "error"]
        out += list(zip(failed["service_name"], failed["name"], failed["status_message"], strict=True))
    return out


def test_service_answers_health_and_rejects_bad_input(traffic: dict[str, Any]) -> None:
    assert traffic["health"]["status"] == "ok" and traffic["health"]["workflow"] == "learning_cycle"
    assert traffic["bad"].status_code == 400 and "learner" in traffic["bad"].json()["error"]
    assert all(r["passed"] for r in traffic["results"])
    assert traffic["results"][0]["trace_id"] != traffic["results"][1]["trace_id"]


def test_grafana_service_map_queries_answer_every_edge(traffic: dict[str, Any]) -> None:
    mimir = Mimir(settings=traffic["settings"])
    graph = _wait_edges(mimir)
    edges = set(zip(graph.edges["client"], graph.edges["server"], strict=True))
    assert edges >= EXPECTED
    for row in graph.edges.itertuples():
        failed_edge = (row.client, row.server) == (CALLER, "learning-cycle")
        assert row.rate > 0 and (row.error_rate > 0) == failed_edge, (row, _error_spans(traffic))
        assert 0 < row.avg_s <= row.p95_s * 2  # mean from _sum/_total, p95 from the buckets
    # The raw Grafana queries (histogram summed by le too) are accepted as Grafana sends them.
    for name, query in grafana_queries("10m", '{server="learning-cycle"}').items():
        frame = mimir.query(query)
        assert not frame.empty, name
        assert set(frame["server"]) == {"learning-cycle"}, name
    buckets = mimir.query(grafana_queries("10m")["histogram"])
    assert {"client", "server", "le"} <= set(buckets.columns)
    # The caller's edge spans the whole cycle, so it is at least as slow as the critic's.
    p95 = {(r.client, r.server): r.p95_s for r in graph.edges.itertuples()}
    assert p95[(CALLER, "learning-cycle")] >= p95[("code-critic-supervisor", "code-critic-style")]
    fig = draw_service_graph(graph)
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"learning-cycle", "code-critic-tests", CALLER} <= texts
    assert any("req/s" in t and "p95" in t for t in texts)


def test_selector_must_be_promql_matchers() -> None:
    with pytest.raises(ValueError, match="PromQL label matchers"):
        grafana_queries("5m", 'resource.service.name="x"')


def test_one_trace_crosses_the_services_and_traceql_finds_the_slowest_node(traffic: dict[str, Any]) -> None:
    tempo = Tempo(settings=traffic["settings"])
    trace_id = traffic["results"][0]["trace_id"]
    deadline = time.monotonic() + 30
    while True:
        spans = tempo.trace(trace_id)
        if {"learning-cycle", "code-critic-tests"} <= set(
            spans["service_name"]
        ) or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert {CALLER, "learning-cycle", "code-critic-supervisor", "code-critic-tests"} <= set(
        spans["service_name"]
    )
    names = set(spans["name"])
    assert {
        "invoke_workflow learning_cycle",
        "invoke_agent generate_assignment",
        "invoke_agent review_code",
        "invoke_agent update_progress",
        "execute_tool draft_exercise",
    } <= names
    # Structural + aggregate: the workflow's agent spans, grouped by node, slower than 300 ms on average.
    query = (
        '{ span.gen_ai.operation.name = "invoke_workflow" }'
        ' >> { span.gen_ai.operation.name = "invoke_agent" }'
        " | by(span.gen_ai.agent.name) | avg(duration) > 300ms"
    )
    found = tempo.search_spans(query, limit=20, spss=20)
    # Tempo returns the by() attribute on each matched span (the span name only when the query reads it).
    slow = set(found["gen_ai.agent.name"])
    # What the query must find, from the stored spans: per trace, agents under the workflow whose
    # spans average over 300 ms (so the check holds whatever the machine's speed).
    expected: set[str] = set()
    for result in traffic["results"]:
        frame = tempo.trace(result["trace_id"])
        agents = frame[frame["name"].str.startswith("invoke_agent ")]
        means = agents.groupby(agents["name"].str.removeprefix("invoke_agent "))["duration_ms"].mean()
        expected |= set(means[means > 300].index)
    assert slow == expected
    assert "update_progress" not in slow  # a few SQLite rows: never the bottleneck


def test_traceql_metrics_p95_per_node(traffic: dict[str, Any]) -> None:
    """quantile_over_time over the Tempo API: one series per node and quantile, labelled ``p``."""
    query = (
        '{ span.labkit.workflow.name = "learning_cycle" && span.gen_ai.operation.name = "invoke_agent" }'
        " | quantile_over_time(duration, .95) by (span.gen_ai.agent.name)"
    )
    now = time.time()
    params = {"q": query, "start": str(int(now - 600)), "end": str(int(now + 60)), "step": "60s"}
    response = httpx.get(
        traffic["settings"].tempo_url + "/api/metrics/query_range", params=params, timeout=30
    )
    assert response.status_code == 200, response.text
    p95: dict[str, float] = {}
    for series in response.json()["series"]:
        labels = {lab["key"]: lab["value"] for lab in series["labels"]}
        assert labels["p"] == {"doubleValue": 0.95}
        values = [float(s["value"]) for s in series["samples"] if "value" in s]
        p95[labels["span.gen_ai.agent.name"]["stringValue"]] = max(values)
    assert set(p95) == {"generate_assignment", "review_code", "update_progress"}
    assert p95["review_code"] >= p95["update_progress"]
