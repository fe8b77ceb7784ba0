"""labkit.telemetry -> embedded LGTM server -> labkit.observe / labkit.dashboards, for real.

One server per module: telemetry from labkit.telemetry (gRPC and HTTP) and from the
demo app (as a local process) goes in once, then every client call is checked on it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

from labkit import dashboards, demo
from labkit.config import Settings
from labkit.observe import Loki, Mimir, NotFound, QueryError, Tempo, logs_of_trace, slowest_spans
from labkit.telemetry import genai, setup

running_server = pytest.importorskip("labkit.lgtm.testing").running_server


@dataclass
class Sent:
    settings: Settings
    trace_ids: dict[str, str]  # protocol -> trace id
    demo_traffic: pd.DataFrame


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sent]:
    tmp = tmp_path_factory.mktemp("e2e")
    with running_server(tmp) as srv:
        settings = srv.settings
        trace_ids = {}
        for protocol in ("grpc", "http"):
            tel = setup(f"e2e-{protocol}", protocol, settings=settings, set_global=False)
            logger = tel.logger(f"e2e-{protocol}.test")
            logger.propagate = False
            logger.setLevel(logging.INFO)
            metrics = genai.GenAIMetrics.create(tel.meter())
            requests = tel.meter().create_counter("lab.requests", unit="{request}")
            with tel.tracer().start_as_current_span("handle") as root:
                with tel.tracer().start_as_current_span("db.query"):
                    logger.error("query failed over %s", protocol)
                with genai.operation_span(
                    genai.inference_attributes("chat", "labkit", "m1"), tracer=tel.tracer()
                ):
                    pass
                trace_ids[protocol] = format(root.get_span_context().trace_id, "032x")
            requests.add(3, {"route": "/x"})
            metrics.record(
                genai.inference_attributes("chat", "labkit", "m1"), 0.5, input_tokens=10, output_tokens=4
            )
            tel.shutdown()
        with demo.start(settings, fail_rate=0.5, slow_seconds=0.05, metric_interval_s=0.5) as app:
            traffic = demo.traffic(app, 40, concurrency=2, progress=False)
        # app.stop() (on exit) flushes its telemetry before returning.
        yield Sent(settings, trace_ids, traffic)


def test_trace_by_id_over_both_protocols(sent: Sent) -> None:
    tempo = Tempo(settings=sent.settings)
    for protocol, trace_id in sent.trace_ids.items():
        spans = tempo.trace(trace_id)
        assert set(spans["name"]) == {"handle", "db.query", "chat m1"}
        assert spans.iloc[0]["name"] == "handle" and spans.iloc[0]["depth"] == 0
        assert set(spans["depth"]) == {0, 1}
        assert (spans["service_name"] == f"e2e-{protocol}").all()
        assert spans["duration_ms"].dtype == "float64"
        chat = spans[spans["name"] == "chat m1"].iloc[0]
        assert chat["kind"] == "client" and chat["attributes"]["gen_ai.provider.name"] == "labkit"
        assert len(slowest_spans(spans, n=2)) == 2
    assert tempo.has_trace("0" * 31 + "1") is False
    with pytest.raises(NotFound):
        tempo.trace("0" * 31 + "1")


def test_tempo_search_and_tags(sent: Sent) -> None:
    tempo = Tempo(settings=sent.settings)
    found = tempo.search('{ resource.service.name = "e2e-grpc" }', "now-1h", "now", limit=10)
    assert found["trace_id"].tolist() == [sent.trace_ids["grpc"]]
    assert found["root_name"].iloc[0] == "handle" and found["matched"].iloc[0] >= 1
    errors = tempo.search("{ status = error }", "now-1h", "now", limit=50)
    assert len(errors) >= 1 and sent.trace_ids["grpc"] not in set(errors["trace_id"])
    tags = tempo.tags()
    assert ("resource", "service.name") in set(zip(tags["scope"], tags["tag"], strict=True))
    assert {"e2e-grpc", "e2e-http", "demo-app"} <= set(tempo.tag_values("resource.service.name"))
    with pytest.raises(QueryError):
        tempo.search("{ resource.service.name = }")


def test_logs_of_a_trace_and_loki_metadata(sent: Sent) -> None:
    loki = Loki(settings=sent.settings)
    for protocol, trace_id in sent.trace_ids.items():
        logs = logs_of_trace(trace_id, loki, start="now-1h")
        assert logs["line"].tolist() == [f"query failed over {protocol}"]
        assert logs["trace_id"].iloc[0] == trace_id and logs["severity_text"].iloc[0] == "ERROR"
        assert "trace_id" in logs.attrs["structured_metadata"]
    assert "service_name" in loki.labels()
    assert {"e2e-grpc", "e2e-http", "demo-app"} <= set(loki.label_values("service_name"))
    assert set(loki.series('{service_name="e2e-http"}')["service_name"]) == {"e2e-http"}
    counts = loki.query('sum by (service_name) (count_over_time({service_name=~"e2e-.*"}[1h]))')
    assert dict(zip(counts["service_name"], counts["value"], strict=True)) == {
        "e2e-grpc": 1.0,
        "e2e-http": 1.0,
    }
    with pytest.raises(QueryError, match="parse error"):
        loki.query_range('{service_name="x"')


def test_mimir_names_follow_the_prometheus_translation(sent: Sent) -> None:
    mimir = Mimir(settings=sent.settings)
    names = set(mimir.metric_names())
    assert {
        "lab_requests_total",
        "gen_ai_client_operation_duration_seconds_bucket",
        "gen_ai_client_token_usage_bucket",
        "http_server_request_duration_seconds_bucket",
        "demo_requests_total",
        "target_info",
    } <= names
    assert mimir.value('sum(lab_requests_total{job="labkit/e2e-grpc"})') == 3.0
    tokens = mimir.query('sum by (gen_ai_token_type) (gen_ai_client_token_usage_sum{job="labkit/e2e-http"})')
    assert dict(zip(tokens["gen_ai_token_type"], tokens["value"], strict=True)) == {
        "input": 10.0,
        "output": 4.0,
    }
    series = mimir.series("lab_requests_total")
    assert set(series["job"]) == {"labkit/e2e-grpc", "labkit/e2e-http"}
    assert "job" in mimir.labels()
    matrix = mimir.query_range("sum(demo_requests_total)", "now-5m", "now", step="5s")
    assert matrix["value"].dtype == "float64" and matrix["value"].max() == float(len(sent.demo_traffic))
    with pytest.raises(QueryError, match="bad_data"):
        mimir.query("sum(")


def test_demo_app_errors_carry_trace_ids_that_resolve(sent: Sent) -> None:
    failed = int((sent.demo_traffic["status"] == 500).sum())
    assert failed > 0
    loki = Loki(settings=sent.settings)
    errors = loki.query_range('{service_name="demo-app"} | severity_text="ERROR"', "now-1h", "now", limit=500)
    assert len(errors) == failed
    tempo = Tempo(settings=sent.settings)
    spans = tempo.trace(errors["trace_id"].iloc[0])
    assert "flaky-dependency" in set(spans["name"]) and "error" in set(spans["status_code"])
    slow = tempo.search('{ resource.service.name = "demo-app" && name = "slow-query" }', "now-1h", "now")
    assert len(slow) == int((sent.demo_traffic["path"] == "/slow").sum())


def test_first_dashboard_renders_on_the_embedded_server(sent: Sent) -> None:
    rendered = dashboards.render(
        dashboards.DASHBOARD_DIR / "first-dashboard.json", settings=sent.settings, start="now-5m"
    )
    assert rendered.errors == {}
    logs = rendered.panel("Error logs").table
    assert logs is not None and len(logs) == int((sent.demo_traffic["status"] == 500).sum())
    table = rendered.panel("Requests by route (last 5 min)").table
    assert table is not None and set(table["http_route"]) >= {"/flaky"}


def test_demo_app_refuses_a_bad_directory(tmp_path: Path, sent: Sent) -> None:
    with pytest.raises(demo.DemoError, match="not at"):
        demo.start(sent.settings, app_dir=tmp_path)
    with pytest.raises(ValueError, match="mix"):
        demo.traffic("http://127.0.0.1:1", 1, mix={"/": 0})


def test_traffic_is_paced_by_rate_per_s() -> None:
    # Nothing listens on port 1, so each request fails at once (status 0); only the pacing
    # decides when they start: 9 requests at 20/s are spread over about 8/20 = 0.4 s (unpaced,
    # they all start within a few ms). The margin allows for the first worker starting late.
    frame = demo.traffic("http://127.0.0.1:1", 9, concurrency=3, progress=False, rate_per_s=20)
    span_s = (frame["started"].max() - frame["started"].min()).total_seconds()
    assert span_s >= 0.3
    assert set(frame["status"]) == {0}
    with pytest.raises(ValueError, match="rate_per_s"):
        demo.traffic("http://127.0.0.1:1", 1, rate_per_s=0)
