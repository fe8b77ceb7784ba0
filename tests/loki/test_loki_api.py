"""The Loki HTTP API beyond the golden recording: forms, protobuf push, parameters, errors."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

import labkit.lgtm.logs.logql as logql
from labkit.lgtm.logs.push import LokiEntry, LokiPush, LokiStream, encode_push_protobuf
from labkit.lgtm.testing import running_server

S = 10**9


@pytest.fixture(scope="module")
def loki(tmp_path_factory):
    with (
        running_server(tmp_path_factory.mktemp("loki_api")) as srv,
        httpx.Client(base_url=srv.urls["loki"], timeout=30) as client,
    ):
        yield client


@pytest.fixture(scope="module")
def now_s(loki):
    """Push a few lines 'now' (protobuf, JSON and OTLP) and return the current whole second."""
    now = time.time_ns() // S * S
    push = LokiPush(
        [
            LokiStream(
                {"service_name": "proto-app", "env": "dev"},
                [
                    LokiEntry(now - 3 * S, "level=info msg=one"),
                    LokiEntry(now - 2 * S, "level=error msg=two", (("trace_id", "t1"),)),
                ],
            )
        ]
    )
    r = loki.post(
        "/loki/api/v1/push",
        content=encode_push_protobuf(push),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert r.status_code == 204 and r.content == b""
    body = json.dumps(
        {
            "streams": [
                {"stream": {"service_name": "json-app"}, "values": [[str(now - S), '{"level":"warn","n":1}']]}
            ]
        }
    ).encode()
    r = loki.post(
        "/loki/api/v1/push",
        content=gzip.compress(body),
        headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
    )
    assert r.status_code == 204
    rl = ResourceLogs(
        scope_logs=[
            ScopeLogs(
                log_records=[
                    LogRecord(
                        time_unix_nano=now - S, severity_number=9, body=AnyValue(string_value="otlp line")
                    )
                ]
            )
        ]
    )
    rl.resource.attributes.append(KeyValue(key="service.name", value=AnyValue(string_value="otlp-app")))
    r = loki.post(
        "/otlp/v1/logs",
        content=ExportLogsServiceRequest(resource_logs=[rl]).SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert r.status_code == 204
    return now // S


def test_default_time_range_and_shapes(loki, now_s):
    r = loki.get("/loki/api/v1/query_range", params={"query": '{service_name="proto-app"}'})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json; charset=UTF-8"
    data = r.json()["data"]
    assert data["resultType"] == "streams" and "stats" in data
    streams = {json.dumps(s["stream"], sort_keys=True): s["values"] for s in data["result"]}
    assert streams == {
        json.dumps(
            {"detected_level": "error", "env": "dev", "service_name": "proto-app", "trace_id": "t1"},
            sort_keys=True,
        ): [[str((now_s - 2) * S), "level=error msg=two"]],
        json.dumps({"detected_level": "info", "env": "dev", "service_name": "proto-app"}, sort_keys=True): [
            [str((now_s - 3) * S), "level=info msg=one"]
        ],
    }


def test_post_form_and_time_formats(loki, now_s):
    form = {
        "query": '{service_name="json-app"} | json',
        "start": str(now_s - 60),
        "end": f"{now_s}.5",
        "direction": "forward",
    }
    r = loki.post("/loki/api/v1/query_range", data=form)
    (stream,) = r.json()["data"]["result"]
    assert stream["stream"] == {
        "service_name": "json-app",
        "detected_level": "warn",
        "level": "warn",
        "n": "1",
    }
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now_s - 60))
    r = loki.get("/loki/api/v1/labels", params={"start": iso})
    assert {"service_name", "env"} <= set(r.json()["data"])
    r = loki.post("/loki/api/v1/label/service_name/values", data={"query": '{env="dev"}'})
    assert r.json() == {"status": "success", "data": ["proto-app"]}


def test_otlp_and_metric_queries(loki, now_s):
    r = loki.get(
        "/loki/api/v1/query",
        params={
            "query": 'sum by (service_name) (count_over_time({service_name=~".+-app"}[1m]))',
            "time": str(now_s),
        },
    )
    body = r.json()
    assert body["data"]["resultType"] == "vector"
    assert [(x["metric"]["service_name"], x["value"]) for x in body["data"]["result"]] == [
        ("json-app", [now_s, "1"]),
        ("otlp-app", [now_s, "1"]),
        ("proto-app", [now_s, "2"]),
    ]
    r = loki.get("/loki/api/v1/query", params={"query": "1 + 1", "time": str(now_s)})
    assert r.json()["data"]["resultType"] == "scalar" and r.json()["data"]["result"] == [now_s, "2"]
    r = loki.get(
        "/loki/api/v1/query_range",
        params={
            "query": 'sum(count_over_time({service_name="proto-app"}[1m]))',
            "start": str(now_s - 30),
            "end": str(now_s),
            "step": "15s",
        },
    )
    points = r.json()["data"]["result"][0]["values"]
    assert all(t % 15 == 0 for t, _ in points) and points[-1][1] == "2"


def test_categorize_labels_without_metadata_has_two_element_values(loki, now_s):
    r = loki.get(
        "/loki/api/v1/query_range",
        params={"query": '{service_name="proto-app"} |= "one"'},
        headers={"X-Loki-Response-Encoding-Flags": "categorize-labels"},
    )
    (stream,) = r.json()["data"]["result"]
    assert stream["values"] == [
        [str((now_s - 3) * S), "level=info msg=one", {"structuredMetadata": {"detected_level": "info"}}]
    ]
    assert r.json()["data"]["encodingFlags"] == ["categorize-labels"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"query": '{a="b"}', "limit": "5001"},
            "max entries limit per query exceeded, limit > max_entries_limit_per_query (5001 > 5000)",
        ),
        ({"query": '{a="b"}', "direction": "sideways"}, 'invalid direction parameter: "sideways"'),
        ({"query": '{a="b"}', "start": "yesterday"}, 'invalid start parameter: cannot parse "yesterday"'),
        (
            {"query": 'count_over_time({a="b"}[1m])', "step": "abc"},
            'invalid step parameter: cannot parse "abc"',
        ),
        ({"query": "sum(", "start": "1"}, "parse error at line 1, col 5: syntax error: unexpected $end"),
    ],
)
def test_bad_parameters_are_plain_text_400(loki, params, message):
    r = loki.get("/loki/api/v1/query_range", params=params)
    assert r.status_code == 400 and r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.text.startswith(message)


def test_series_needs_a_matcher(loki):
    r = loki.get("/loki/api/v1/series")
    assert r.status_code == 400 and "match[]" in r.text


def test_bad_pushes_store_nothing(loki, now_s):
    before = loki.get("/loki/api/v1/series", params={"match[]": '{service_name="bad"}'}).json()
    r = loki.post(
        "/loki/api/v1/push",
        content=b'{"streams":[{"stream":{"service_name":"bad"},"values":[["1","ok"],["x","broken"]]}]}',
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400 and "values[1]" in r.text
    r = loki.post(
        "/loki/api/v1/push", content=b"\x00garbage", headers={"Content-Type": "application/x-protobuf"}
    )
    assert r.status_code == 400 and "snappy" in r.text
    r = loki.post("/otlp/v1/logs", content=b"x", headers={"Content-Type": "text/csv"})
    assert r.status_code == 415
    assert loki.get("/loki/api/v1/series", params={"match[]": '{service_name="bad"}'}).json() == before


def test_exported_names():
    assert sorted(logql.__all__) == [
        "LogQLError",
        "LogSource",
        "ParseError",
        "QueryError",
        "evaluate_instant",
        "evaluate_range",
        "parse",
        "parse_selector",
        "select_logs",
        "to_string",
    ]
