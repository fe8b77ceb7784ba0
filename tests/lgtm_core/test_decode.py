"""The pure OTLP decoder: protobuf, OTLP/JSON, gzip, and clear refusals."""

from __future__ import annotations

import base64
import gzip
import json
import zlib

import pytest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from labkit.lgtm.otlp.decode import (
    DecodeError,
    any_value_to_json,
    any_value_to_python,
    attributes_to_json,
    decode_request,
    hex_id,
    json_value_to_python,
)
from labkit.lgtm.testing import add_attribute

from .payloads import make_logs, make_metrics, make_traces

PB = "application/x-protobuf"
JS = "application/json"

SPAN_JSON = {
    "resourceSpans": [
        {
            "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "shop"}}]},
            "scopeSpans": [
                {
                    "scope": {"name": "s"},
                    "spans": [
                        {
                            "traceId": "5B8EFFF798038103D269B633813FC60C",
                            "spanId": "eee19b7ec3c1b174",
                            "parentSpanId": "",
                            "name": "GET /",
                            "kind": "SPAN_KIND_SERVER",
                            "startTimeUnixNano": "1795000000000000000",
                            "endTimeUnixNano": 1795000000005000000,
                            "attributes": [{"key": "n", "value": {"intValue": "42"}}],
                            "status": {"code": 2, "message": "bad"},
                            "links": [{"traceId": "00" * 16, "spanId": "11" * 8}],
                            "someFutureField": {"ignored": True},
                        }
                    ],
                }
            ],
        }
    ]
}


def _span_json(**changes: object) -> dict:
    doc = json.loads(json.dumps(SPAN_JSON))
    doc["resourceSpans"][0]["scopeSpans"][0]["spans"][0].update(changes)
    return doc


def test_protobuf_round_trip_for_every_signal() -> None:
    for signal, req in (("traces", make_traces(7)), ("logs", make_logs(5)), ("metrics", make_metrics())):
        decoded = decode_request(signal, req.SerializeToString(), PB)  # type: ignore[arg-type]
        assert decoded == req
    one = make_traces(1)
    assert decode_request("traces", one.SerializeToString(), "application/protobuf") == one


def test_json_hex_ids_enum_names_and_int64_strings() -> None:
    req = decode_request("traces", json.dumps(SPAN_JSON).encode(), "application/json; charset=utf-8")
    span = req.resource_spans[0].scope_spans[0].spans[0]
    assert hex_id(span.trace_id) == "5b8efff798038103d269b633813fc60c"
    assert hex_id(span.span_id) == "eee19b7ec3c1b174"
    assert hex_id(span.parent_span_id) == ""
    assert span.kind == 2
    assert span.start_time_unix_nano == 1795000000000000000
    assert span.end_time_unix_nano == 1795000000005000000
    assert span.status.code == 2
    assert span.attributes[0].value.int_value == 42
    assert span.links[0].span_id == b"\x11" * 8


def test_json_logs_hex_ids() -> None:
    doc = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "timeUnixNano": "5",
                                "severityNumber": "SEVERITY_NUMBER_WARN",
                                "body": {"stringValue": "hi"},
                                "traceId": "ab" * 16,
                                "spanId": "cd" * 8,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    rec = decode_request("logs", json.dumps(doc).encode(), JS).resource_logs[0].scope_logs[0].log_records[0]
    assert rec.trace_id == b"\xab" * 16 and rec.span_id == b"\xcd" * 8 and rec.severity_number == 13


def test_gzip_and_deflate() -> None:
    req = make_traces(20)
    raw = req.SerializeToString()
    assert decode_request("traces", gzip.compress(raw), PB, "gzip") == req
    assert decode_request("traces", zlib.compress(raw), PB, "deflate") == req
    body = gzip.compress(json.dumps(SPAN_JSON).encode())
    assert len(decode_request("traces", body, JS, "GZIP").resource_spans) == 1


@pytest.mark.parametrize(
    ("body", "content_type", "needle"),
    [
        (b"{not json", JS, "invalid OTLP/JSON traces request: Expecting property name"),
        (b"[]", JS, "expected a JSON object, got list"),
        (b"\xff\xfe", JS, "not UTF-8"),
        (b'{"resourceSpans": 5}', JS, "resourceSpans"),
        (json.dumps(_span_json(traceId="xyz")).encode(), JS, "spans[0].traceId: invalid hex id 'xyz'"),
        (json.dumps(_span_json(spanId="abcd")).encode(), JS, "spans[0].spanId: must be 8 bytes, got 2 bytes"),
        (json.dumps(_span_json(traceId="")).encode(), JS, "spans[0].traceId: must be 16 bytes, got 0 bytes"),
        (json.dumps(_span_json(parentSpanId="01")).encode(), JS, "parentSpanId: must be empty or 8 bytes"),
        (json.dumps(_span_json(startTimeUnixNano="soon")).encode(), JS, "startTimeUnixNano"),
        (b"\x0a\x05\x0a", PB, "invalid protobuf ExportTraceServiceRequest"),
    ],
)
def test_malformed_input_names_the_problem(body: bytes, content_type: str, needle: str) -> None:
    with pytest.raises(DecodeError) as info:
        decode_request("traces", body, content_type)
    assert info.value.status == 400
    assert needle in str(info.value)


def test_bad_span_id_length_in_protobuf_names_the_span() -> None:
    req = make_traces(10)
    req.resource_spans[0].scope_spans[0].spans[6].span_id = b"\x01" * 7
    with pytest.raises(DecodeError, match=r"spans\[6\]\.spanId: must be 8 bytes, got 7 bytes"):
        decode_request("traces", req.SerializeToString(), PB)


def test_bad_gzip_is_400() -> None:
    with pytest.raises(DecodeError, match="invalid gzip body") as info:
        decode_request("traces", b"\x1f\x8b\x08garbage", PB, "gzip")
    assert info.value.status == 400
    with pytest.raises(DecodeError, match="truncated"):
        decode_request("traces", gzip.compress(b"x" * 1000)[:-12], PB, "gzip")


def test_too_large_raw_and_gzip_bomb() -> None:
    req = make_traces(50)
    raw = req.SerializeToString()
    with pytest.raises(DecodeError, match="too large") as info:
        decode_request("traces", raw, PB, max_bytes=len(raw) - 1)
    assert info.value.status == 413
    assert decode_request("traces", raw, PB, max_bytes=len(raw)) == req
    bomb = gzip.compress(b"\x00" * 50_000_000)  # ~50 KB on the wire
    assert len(bomb) < 100_000
    with pytest.raises(DecodeError, match="gzip-decoded body") as info:
        decode_request("traces", bomb, PB, "gzip", max_bytes=1_000_000)
    assert info.value.status == 413


@pytest.mark.parametrize("content_type", [None, "", "text/plain", "application/xml", "multipart/form-data"])
def test_unsupported_content_type_is_415_with_tempo_message(content_type: str | None) -> None:
    with pytest.raises(DecodeError) as info:
        decode_request("traces", b"{}", content_type)
    assert info.value.status == 415
    assert (
        str(info.value) == "415 unsupported media type, supported: [application/json, application/x-protobuf]"
    )


def test_unsupported_content_encoding_is_415() -> None:
    with pytest.raises(DecodeError, match="unsupported Content-Encoding 'br'") as info:
        decode_request("traces", b"{}", JS, "br")
    assert info.value.status == 415


def test_unknown_signal_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown OTLP signal 'profiles'"):
        decode_request("profiles", b"", PB)  # type: ignore[arg-type]


def test_any_value_json_forms() -> None:
    v = AnyValue()
    v.array_value.values.add().int_value = 7
    kv = v.array_value.values.add().kvlist_value.values.add()
    kv.key, kv.value.bool_value = "ok", True
    v.array_value.values.add().bytes_value = b"\x00\x01"
    v.array_value.values.add().double_value = 1.5
    assert any_value_to_json(v) == {
        "arrayValue": {
            "values": [
                {"intValue": "7"},
                {"kvlistValue": {"values": [{"key": "ok", "value": {"boolValue": True}}]}},
                {"bytesValue": base64.b64encode(b"\x00\x01").decode()},
                {"doubleValue": 1.5},
            ]
        }
    }
    assert any_value_to_python(v) == [7, {"ok": True}, b"\x00\x01", 1.5]
    assert json_value_to_python(any_value_to_json(v)) == [7, {"ok": True}, b"\x00\x01", 1.5]
    assert any_value_to_json(AnyValue()) == {}
    span = make_traces(1).resource_spans[0].scope_spans[0].spans[0]
    assert attributes_to_json(span.attributes)[:2] == [
        {"key": "http.route", "value": {"stringValue": "/items/{id}"}},
        {"key": "http.response.status_code", "value": {"intValue": "500"}},
    ]


def test_attributes_json_text_matches_the_dict_form() -> None:
    import random

    from opentelemetry.proto.common.v1.common_pb2 import KeyValueList

    from labkit.lgtm.otlp.decode import attributes_to_json_text

    rnd = random.Random(7)
    values: list = ["", 'é "quoted" \\ \n\t\u2028 ✓', 0, -(2**63), 2**63 - 1, True, False, 1.5, -0.0, 1e300]
    kvs = KeyValueList()
    for i, value in enumerate(values * 3):
        add_attribute(kvs.values, f'k{i}."{rnd.random()}"', value)
    nested = kvs.values.add()
    nested.key = "nested"
    nested.value.array_value.values.add().kvlist_value.values.add().key = "empty"
    for special in (float("nan"), float("inf"), float("-inf")):
        kv = kvs.values.add()
        kv.key = "special"
        kv.value.double_value = special
    kvs.values.add().key = "unset"
    text = attributes_to_json_text(kvs.values)
    assert json.loads(text) == attributes_to_json(kvs.values)
    assert text == json.dumps(attributes_to_json(kvs.values), ensure_ascii=False, separators=(",", ":"))
    assert '"doubleValue":"NaN"' in text and '"doubleValue":"-Infinity"' in text
