"""GenAI spans and metrics of tracked calls, without double counting the SDK's own span."""

from __future__ import annotations

import anthropic
import pytest

from labkit.config import Settings
from labkit.llm import Budget, LocalServer, TrackedClient
from labkit.llm.offline import OFFLINE_MODEL
from labkit.llm.telemetry import LLMTelemetry
from labkit.telemetry.genai import DURATION_BUCKETS, TOKEN_BUCKETS

from .conftest import TEST_KEY, Telemetry

MSG = [{"role": "user", "content": "Name three observability signals."}]


def _chat_spans(telemetry: Telemetry) -> list:
    return [s for s in telemetry.finished() if s.attributes.get("gen_ai.operation.name") == "chat"]


def test_chat_span_attributes(tracked: TrackedClient, telemetry: Telemetry, server: LocalServer) -> None:
    message = tracked.messages.create(model=OFFLINE_MODEL, max_tokens=200, messages=MSG)
    (span,) = _chat_spans(telemetry)
    attrs = dict(span.attributes)
    assert span.name == f"chat {OFFLINE_MODEL}" and span.kind.name == "CLIENT"
    assert attrs["gen_ai.provider.name"] == "anthropic"
    assert attrs["gen_ai.request.model"] == OFFLINE_MODEL
    assert attrs["gen_ai.response.model"] == OFFLINE_MODEL
    assert attrs["gen_ai.response.id"] == message.id
    assert attrs["gen_ai.response.finish_reasons"] == ("end_turn",)
    assert attrs["gen_ai.usage.input_tokens"] == message.usage.input_tokens
    assert attrs["gen_ai.usage.output_tokens"] == message.usage.output_tokens
    assert attrs["gen_ai.request.max_tokens"] == 200
    assert attrs["server.address"] == "127.0.0.1" and attrs["server.port"] == server.port
    assert attrs["labkit.llm.cost_usd"] == 0.0 and attrs["labkit.llm.cost_live_equivalent_usd"] > 0
    assert "gen_ai.input.messages" not in attrs  # content capture is opt-in


def test_trace_context_reaches_the_server(
    tracked: TrackedClient, telemetry: Telemetry, server: LocalServer
) -> None:
    tracked.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    (span,) = _chat_spans(telemetry)
    (entry,) = server.request_log()
    trace_id, span_id = f"{span.context.trace_id:032x}", f"{span.context.span_id:016x}"
    assert entry["traceparent"].startswith(f"00-{trace_id}-{span_id}-")


def test_metrics_points_and_buckets(tracked: TrackedClient, telemetry: Telemetry) -> None:
    with telemetry.llm.agent("reviewer"), telemetry.llm.node("reviewer", "draft"):
        message = tracked.messages.create(model=OFFLINE_MODEL, max_tokens=200, messages=MSG)
    usage = telemetry.points("gen_ai.client.token.usage")
    by_type = {p.attributes["gen_ai.token.type"]: p for p in usage}
    assert (
        by_type["input"].sum == message.usage.input_tokens
        and by_type["output"].sum == message.usage.output_tokens
    )
    assert tuple(by_type["input"].explicit_bounds) == TOKEN_BUCKETS
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1 and tuple(duration.explicit_bounds) == DURATION_BUCKETS
    assert duration.attributes["gen_ai.operation.name"] == "chat"
    tokens = {p.attributes["token_type"]: p for p in telemetry.points("labkit.llm.tokens")}
    assert tokens["input"].value == message.usage.input_tokens
    assert tokens["output"].attributes == {
        "agent": "reviewer",
        "node": "draft",
        "model": OFFLINE_MODEL,
        "token_type": "output",
    }
    (equivalent,) = telemetry.points("labkit.llm.cost.live_equivalent.usd")
    assert equivalent.value > 0
    (cost,) = telemetry.points("labkit.llm.cost.usd")
    assert cost.value == 0


def test_agent_and_node_spans_sum_usage(tracked: TrackedClient, telemetry: Telemetry) -> None:
    with telemetry.llm.workflow("lesson"), telemetry.llm.agent("reviewer"):
        with telemetry.llm.node("reviewer", "a"):
            first = tracked.messages.create(model=OFFLINE_MODEL, max_tokens=100, messages=MSG)
        with telemetry.llm.node("reviewer", "b"), telemetry.llm.tool("lookup", call_id="toolu_1"):
            second = tracked.messages.create(model=OFFLINE_MODEL, max_tokens=100, messages=MSG)
    spans = {s.name: s for s in telemetry.finished()}
    assert set(spans) >= {
        "invoke_workflow lesson",
        "invoke_agent reviewer",
        "reviewer.a",
        "reviewer.b",
        "execute_tool lookup",
    }
    agent = spans["invoke_agent reviewer"]
    assert (
        agent.attributes["gen_ai.usage.output_tokens"]
        == first.usage.output_tokens + second.usage.output_tokens
    )
    assert agent.attributes["labkit.llm.calls"] == 2
    assert spans["reviewer.a"].attributes["labkit.llm.calls"] == 1
    assert spans["execute_tool lookup"].attributes["gen_ai.tool.call.id"] == "toolu_1"
    assert spans["reviewer.a"].parent.span_id == agent.context.span_id
    assert spans["invoke_workflow lesson"].attributes["gen_ai.operation.name"] == "invoke_workflow"


def test_no_duplicate_chat_span_when_the_sdk_traces(
    server: LocalServer, settings: Settings, telemetry: Telemetry
) -> None:
    sdk = anthropic.Anthropic(
        api_key=TEST_KEY, base_url=server.url, open_telemetry={"tracer_provider": telemetry.tracer_provider}
    )
    llm = TrackedClient(sdk, budget=Budget(), telemetry=telemetry.llm, settings=settings)
    llm_closes = sdk  # closed below: an unclosed client leaks its pooled socket
    assert not llm.emit_chat_span
    llm.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    chats = _chat_spans(telemetry)
    assert len(chats) == 1 and chats[0].name == "anthropic.messages.create"  # the SDK's span is the chat span
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.count == 1  # metrics recorded once, by labkit
    llm_closes.close()


def test_one_chat_span_per_call_with_labkit_spans(tracked: TrackedClient, telemetry: Telemetry) -> None:
    for _ in range(3):
        tracked.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    assert len(_chat_spans(telemetry)) == 3


def test_errors_are_recorded(tracked: TrackedClient, telemetry: Telemetry, server: LocalServer) -> None:
    server.faults.fail_next(3, "overloaded", retry_after_s=0.001)
    with pytest.raises(anthropic.InternalServerError):
        tracked.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG)
    (span,) = _chat_spans(telemetry)
    assert span.status.status_code.name == "ERROR" and span.attributes["error.type"] == "overloaded_error"
    (duration,) = telemetry.points("gen_ai.client.operation.duration")
    assert duration.attributes["error.type"] == "overloaded_error"
    assert telemetry.points("gen_ai.client.token.usage") == []
    assert tracked.budget.used_tokens == 0 and tracked.last.error_type == "overloaded_error"


def test_streaming_is_recorded_when_the_stream_ends(tracked: TrackedClient, telemetry: Telemetry) -> None:
    stream = tracked.messages.create(model=OFFLINE_MODEL, max_tokens=200, messages=MSG, stream=True)
    assert _chat_spans(telemetry) == []  # still open while the stream is read
    for _ in stream:
        pass
    (span,) = _chat_spans(telemetry)
    assert span.attributes["gen_ai.request.stream"] is True
    assert span.attributes["gen_ai.usage.output_tokens"] == tracked.last.usage.output_tokens > 1


def test_content_capture_is_opt_in(
    sdk: anthropic.Anthropic, settings: Settings, telemetry: Telemetry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "true")
    captured = LLMTelemetry(telemetry.tracer_provider, telemetry.meter_provider)
    llm = TrackedClient(sdk, budget=Budget(), telemetry=captured, settings=settings)
    llm.messages.create(model=OFFLINE_MODEL, max_tokens=50, messages=MSG, system="Be brief.")
    (span,) = _chat_spans(telemetry)
    assert "observability signals" in span.attributes["gen_ai.input.messages"]
    assert span.attributes["gen_ai.system_instructions"] == '"Be brief."'
    assert "[offline" in span.attributes["gen_ai.output.messages"]
