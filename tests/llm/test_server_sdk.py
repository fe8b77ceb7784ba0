"""The real anthropic SDK against the local Messages API server."""

from __future__ import annotations

import json

import anthropic
import httpx
import jsonschema
import pytest

from labkit.llm import LocalServer
from labkit.llm.offline import OFFLINE_MODEL

from .conftest import TEST_KEY

MSG = [{"role": "user", "content": "Explain what a histogram is. Keep it short."}]

WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string", "minLength": 2},
            "unit": {"enum": ["celsius", "fahrenheit"]},
            "days": {"type": "integer", "minimum": 1, "maximum": 7},
        },
        "required": ["city", "unit", "days"],
        "additionalProperties": False,
    },
}


def test_non_streaming_message(sdk: anthropic.Anthropic, server: LocalServer) -> None:
    message = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG)
    assert message.type == "message" and message.role == "assistant"
    assert message.model == OFFLINE_MODEL
    assert message.stop_reason == "end_turn"
    assert message.content[0].type == "text"
    assert message.content[0].text.startswith("[offline labkit-offline-1]")
    assert message.usage.input_tokens > 0 and message.usage.output_tokens > 0
    assert message.usage.cache_read_input_tokens == 0
    assert message.id.startswith("msg_offline_")
    log = server.request_log()
    assert [e["status"] for e in log] == [200]
    assert log[0]["api_key"] == "****" + TEST_KEY[-2:]


def test_same_request_same_content(sdk: anthropic.Anthropic) -> None:
    a = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG)
    b = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG)
    assert a.content == b.content and a.usage == b.usage and a.id != b.id


def test_streaming_event_sequence_and_usage(sdk: anthropic.Anthropic) -> None:
    full = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG)
    stream = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG, stream=True)
    kinds, text, final_usage = [], "", None
    for event in stream:
        kinds.append(event.type)
        if event.type == "content_block_delta":
            assert event.delta.type == "text_delta"
            text += event.delta.text
        if event.type == "message_delta":
            final_usage = event.usage
    assert kinds[0] == "message_start" and kinds[1] == "content_block_start"
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert kinds.count("content_block_delta") > 1
    assert text == full.content[0].text
    assert final_usage is not None and final_usage.output_tokens == full.usage.output_tokens
    assert final_usage.input_tokens == full.usage.input_tokens

    with sdk.messages.stream(model=OFFLINE_MODEL, max_tokens=300, messages=MSG) as helper:
        assert helper.get_final_text() == full.content[0].text


def test_raw_sse_has_ping_and_wire_shape(server: LocalServer) -> None:
    body = {"model": OFFLINE_MODEL, "max_tokens": 100, "stream": True, "messages": MSG}
    headers = {"x-api-key": TEST_KEY, "anthropic-version": "2023-06-01"}
    response = httpx.post(server.url + "/v1/messages", json=body, headers=headers)
    assert response.headers["content-type"].startswith("text/event-stream")
    names = [line[7:] for line in response.text.splitlines() if line.startswith("event: ")]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-1] == "message_stop"
    data = [json.loads(line[6:]) for line in response.text.splitlines() if line.startswith("data: ")]
    assert data[0]["message"]["usage"]["output_tokens"] == 1  # provisional, as the API sends
    assert data[-2]["usage"]["output_tokens"] > 1


def test_forced_tool_use_is_schema_valid(sdk: anthropic.Anthropic) -> None:
    message = sdk.messages.create(
        model=OFFLINE_MODEL,
        max_tokens=300,
        messages=[{"role": "user", "content": "Weather in Oslo?"}],
        tools=[WEATHER_TOOL],
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use" and block.name == "get_weather" and block.id.startswith("toolu_")
    jsonschema.validate(block.input, WEATHER_TOOL["input_schema"])


def test_streamed_tool_use_reassembles(sdk: anthropic.Anthropic) -> None:
    kwargs = {
        "model": OFFLINE_MODEL,
        "max_tokens": 300,
        "messages": [{"role": "user", "content": "x"}],
        "tools": [WEATHER_TOOL],
        "tool_choice": {"type": "any"},
    }
    with sdk.messages.stream(**kwargs) as stream:
        deltas = [e for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert deltas and all(e.delta.type == "input_json_delta" for e in deltas)
    jsonschema.validate(final.content[0].input, WEATHER_TOOL["input_schema"])


def test_unknown_forced_tool_is_400(sdk: anthropic.Anthropic) -> None:
    with pytest.raises(anthropic.BadRequestError) as info:
        sdk.messages.create(
            model=OFFLINE_MODEL,
            max_tokens=50,
            messages=MSG,
            tools=[WEATHER_TOOL],
            tool_choice={"type": "tool", "name": "nope"},
        )
    assert info.value.type == "invalid_request_error" and "nope" in str(info.value)


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [("rate_limit", 429, anthropic.RateLimitError), ("overloaded", 529, anthropic.InternalServerError)],
)
def test_retries_then_succeeds(
    sdk: anthropic.Anthropic, server: LocalServer, kind: str, status: int, error: type
) -> None:
    server.faults.fail_next(2, kind, retry_after_s=0.001)
    message = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    assert message.content
    assert [e["status"] for e in server.request_log()] == [status, status, 200]


@pytest.mark.parametrize(
    ("kind", "status", "error"),
    [("rate_limit", 429, anthropic.RateLimitError), ("overloaded", 529, anthropic.InternalServerError)],
)
def test_gives_up_after_max_retries(
    sdk: anthropic.Anthropic, server: LocalServer, kind: str, status: int, error: type
) -> None:
    server.faults.fail_next(5, kind, retry_after_s=0.001)
    with pytest.raises(error) as info:
        sdk.with_options(max_retries=3).messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    assert info.value.status_code == status
    assert info.value.body["type"] == "error"
    assert info.value.body["error"]["type"] == (
        "rate_limit_error" if kind == "rate_limit" else "overloaded_error"
    )
    assert len(server.request_log()) == 4  # 1 + max_retries
    assert len(server.faults.pending()) == 1


def test_rate_limit_headers(server: LocalServer) -> None:
    server.faults.fail_next(1, "rate_limit", retry_after_s=2.5)
    response = httpx.post(
        server.url + "/v1/messages",
        headers={"x-api-key": "k", "anthropic-version": "2023-06-01"},
        json={"model": OFFLINE_MODEL, "max_tokens": 5, "messages": MSG},
    )
    assert response.status_code == 429
    assert response.headers["retry-after"] == "3" and response.headers["retry-after-ms"] == "2500"
    assert response.headers["request-id"].startswith("req_")
    assert response.json()["error"]["type"] == "rate_limit_error"


def test_admin_endpoint_schedules_faults(server: LocalServer, sdk: anthropic.Anthropic) -> None:
    bad = httpx.post(server.url + "/_labkit/faults", json={"schedule": [{"kind": "meltdown"}]})
    assert bad.status_code == 400 and "meltdown" in bad.json()["error"]
    ok = httpx.post(
        server.url + "/_labkit/faults",
        json={"schedule": [{"kind": "api_error", "retry_after_s": 0.001}, {"kind": "slow", "delay_s": 0.01}]},
    )
    assert ok.status_code == 200 and len(ok.json()["pending"]) == 2
    sdk.messages.create(model=OFFLINE_MODEL, max_tokens=20, messages=MSG)
    log = server.request_log()
    assert [(e["status"], e.get("fault")) for e in log] == [(500, "api_error"), (200, "slow")]
    requests = httpx.get(server.url + "/_labkit/requests").json()["requests"]
    assert len(requests) == 2


def test_missing_key_is_401(server: LocalServer) -> None:
    response = httpx.post(
        server.url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01"},
        json={"model": OFFLINE_MODEL, "max_tokens": 5, "messages": MSG},
    )
    assert response.status_code == 401
    assert response.json()["error"] == {
        "type": "authentication_error",
        "message": "x-api-key header is required",
    }
    assert response.headers["request-id"].startswith("req_offline_")


def test_sdk_surfaces_401_as_authentication_error(server: LocalServer) -> None:
    client = anthropic.Anthropic(api_key=TEST_KEY, base_url=server.url, max_retries=0, open_telemetry=False)
    with client, pytest.raises(anthropic.AuthenticationError) as info:
        client.messages.create(
            model=OFFLINE_MODEL, max_tokens=5, messages=MSG, extra_headers={"Authorization": anthropic.omit}
        )
    assert info.value.status_code == 401
    assert info.value.body["error"]["type"] == "authentication_error"


def test_x_api_key_header_is_accepted(server: LocalServer) -> None:
    response = httpx.post(
        server.url + "/v1/messages",
        headers={"anthropic-version": "2023-06-01", "x-api-key": "k1"},
        json={"model": OFFLINE_MODEL, "max_tokens": 50, "messages": MSG},
    )
    assert response.status_code == 200 and response.json()["type"] == "message"


def test_wrong_key_is_401_when_a_key_is_configured(server: LocalServer, sdk: anthropic.Anthropic) -> None:
    server.state.api_key = "sk-the-right-key-000"
    with pytest.raises(anthropic.AuthenticationError, match="invalid x-api-key"):
        sdk.messages.create(model=OFFLINE_MODEL, max_tokens=5, messages=MSG)
    with anthropic.Anthropic(
        api_key="sk-the-right-key-000", base_url=server.url, open_telemetry=False
    ) as good:
        assert good.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG).content


def test_missing_version_header_is_400(server: LocalServer) -> None:
    response = httpx.post(
        server.url + "/v1/messages",
        headers={"x-api-key": TEST_KEY},
        json={"model": OFFLINE_MODEL, "max_tokens": 5, "messages": MSG},
    )
    assert response.status_code == 400
    assert response.json()["error"] == {
        "type": "invalid_request_error",
        "message": "anthropic-version: header is required",
    }
    assert response.json()["type"] == "error"


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": OFFLINE_MODEL, "messages": MSG}, "max_tokens"),
        ({"max_tokens": 5, "messages": MSG}, "model"),
        ({"model": OFFLINE_MODEL, "max_tokens": 5, "messages": []}, "messages"),
        ({"model": OFFLINE_MODEL, "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]}, "role"),
        ({"model": OFFLINE_MODEL, "max_tokens": 0, "messages": MSG}, "max_tokens"),
    ],
)
def test_invalid_requests_name_the_field(server: LocalServer, body: dict, needle: str) -> None:
    response = httpx.post(
        server.url + "/v1/messages",
        json=body,
        headers={"x-api-key": TEST_KEY, "anthropic-version": "2023-06-01"},
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error" and needle in error["message"]


def test_unknown_path_is_404_in_api_shape(server: LocalServer) -> None:
    response = httpx.get(
        server.url + "/v1/nothing", headers={"x-api-key": TEST_KEY, "anthropic-version": "x"}
    )
    assert response.status_code == 404 and response.json()["error"]["type"] == "not_found_error"


def test_count_tokens_matches_usage(sdk: anthropic.Anthropic) -> None:
    counted = sdk.messages.count_tokens(model=OFFLINE_MODEL, messages=MSG)
    used = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG).usage.input_tokens
    assert counted.input_tokens == used


def test_prompt_caching_writes_then_reads(sdk: anthropic.Anthropic) -> None:
    system = [
        {
            "type": "text",
            "text": "You review prompts. " + "Rubric line about clarity. " * 300,
            "cache_control": {"type": "ephemeral", "ttl": "1h"},
        }
    ]
    first = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=50, system=system, messages=MSG).usage
    second = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=50, system=system, messages=MSG).usage
    assert first.cache_creation_input_tokens >= 1024 and first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_1h_input_tokens == first.cache_creation_input_tokens
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens  # the uncached tail is the same


def test_short_prefix_is_not_cached(sdk: anthropic.Anthropic) -> None:
    system = [{"type": "text", "text": "Short system prompt.", "cache_control": {"type": "ephemeral"}}]
    usage = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=50, system=system, messages=MSG).usage
    assert usage.cache_creation_input_tokens == 0


def test_max_tokens_and_stop_sequences(sdk: anthropic.Anthropic) -> None:
    short = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=5, messages=MSG)
    assert short.stop_reason == "max_tokens" and short.usage.output_tokens <= 5
    stopped = sdk.messages.create(model=OFFLINE_MODEL, max_tokens=300, messages=MSG, stop_sequences=["model"])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "model"
    assert "model" not in stopped.content[0].text
