from __future__ import annotations

import json
import socket

import httpx
import pandas as pd
import pytest

from labkit.observe import (
    BackendUnavailable,
    Grafana,
    Loki,
    Mimir,
    NotFound,
    QueryError,
    Tempo,
    exemplar_traces,
    logs_of_trace,
    slowest_spans,
    trace_url,
    wide,
)
from labkit.observe._time import parse_duration, to_timestamp

from ._support import Recorder, golden_response


def _json(body: object, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json=body)


def _mimir(settings, answer) -> tuple[Mimir, Recorder]:
    rec = Recorder(answer)
    return Mimir(settings=settings, transport=rec.transport()), rec


# -- Mimir ----------------------------------------------------------------------------------
VECTOR = {
    "status": "success",
    "data": {
        "resultType": "vector",
        "result": [
            {"metric": {"__name__": "up", "job": "demo-app", "instance": "a"}, "value": [1795664220.5, "1"]},
            {"metric": {"__name__": "up", "job": "other", "instance": "b"}, "value": [1795664220.5, "NaN"]},
        ],
    },
}
MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [
            {"metric": {"route": "/ok"}, "values": [[1795664100, "1.5"], [1795664115, "2"]]},
            {"metric": {"route": "/slow"}, "values": [[1795664100, "+Inf"]]},
        ],
    },
    "warnings": ["PromQL warning: something"],
}


def test_mimir_instant_query_dtypes_and_labels(settings) -> None:
    mimir, rec = _mimir(settings, lambda r: _json(VECTOR))
    frame = mimir.query("up", time="2026-11-26T00:00:00Z")
    assert rec.last.url.path == "/prometheus/api/v1/query"
    assert rec.last.url.params["query"] == "up"
    assert float(rec.last.url.params["time"]) == pytest.approx(
        to_timestamp("2026-11-26T00:00:00Z").value / 1e9
    )
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["value"].dtype == "float64"
    assert frame["value"].iloc[0] == 1.0 and pd.isna(frame["value"].iloc[1])
    assert list(frame["job"]) == ["demo-app", "other"]
    assert frame["series"].iloc[0] == 'up{instance="a", job="demo-app"}'
    assert frame.attrs["result_type"] == "vector"


def test_mimir_range_query_long_and_wide(settings) -> None:
    mimir, rec = _mimir(settings, lambda r: _json(MATRIX))
    frame = mimir.query_range("rate(x[1m])", start=1795664100, end=1795664200, step="15s")
    params = rec.last.url.params
    assert params["step"] == "15" and float(params["start"]) == 1795664100.0
    assert len(frame) == 3 and frame["value"].tolist()[:2] == [1.5, 2.0]
    assert frame["value"].iloc[2] == float("inf")
    assert frame.attrs["warnings"] == ["PromQL warning: something"]
    table = wide(frame, legend="route")
    assert list(table.columns) == ["/ok", "/slow"] and len(table) == 2
    with pytest.raises(KeyError, match="legend"):
        wide(frame, legend="nope")


def test_mimir_bad_query_names_the_query_and_the_error(settings) -> None:
    body = {"status": "error", "errorType": "bad_data", "error": 'parse error: unexpected "}"'}
    mimir, _ = _mimir(settings, lambda r: _json(body, 400))
    with pytest.raises(QueryError, match=r"rejected query 'sum\(}': bad_data: parse error") as info:
        mimir.query("sum(}")
    assert info.value.status == 400 and info.value.error_type == "bad_data"


def test_mimir_series_labels_metric_names_value(settings) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/series"):
            assert request.url.params.get_list("match[]") == ['{job="demo-app"}', "up"]
            return _json({"status": "success", "data": [{"__name__": "up", "job": "demo-app"}]})
        if path.endswith("/labels"):
            return _json({"status": "success", "data": ["job", "__name__"]})
        if path.endswith("/label/__name__/values"):
            return _json({"status": "success", "data": ["up", "http_server_request_duration_seconds_bucket"]})
        if path.endswith("/query"):
            return _json(
                {
                    "status": "success",
                    "data": {"resultType": "vector", "result": [VECTOR["data"]["result"][0]]},
                }
            )
        return httpx.Response(404)

    mimir, _ = _mimir(settings, answer)
    series = mimir.series(['{job="demo-app"}', "up"])
    assert list(series.columns) == ["__name__", "job"]
    assert mimir.labels() == ["__name__", "job"]
    assert mimir.metric_names("^http_") == ["http_server_request_duration_seconds_bucket"]
    assert mimir.value("up") == 1.0
    with pytest.raises(ValueError, match="label name"):
        mimir.label_values("bad-name")
    with pytest.raises(ValueError, match="at least one"):
        mimir.series([])


def test_mimir_exemplars_frame(settings) -> None:
    body = {
        "status": "success",
        "data": [
            {
                "seriesLabels": {"__name__": "x_bucket", "le": "0.5"},
                "exemplars": [
                    {
                        "labels": {"trace_id": "ab" * 16, "span_id": "cd" * 8},
                        "value": "0.3",
                        "timestamp": 1795664100.5,
                    }
                ],
            }
        ],
    }
    mimir, rec = _mimir(settings, lambda r: _json(body))
    frame = mimir.exemplars("x_bucket")
    assert rec.last.url.path.endswith("/query_exemplars")
    assert frame["trace_id"].iloc[0] == "ab" * 16 and frame["value"].dtype == "float64"
    linked = exemplar_traces(mimir, "x_bucket", grafana_url="http://127.0.0.1:3000")
    assert linked["trace_url"].iloc[0].startswith("http://127.0.0.1:3000/explore?")
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"


def test_empty_query_is_rejected_before_sending(settings) -> None:
    mimir, rec = _mimir(settings, lambda r: _json(VECTOR))
    with pytest.raises(ValueError, match="non-empty"):
        mimir.query("  ")
    assert rec.requests == []


# -- transport errors -----------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_nothing_listening_names_the_endpoint_and_the_fix(settings) -> None:
    port = _closed_port()
    tempo = Tempo(f"http://127.0.0.1:{port}", settings=settings)
    with pytest.raises(
        BackendUnavailable, match=rf"nothing answers on 127\.0\.0\.1:{port} \(Tempo.*labkit stack up"
    ):
        tempo.search("{}")


def test_retries_on_503_then_succeeds(settings) -> None:
    calls = iter([httpx.Response(503, text="busy"), _json(VECTOR)])
    rec = Recorder(lambda r: next(calls))
    mimir = Mimir(settings=settings, transport=rec.transport(), retries=1)
    assert len(mimir.query("up")) == 2
    assert len(rec.requests) == 2


def test_timeout_is_reported_with_the_setting_to_change(settings) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    rec = Recorder(answer)
    loki = Loki(settings=settings, transport=rec.transport(), retries=1)
    with pytest.raises(BackendUnavailable, match=r"did not answer.*LABKIT_HTTP_TIMEOUT_S"):
        loki.labels()
    assert len(rec.requests) == 2


# -- Loki (real Loki answers) ---------------------------------------------------------------
def _loki(settings, name: str) -> tuple[Loki, Recorder]:
    rec = Recorder(lambda r: golden_response("loki", name))
    return Loki(settings=settings, transport=rec.transport()), rec


def test_loki_categorized_streams_become_columns(settings) -> None:
    loki, rec = _loki(settings, "logs_otlp_namespace_categorize_labels")
    frame = loki.query_range('{k8s_namespace_name="shop"}', "now-20m", "now", limit=50)
    assert rec.last.headers["X-Loki-Response-Encoding-Flags"] == "categorize-labels"
    assert rec.last.url.params["limit"] == "50" and rec.last.url.params["direction"] == "backward"
    assert frame.attrs["categorized"] is True
    assert frame.attrs["index_labels"] == ["deployment_environment", "k8s_namespace_name", "service_name"]
    assert {"trace_id", "span_id", "severity_text", "detected_level"} <= set(
        frame.attrs["structured_metadata"]
    )
    assert str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    assert frame["timestamp"].is_monotonic_decreasing
    assert list(frame.columns[:2]) == ["timestamp", "line"]
    row = frame[frame["line"] == "order ord-10020 state changed"].iloc[0]
    assert row["trace_id"] == "f84632713627fbeb430bc64761d19202" and row["service_name"] == "checkout"


def test_loki_plain_streams_and_parsed_labels(settings) -> None:
    loki, _ = _loki(settings, "logs_selector_limit_10")
    frame = loki.query_range('{service_name="checkout", env="prod"}', limit=10, direction="forward")
    assert len(frame) == 10 and frame["timestamp"].is_monotonic_increasing
    assert set(frame["detected_level"]) <= {"debug", "info", "warn", "error"}
    loki, _ = _loki(settings, "logs_json_categorize_labels")
    frame = loki.query_range('{service_name="payments", env="prod"} | json | level="warn"')
    assert "level" in frame.attrs["parsed_labels"] and set(frame["level"]) == {"warn"}


def test_loki_metric_range_and_instant(settings) -> None:
    loki, _ = _loki(settings, "metric_range_count_by_service")
    frame = loki.query_range('sum by (service_name) (count_over_time({env="prod"}[1m]))', step="60s")
    assert frame.attrs["result_type"] == "matrix"
    assert frame["value"].dtype == "float64" and set(frame["service_name"]) >= {"checkout", "email"}
    loki, rec = _loki(settings, "metric_instant_count_by_service")
    frame = loki.query('sum by (service_name) (count_over_time({env="prod"}[5m]))', time=1795664220)
    assert rec.last.url.params["time"] == str(1795664220 * 10**9)
    assert dict(zip(frame["service_name"], frame["value"], strict=True))["shop-frontend"] == 120.0


def test_loki_errors_are_plain_text_and_named(settings) -> None:
    loki, _ = _loki(settings, "error_syntax")
    with pytest.raises(
        QueryError, match=r"rejected query '\{service_name=\"checkout\"': parse error at line 1"
    ):
        loki.query_range('{service_name="checkout"')
    loki, _ = _loki(settings, "error_log_query_on_instant")
    with pytest.raises(QueryError, match="not supported as an instant query"):
        loki.query('{service_name="checkout"}')


def test_loki_labels_and_unknown_label_values(settings) -> None:
    loki, _ = _loki(settings, "labels")
    assert loki.labels() == ["deployment_environment", "env", "k8s_namespace_name", "service_name"]
    loki, _ = _loki(settings, "label_values_unknown")
    assert loki.label_values("no_such_label") == []
    loki, _ = _loki(settings, "series_checkout")
    series = loki.series('{service_name="checkout"}')
    assert set(series["service_name"]) == {"checkout"}


# -- Tempo (real Tempo answers) -------------------------------------------------------------
def _tempo(settings, name: str) -> tuple[Tempo, Recorder]:
    rec = Recorder(lambda r: golden_response("tempo", name))
    return Tempo(settings=settings, transport=rec.transport()), rec


def test_tempo_trace_as_span_table(settings) -> None:
    tempo, rec = _tempo(settings, "trace_v2_checkout_pay_fail")
    spans = tempo.trace("ea5da99fff7555ded6892ccd642f6271")
    assert rec.last.url.path == "/api/v2/traces/ea5da99fff7555ded6892ccd642f6271"
    assert len(spans) == 11
    root = spans.iloc[0]
    assert root["trace_id"] == "ea5da99fff7555ded6892ccd642f6271"
    assert root["depth"] == 0 and root["parent_span_id"] == "" and root["name"] == "POST /api/checkout"
    assert root["kind"] == "server" and root["status_code"] == "error"
    assert root["duration_ms"] == pytest.approx(1058.7)
    assert root["attributes"]["http.response.status_code"] == 502
    assert spans["depth"].max() == 5  # frontend > client > checkout > client > payments > provider
    assert spans["duration_ms"].dtype == "float64" and str(spans["start"].dtype) == "datetime64[ns, UTC]"
    # Depth-first: every non-root span comes after its parent.
    position = {sid: i for i, sid in enumerate(spans["span_id"])}
    assert all(
        position[p] < position[s] for s, p in zip(spans["span_id"], spans["parent_span_id"], strict=True) if p
    )
    # Self time excludes the (overlapping) children.
    reserve = spans[spans["name"] == "POST /inventory/reserve"].iloc[0]
    assert reserve["self_ms"] == pytest.approx(36.0 - 34.0)
    top = slowest_spans(spans, n=2)
    assert len(top) == 2 and top["self_ms"].is_monotonic_decreasing


def test_tempo_unknown_trace_is_not_found(settings) -> None:
    tempo, _ = _tempo(settings, "trace_v2_unknown_id")
    with pytest.raises(NotFound, match="0123456789abcdef0123456789abcdef is not in Tempo"):
        tempo.trace("0123456789abcdef0123456789abcdef")
    assert tempo.has_trace("0123456789abcdef0123456789abcdef") is False
    with pytest.raises(ValueError, match="hex"):
        tempo.trace("xyz-not-hex")


def test_tempo_search_pads_stripped_ids(settings) -> None:
    tempo, rec = _tempo(settings, "search_all_limit_50")
    found = tempo.search("{}", start=1795663620, end=1795664280, limit=50)
    assert rec.last.url.params["q"] == "{}" and rec.last.url.params["limit"] == "50"
    assert rec.last.url.params["start"] == "1795663620"
    assert len(found) == 40 and found["trace_id"].str.len().eq(32).all()
    assert "0c8bea51c1b86abc0fda0df42f5ff98f" in set(found["trace_id"])
    assert str(found["start"].dtype) == "datetime64[ns, UTC]" and found["duration_ms"].dtype == "float64"
    spans = tempo.search_spans("{}", start=1795663620, end=1795664280, limit=50)
    assert {"trace_id", "span_id", "duration_ms"} <= set(spans.columns) and len(spans) >= 40


def test_tempo_search_error_and_tags(settings) -> None:
    tempo, _ = _tempo(settings, "search_syntax_error")
    with pytest.raises(QueryError, match="parse error at line 1, col 27"):
        tempo.search("{ resource.service.name = }")
    tempo, _ = _tempo(settings, "tags_v2")
    tags = tempo.tags()
    assert ("resource", "service.name") in set(zip(tags["scope"], tags["tag"], strict=True))
    tempo, _ = _tempo(settings, "tag_values_v2_status_code_int")
    assert tempo.tag_values("span.http.response.status_code")[:2] == [200, 201]
    tempo, _ = _tempo(settings, "tag_values_v1_service_name")
    assert tempo.tag_values("service.name") == ["checkout", "email", "inventory", "payments", "shop-frontend"]


# -- correlation ----------------------------------------------------------------------------
def test_logs_of_trace_filters_on_structured_metadata(settings) -> None:
    rec = Recorder(lambda r: golden_response("loki", "logs_otlp_namespace_categorize_labels"))
    loki = Loki(settings=settings, transport=rec.transport())
    logs_of_trace("f84632713627fbeb430bc64761d19202", loki)
    assert (
        rec.last.url.params["query"] == '{service_name=~".+"} | trace_id="f84632713627fbeb430bc64761d19202"'
    )
    with pytest.raises(ValueError, match="hex"):
        logs_of_trace('x" or 1=1', loki)


def test_trace_url_points_at_the_tempo_datasource() -> None:
    url = trace_url("abc", "http://127.0.0.1:3000")
    assert url.startswith("http://127.0.0.1:3000/explore?schemaVersion=1&panes=")
    assert "00000000000000000000000000000abc" in url and "tempo" in url


# -- Grafana --------------------------------------------------------------------------------
def test_grafana_health_datasources_and_dashboards(settings) -> None:
    stored: dict[str, object] = {}

    def answer(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/api/health":
            return _json({"database": "ok", "version": "12.0.0"})
        if path == "/api/datasources":
            return _json(
                [{"uid": "mimir", "name": "Mimir", "type": "prometheus", "url": "http://mimir:9009"}]
            )
        if path == "/api/dashboards/db":
            stored.update(json.loads(request.content))
            return _json({"uid": "first", "status": "success", "version": 1, "url": "/d/first"})
        if path == "/api/dashboards/uid/first":
            return _json({"dashboard": stored["dashboard"], "meta": {}})
        return _json({"message": "Dashboard not found"}, 404)

    rec = Recorder(answer)
    grafana = Grafana(settings=settings, transport=rec.transport(), password="secret")
    assert grafana.health()["database"] == "ok"
    assert rec.last.headers["authorization"].startswith("Basic ")
    assert grafana.datasources()["uid"].tolist() == ["mimir"]
    answer_ = grafana.put_dashboard({"id": 7, "uid": "first", "title": "First", "panels": []})
    assert answer_["status"] == "success" and stored["overwrite"] is True
    assert "id" not in stored["dashboard"]  # type: ignore[operator]
    assert grafana.dashboard("first")["title"] == "First"
    with pytest.raises(NotFound, match="Dashboard not found"):
        grafana.dashboard("missing")
    with pytest.raises(ValueError, match="title"):
        grafana.put_dashboard({"panels": []})


def test_time_helpers() -> None:
    now = pd.Timestamp("2026-01-01T00:00:00Z")
    assert to_timestamp("now-15m", now) == now - pd.Timedelta(minutes=15)
    assert to_timestamp(1795664220000, now) == pd.Timestamp(1795664220, unit="s", tz="UTC")
    assert parse_duration("1h30m").total_seconds() == 5400
    with pytest.raises(ValueError, match="cannot read duration"):
        parse_duration("5 minutes")
    with pytest.raises(ValueError, match="cannot read time"):
        to_timestamp("yesterday-ish")


def test_scalar_and_unknown_result_types() -> None:
    from labkit.observe import result_frame

    frame = result_frame({"resultType": "scalar", "result": [1795664220, "2.5"]})
    assert frame["value"].tolist() == [2.5] and str(frame["timestamp"].dtype) == "datetime64[ns, UTC]"
    with pytest.raises(ValueError, match="unknown resultType"):
        result_frame({"resultType": "streams", "result": []})
