"""Loki push decoding (JSON and snappy protobuf), OTLP log mapping, detected_level."""

from __future__ import annotations

import contextlib
import json

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, ArrayValue, KeyValue, KeyValueList
from opentelemetry.proto.logs.v1.logs_pb2 import LogRecord, ResourceLogs, ScopeLogs

from labkit.lgtm.db import Database
from labkit.lgtm.logs.labels import detect_level, format_sample_value, labels_string
from labkit.lgtm.logs.push import (
    LokiEntry,
    LokiPush,
    LokiStream,
    PushError,
    decode_push,
    decode_push_json,
    decode_push_protobuf,
    encode_push_protobuf,
)
from labkit.lgtm.logs.store import otlp_record_rows, store_loki_push, store_otlp_logs


def test_json_push_with_metadata():
    body = json.dumps(
        {"streams": [{"stream": {"app": "a"}, "values": [["17", "x"], ["18", "y", {"k": "v"}]]}]}
    )
    push = decode_push_json(body.encode())
    (stream,) = push.streams
    assert stream.labels == {"app": "a"}
    assert stream.entries == [LokiEntry(17, "x"), LokiEntry(18, "y", (("k", "v"),))]


def test_json_push_errors_name_the_problem():
    with pytest.raises(PushError) as info:
        decode_push_json(b"{not json")
    assert str(info.value) == (
        'loghttp.PushRequest.readFieldHash: expect ", but found n, error found in #2 byte of '
        "...|{not json|..., bigger context ...|{not json|...\n"
    )
    with pytest.raises(PushError, match=r"streams\[0\]\.values\[0\]: timestamp"):
        decode_push_json(b'{"streams":[{"stream":{"a":"b"},"values":[["soon","x"]]}]}')
    with pytest.raises(PushError, match=r"values\[0\]: timestamp"):
        decode_push_json(b'{"streams":[{"stream":{"a":"b"},"values":[["99999999999999999999","x"]]}]}')
    with pytest.raises(PushError, match="invalid label name"):
        decode_push_json(b'{"streams":[{"stream":{"a-b":"c"},"values":[]}]}')


def test_protobuf_push_round_trip():
    push = LokiPush(
        [
            LokiStream(
                {"service_name": "web", "env": 'q"uote'},
                [LokiEntry(1_700_000_000_123_456_789, "héllo"), LokiEntry(5, "x", (("trace_id", "ab"),))],
            ),
            LokiStream({}, [LokiEntry(7, "no labels")]),
        ]
    )
    body = encode_push_protobuf(push)
    assert decode_push(body, "application/x-protobuf") == push
    assert decode_push_protobuf(encode_push_protobuf(push, compress=False), compressed=False) == push


@pytest.mark.parametrize("body", [b"\xff\xff", b"\x0a\x05abc", b""])
def test_protobuf_garbage_is_a_push_error(body):
    with contextlib.suppress(PushError):
        decode_push(body, "application/x-protobuf")


def test_empty_label_set_becomes_unknown_service():
    db = Database(None)
    with db.transaction() as con:
        store_loki_push(
            db,
            con,
            LokiPush(
                [
                    LokiStream({}, [LokiEntry(1, "line without labels")]),
                    LokiStream({"app": "shop"}, [LokiEntry(2, "level=warn x")]),
                ]
            ),
        )
    rows = db.query("SELECT labels, metadata FROM log_entries ORDER BY seq")
    assert [json.loads(r[0]) for r in rows] == [
        {"service_name": "unknown_service"},
        {"app": "shop", "service_name": "shop"},
    ]
    assert [json.loads(r[1]) for r in rows] == [{}, {"detected_level": "warn"}]


@pytest.mark.parametrize(
    ("line", "level"),
    [
        ('{"level":"error","msg":"x"}', "error"),
        ('{"severity":"WARNING"}', "warn"),
        ("level=debug msg=hi", "debug"),
        ('lvl=info msg="a b"', "info"),
        ("INFO reserved 3 units", "info"),
        ("[warn] smtp slow", "warn"),
        ("ERROR reservation failed", "error"),
        ("DEBUG cache miss", "debug"),
        ("nothing to see", None),
        ("errors are not whole words", None),
    ],
)
def test_detect_level(line, level):
    assert detect_level(line) == level


def test_labels_string_and_sample_format_match_go():
    assert labels_string({"b": "2", "a": 'x"y\n'}) == '{a="x\\"y\\n", b="2"}'
    assert [format_sample_value(v) for v in (15.0, 0.0275, 1e-7, 1e21, 2.5e20, float("inf"))] == [
        "15",
        "0.0275",
        "0.0000001",
        "1000000000000000000000",
        "250000000000000000000",
        "+Inf",
    ]


def _kv(key, **value):
    return KeyValue(key=key, value=AnyValue(**value))


def _otlp_request() -> ExportLogsServiceRequest:
    record = LogRecord(
        time_unix_nano=1_000,
        observed_time_unix_nano=1_500,
        severity_number=17,
        severity_text="ERROR",
        body=AnyValue(string_value="charge failed"),
        attributes=[
            _kv("http.response.status_code", int_value=500),
            _kv("retry", bool_value=True),
            _kv("duration_s", double_value=0.25),
            KeyValue(
                key="user", value=AnyValue(kvlist_value=KeyValueList(values=[_kv("id", string_value="u-1")]))
            ),
            KeyValue(
                key="tags",
                value=AnyValue(
                    array_value=ArrayValue(
                        values=[AnyValue(string_value="beta"), AnyValue(string_value="eu")]
                    )
                ),
            ),
        ],
        trace_id=bytes.fromhex("0123456789abcdef0123456789abcdef"),
        span_id=bytes.fromhex("0123456789abcdef"),
        flags=1,
    )
    map_body = LogRecord(
        observed_time_unix_nano=2_000,
        body=AnyValue(kvlist_value=KeyValueList(values=[_kv("z", int_value=1), _kv("a", string_value="x")])),
    )
    scope = ScopeLogs(log_records=[record, map_body])
    scope.scope.name, scope.scope.version = "payments.charges", "1.2.4"
    rl = ResourceLogs(scope_logs=[scope])
    rl.resource.attributes.extend(
        [
            _kv("service.name", string_value="payments"),
            _kv("k8s.namespace.name", string_value="shop"),
            _kv("host.name", string_value="node-b"),
        ]
    )
    no_service = ResourceLogs(
        scope_logs=[ScopeLogs(log_records=[LogRecord(time_unix_nano=3, body=AnyValue(string_value="hello"))])]
    )
    return ExportLogsServiceRequest(resource_logs=[rl, no_service])


def test_otlp_mapping_matches_loki():
    rows = otlp_record_rows(_otlp_request())
    ts, labels, line, meta = rows[0]
    assert ts == 1_000 and line == "charge failed"
    assert labels == {"service_name": "payments", "k8s_namespace_name": "shop"}
    assert meta == {
        "host_name": "node-b",
        "scope_name": "payments.charges",
        "scope_version": "1.2.4",
        "http_response_status_code": "500",
        "retry": "true",
        "duration_s": "0.25",
        "user_id": "u-1",
        "tags": '["beta","eu"]',
        "severity_text": "ERROR",
        "severity_number": "17",
        "flags": "1",
        "trace_id": "0123456789abcdef0123456789abcdef",
        "span_id": "0123456789abcdef",
        "observed_timestamp": "1500",
        "detected_level": "error",
    }
    ts, _, line, meta = rows[1]
    assert ts == 2_000  # no time: the observed time is used
    assert line == '{"a":"x","z":1}'  # map body: JSON with sorted keys
    assert rows[2][1] == {"service_name": "unknown_service"}


def test_otlp_store_writes_correlation_columns():
    db = Database(None)
    with db.transaction() as con:
        assert store_otlp_logs(db, con, _otlp_request()) == 3
    rows = db.query("SELECT trace_id, span_id, severity_text FROM log_entries ORDER BY seq")
    assert rows[0] == ("0123456789abcdef0123456789abcdef", "0123456789abcdef", "ERROR")
    assert rows[1] == ("", "", "")
