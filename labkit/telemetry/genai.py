"""OpenTelemetry GenAI semantic conventions (v1.41): attribute names, span helpers, metrics.

Generic on purpose: nothing here knows about a particular SDK, so any LLM client or
agent framework can describe its calls with these helpers. Attribute builders drop
``None`` values so a caller can pass everything it might know.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

__all__ = [
    "DURATION_BUCKETS",
    "OPERATIONS",
    "SEMCONV_VERSION",
    "TOKEN_BUCKETS",
    "GenAIMetrics",
    "agent_attributes",
    "inference_attributes",
    "operation_span",
    "span_name",
    "tool_attributes",
    "usage_attributes",
]

SEMCONV_VERSION = "1.41.0"

# Attribute keys (gen_ai.* registry).
OPERATION_NAME = "gen_ai.operation.name"
PROVIDER_NAME = "gen_ai.provider.name"
REQUEST_MODEL = "gen_ai.request.model"
RESPONSE_MODEL = "gen_ai.response.model"
RESPONSE_ID = "gen_ai.response.id"
FINISH_REASONS = "gen_ai.response.finish_reasons"
REQUEST_MAX_TOKENS = "gen_ai.request.max_tokens"
REQUEST_TEMPERATURE = "gen_ai.request.temperature"
REQUEST_TOP_P = "gen_ai.request.top_p"
USAGE_INPUT = "gen_ai.usage.input_tokens"
USAGE_OUTPUT = "gen_ai.usage.output_tokens"
USAGE_CACHE_READ = "gen_ai.usage.cache_read.input_tokens"
USAGE_CACHE_CREATION = "gen_ai.usage.cache_creation.input_tokens"
TOKEN_TYPE = "gen_ai.token.type"
AGENT_NAME = "gen_ai.agent.name"
AGENT_ID = "gen_ai.agent.id"
AGENT_DESCRIPTION = "gen_ai.agent.description"
CONVERSATION_ID = "gen_ai.conversation.id"
TOOL_NAME = "gen_ai.tool.name"
TOOL_CALL_ID = "gen_ai.tool.call.id"
TOOL_TYPE = "gen_ai.tool.type"
TOOL_DESCRIPTION = "gen_ai.tool.description"
ERROR_TYPE = "error.type"
SERVER_ADDRESS = "server.address"
SERVER_PORT = "server.port"

# Well-known gen_ai.operation.name values and the span kind each one uses.
OPERATIONS: dict[str, SpanKind] = {
    "chat": SpanKind.CLIENT,
    "text_completion": SpanKind.CLIENT,
    "generate_content": SpanKind.CLIENT,
    "embeddings": SpanKind.CLIENT,
    "retrieval": SpanKind.CLIENT,
    "create_agent": SpanKind.CLIENT,
    "invoke_agent": SpanKind.INTERNAL,
    "invoke_workflow": SpanKind.INTERNAL,
    "execute_tool": SpanKind.INTERNAL,
}

# Advised explicit bucket boundaries of the two client histograms.
TOKEN_BUCKETS: tuple[float, ...] = tuple(float(4**i) for i in range(14))  # 1 .. 67108864
DURATION_BUCKETS: tuple[float, ...] = tuple(round(0.01 * 2**i, 2) for i in range(14))  # 0.01 .. 81.92


def _clean(attrs: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in attrs.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            value = tuple(value)
        out[key] = value
    return out


def _require(name: str, value: str | None) -> None:
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ValueError(f"{name} must be a non-empty string, got {value!r}")


def inference_attributes(
    operation: str,
    provider: str,
    request_model: str | None = None,
    *,
    response_model: str | None = None,
    response_id: str | None = None,
    finish_reasons: Sequence[str] | None = None,
    max_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    server_address: str | None = None,
    server_port: int | None = None,
    conversation_id: str | None = None,
    error_type: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Attributes of a model call span (``chat``, ``embeddings`` ...)."""
    _require("operation", operation)
    _require("provider", provider)
    return _clean(
        {
            OPERATION_NAME: operation,
            PROVIDER_NAME: provider,
            REQUEST_MODEL: request_model,
            RESPONSE_MODEL: response_model,
            RESPONSE_ID: response_id,
            FINISH_REASONS: list(finish_reasons) if finish_reasons is not None else None,
            REQUEST_MAX_TOKENS: max_tokens,
            REQUEST_TEMPERATURE: temperature,
            REQUEST_TOP_P: top_p,
            SERVER_ADDRESS: server_address,
            SERVER_PORT: server_port,
            CONVERSATION_ID: conversation_id,
            ERROR_TYPE: error_type,
            **(extra or {}),
        }
    )


def usage_attributes(
    input_tokens: int | None = None,
    output_tokens: int | None = None,
    cache_read_input_tokens: int | None = None,
    cache_creation_input_tokens: int | None = None,
) -> dict[str, Any]:
    """Token usage attributes; negative counts are a caller bug and raise."""
    values = {
        USAGE_INPUT: input_tokens,
        USAGE_OUTPUT: output_tokens,
        USAGE_CACHE_READ: cache_read_input_tokens,
        USAGE_CACHE_CREATION: cache_creation_input_tokens,
    }
    for key, value in values.items():
        if value is not None and (not isinstance(value, int) or value < 0):
            raise ValueError(f"{key} must be a non-negative int, got {value!r}")
    return _clean(values)


def agent_attributes(
    agent_name: str,
    *,
    agent_id: str | None = None,
    description: str | None = None,
    provider: str | None = None,
    request_model: str | None = None,
    conversation_id: str | None = None,
    operation: str = "invoke_agent",
) -> dict[str, Any]:
    """Attributes of an ``invoke_agent`` (or ``create_agent``/``invoke_workflow``) span."""
    _require("agent_name", agent_name)
    return _clean(
        {
            OPERATION_NAME: operation,
            AGENT_NAME: agent_name,
            AGENT_ID: agent_id,
            AGENT_DESCRIPTION: description,
            PROVIDER_NAME: provider,
            REQUEST_MODEL: request_model,
            CONVERSATION_ID: conversation_id,
        }
    )


def tool_attributes(
    tool_name: str,
    *,
    call_id: str | None = None,
    tool_type: str | None = "function",
    description: str | None = None,
) -> dict[str, Any]:
    """Attributes of an ``execute_tool`` span."""
    _require("tool_name", tool_name)
    return _clean(
        {
            OPERATION_NAME: "execute_tool",
            TOOL_NAME: tool_name,
            TOOL_CALL_ID: call_id,
            TOOL_TYPE: tool_type,
            TOOL_DESCRIPTION: description,
        }
    )


def span_name(attributes: Mapping[str, Any]) -> str:
    """The convention's span name: ``{operation} {model|agent|tool}``, or the operation alone."""
    operation = attributes.get(OPERATION_NAME)
    if not operation:
        raise ValueError(f"attributes need {OPERATION_NAME!r} to name a GenAI span")
    target = (
        attributes.get(TOOL_NAME)
        if operation == "execute_tool"
        else attributes.get(AGENT_NAME)
        if operation in ("invoke_agent", "create_agent", "invoke_workflow")
        else attributes.get(REQUEST_MODEL)
    )
    return f"{operation} {target}" if target else str(operation)


@contextmanager
def operation_span(
    attributes: Mapping[str, Any],
    *,
    tracer: trace_api.Tracer | None = None,
    name: str | None = None,
) -> Iterator[trace_api.Span]:
    """Run the body inside a GenAI span with the conventional name and kind.

    An exception marks the span as an error with ``error.type`` set to the exception
    class name, then propagates.
    """
    tracer = tracer or trace_api.get_tracer(
        "labkit.genai", schema_url=f"https://opentelemetry.io/schemas/{SEMCONV_VERSION}"
    )
    operation = str(attributes.get(OPERATION_NAME, ""))
    kind = OPERATIONS.get(operation, SpanKind.INTERNAL)
    with tracer.start_as_current_span(
        name or span_name(attributes),
        kind=kind,
        attributes=dict(attributes),
        record_exception=True,
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except BaseException as exc:
            span.set_attribute(ERROR_TYPE, type(exc).__qualname__)
            span.set_status(Status(StatusCode.ERROR, str(exc) or type(exc).__qualname__))
            raise


_METRIC_KEYS = (
    OPERATION_NAME,
    PROVIDER_NAME,
    REQUEST_MODEL,
    RESPONSE_MODEL,
    SERVER_ADDRESS,
    SERVER_PORT,
    ERROR_TYPE,
)


@dataclass
class GenAIMetrics:
    """The two client histograms of the convention, with the advised buckets.

    ``gen_ai.client.token.usage`` ({token}) records input and output tokens separately
    (``gen_ai.token.type``); ``gen_ai.client.operation.duration`` (s) records every
    call, failed ones with ``error.type``.
    """

    token_usage: metrics_api.Histogram
    operation_duration: metrics_api.Histogram

    @classmethod
    def create(cls, meter: metrics_api.Meter | None = None) -> GenAIMetrics:
        meter = meter or metrics_api.get_meter("labkit.genai")
        return cls(
            token_usage=meter.create_histogram(
                "gen_ai.client.token.usage",
                unit="{token}",
                description="Number of input and output tokens used",
                explicit_bucket_boundaries_advisory=list(TOKEN_BUCKETS),
            ),
            operation_duration=meter.create_histogram(
                "gen_ai.client.operation.duration",
                unit="s",
                description="GenAI operation duration",
                explicit_bucket_boundaries_advisory=list(DURATION_BUCKETS),
            ),
        )

    @staticmethod
    def _base(attributes: Mapping[str, Any]) -> dict[str, Any]:
        # Only low-cardinality keys belong on metrics: never response ids or conversation ids.
        return {k: attributes[k] for k in _METRIC_KEYS if attributes.get(k) is not None}

    def record(
        self,
        attributes: Mapping[str, Any],
        duration_s: float,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
    ) -> None:
        """Record one finished operation (tokens only when the call returned usage)."""
        if duration_s < 0:
            raise ValueError(f"duration_s must be >= 0, got {duration_s}")
        base = self._base(attributes)
        self.operation_duration.record(duration_s, base)
        for token_type, count in (("input", input_tokens), ("output", output_tokens)):
            if count is not None:
                if count < 0:
                    raise ValueError(f"{token_type} token count must be >= 0, got {count}")
                self.token_usage.record(count, {**base, TOKEN_TYPE: token_type})
