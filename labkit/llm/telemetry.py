"""GenAI telemetry of LLM calls and agent steps (OpenTelemetry semantic conventions v1.41).

Spans
  ``chat {model}`` (CLIENT) per Messages call; ``invoke_agent {agent}`` per agent run;
  ``invoke_workflow {name}`` for multi-agent workflows; ``execute_tool {tool}`` per tool
  call the application executes; and one INTERNAL span per graph node
  (``{agent}.{node}``, attribute ``labkit.agent.node``). Agent and node spans carry the
  sum of the usage and cost of the calls made inside them.

Metrics
  ``gen_ai.client.token.usage`` ({token} histogram, ``gen_ai.token.type`` input/output,
  input including cached tokens as the convention asks) and
  ``gen_ai.client.operation.duration`` (s histogram), both with the advised buckets;
  plus the learner-facing counters, labelled ``agent``, ``node``, ``model``:

  ======================================  ======================  ================================
  OpenTelemetry instrument (unit)         Prometheus name         meaning
  ======================================  ======================  ================================
  ``labkit.llm.tokens`` ({token})         ``labkit_llm_tokens_total``  tokens by ``token_type``:
                                                                  input (uncached), output,
                                                                  cache_read, cache_creation
  ``labkit.llm.cost.usd`` ({USD})         ``labkit_llm_cost_usd_total``  USD actually spent
  ``labkit.llm.cost.live_equivalent.usd``  ``labkit_llm_cost_live_equivalent_usd_total``  what the
  ({USD})                                                         same usage costs on the live model
  ``llm.tokens`` ({token})                ``llm_tokens_total``    the plan's name: the same tokens
                                                                  and labels as ``labkit.llm.tokens``
  ``llm.cost.dollars`` ({USD}),           ``llm_cost_dollars``    the plan's name: the same USD as
  up-down counter                                                 ``labkit.llm.cost.usd``
  ``llm.requests`` ({request})            ``llm_requests_total``  calls, by ``outcome`` ok/error
  ======================================  ======================  ================================

  Units in braces are annotations, which the OTLP -> Prometheus translation drops, so
  no unit suffix is added; counters get ``_total``. ``usd`` is in the name because a
  plain ``USD`` unit would become an odd ``_USD`` suffix. ``llm.cost.dollars`` is an
  up-down counter (only ever incremented) because the translation gives every monotonic
  counter ``_total``, and the plan queries ``llm_cost_dollars`` itself; ``docs/cost.md``
  maps every name to the others.

One chat span per call, never two
  anthropic SDK 2.x emits its own CLIENT span (``anthropic.messages.create``, with
  ``gen_ai.operation.name=chat``). Clients made by :func:`labkit.llm.client` turn it off
  (``open_telemetry=False``) and labkit emits the conventional ``chat {model}`` span,
  injecting the trace context into the request itself. A client handed in with SDK
  tracing on keeps its SDK span as *the* chat span; labkit then emits no chat span and
  adds only what the SDK lacks: the metrics, and usage/cost on the enclosing agent and
  node spans. The SDK emits no metrics, so metrics are never double counted.

Content (messages, system prompt, output) is captured only when opted in:
``capture_content=True`` or ``OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT=true``.
"""

from __future__ import annotations

import contextvars
import json
import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics as metrics_api
from opentelemetry import propagate
from opentelemetry import trace as trace_api
from opentelemetry.trace import SpanKind, Status, StatusCode

from labkit.llm.pricing import Cost
from labkit.telemetry.genai import (
    GenAIMetrics,
    agent_attributes,
    inference_attributes,
    operation_span,
    tool_attributes,
    usage_attributes,
)

__all__ = [
    "CAPTURE_ENV",
    "SCOPE",
    "CallRecord",
    "ChatCall",
    "LLMTelemetry",
    "Usage",
    "current_agent",
    "default_telemetry",
]

SCOPE = "labkit.llm"
CAPTURE_ENV = "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT"
PROVIDER = "anthropic"
NODE_ATTR = "labkit.agent.node"
COST_ATTR = "labkit.llm.cost_usd"
EQUIV_ATTR = "labkit.llm.cost_live_equivalent_usd"
CALLS_ATTR = "labkit.llm.calls"


@dataclass
class Usage:
    """Token usage in the API's terms (``input_tokens`` excludes cached tokens)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    @classmethod
    def of(cls, usage: Any) -> Usage:
        def get(name: str) -> int:
            value = usage.get(name) if isinstance(usage, Mapping) else getattr(usage, name, None)
            return int(value) if isinstance(value, int) and not isinstance(value, bool) else 0

        return cls(
            *(
                get(n)
                for n in (
                    "input_tokens",
                    "output_tokens",
                    "cache_read_input_tokens",
                    "cache_creation_input_tokens",
                )
            )
        )

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_read_input_tokens + self.cache_creation_input_tokens

    @property
    def total(self) -> int:
        return self.total_input + self.output_tokens

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_input_tokens += other.cache_read_input_tokens
        self.cache_creation_input_tokens += other.cache_creation_input_tokens


@dataclass
class CallRecord:
    """What one call used and cost; the tracked client returns it beside the message."""

    request_model: str
    response_model: str | None = None
    usage: Usage = field(default_factory=Usage)
    cost: Cost | None = None
    duration_s: float = 0.0
    error_type: str | None = None
    agent: str | None = None
    node: str | None = None


@dataclass
class _Scope:
    span: trace_api.Span
    agent: str
    node: str | None
    usage: Usage = field(default_factory=Usage)
    usd: float = 0.0
    equivalent_usd: float = 0.0
    calls: int = 0


_scopes: contextvars.ContextVar[tuple[_Scope, ...]] = contextvars.ContextVar("labkit_llm_scopes", default=())


@contextmanager
def _usage_scope(span: trace_api.Span, agent: str, node: str | None, *, always: bool) -> Iterator[None]:
    """Make ``span`` the innermost usage scope; on exit, total its calls' usage and cost onto it.

    ``always`` also writes zero usage when no call happened (node spans); agent spans only carry
    usage attributes when a call ran under them.
    """
    scope = _Scope(span, agent, node)
    token = _scopes.set((*_scopes.get(), scope))
    try:
        yield
    finally:
        _scopes.reset(token)
        if always or scope.calls:
            span.set_attributes(
                usage_attributes(
                    scope.usage.total_input,
                    scope.usage.output_tokens,
                    scope.usage.cache_read_input_tokens,
                    scope.usage.cache_creation_input_tokens,
                )
            )
            span.set_attribute(COST_ATTR, round(scope.usd, 10))
            span.set_attribute(EQUIV_ATTR, round(scope.equivalent_usd, 10))
        span.set_attribute(CALLS_ATTR, scope.calls)


def current_agent() -> tuple[str | None, str | None]:
    """(agent, node) of the innermost agent/node span, for labels."""
    scopes = _scopes.get()
    if not scopes:
        return None, None
    return scopes[-1].agent, scopes[-1].node


def _capture_default() -> bool:
    return os.environ.get(CAPTURE_ENV, "").strip().lower() in ("1", "true", "yes")


class ChatCall:
    """One Messages call in flight: started before the request, finished with its response."""

    def __init__(
        self,
        telemetry: LLMTelemetry,
        request: Mapping[str, Any],
        server: tuple[str, int] | None,
        emit_span: bool,
    ) -> None:
        self.telemetry = telemetry
        self.request = request
        self.agent, self.node = current_agent()
        self.record = CallRecord(request_model=str(request.get("model")), agent=self.agent, node=self.node)
        self._scopes = _scopes.get()
        self._start = time.perf_counter()
        self._server = server
        self.base_attributes = inference_attributes(
            "chat",
            PROVIDER,
            self.record.request_model,
            max_tokens=request.get("max_tokens"),
            temperature=request.get("temperature"),
            top_p=request.get("top_p"),
            server_address=server[0] if server else None,
            server_port=server[1] if server else None,
        )
        self.span: trace_api.Span | None = None
        self._token: object | None = None
        if emit_span:
            attrs = dict(self.base_attributes)
            if self.agent:
                attrs["gen_ai.agent.name"] = self.agent
            if self.node:
                attrs[NODE_ATTR] = self.node
            if request.get("stream"):
                attrs["gen_ai.request.stream"] = True
            if telemetry.capture_content:
                attrs.update(_content_attributes(request))
            self.span = telemetry.tracer.start_span(
                f"chat {self.record.request_model}", kind=SpanKind.CLIENT, attributes=attrs
            )

    def trace_headers(self) -> dict[str, str]:
        """W3C trace context of the chat span, for the request (the SDK's own propagation is off)."""
        carrier: dict[str, str] = {}
        if self.span is not None:
            propagate.inject(carrier, context=trace_api.set_span_in_context(self.span))
        return carrier

    def finish(
        self,
        message: Any = None,
        *,
        usage: Any = None,
        error: BaseException | None = None,
        cost: Cost | None = None,
    ) -> CallRecord:
        record = self.record
        record.duration_s = time.perf_counter() - self._start
        if message is not None:
            record.response_model = getattr(message, "model", None) or (
                message.get("model") if isinstance(message, Mapping) else None
            )
            usage = (
                usage
                if usage is not None
                else (
                    getattr(message, "usage", None)
                    or (message.get("usage") if isinstance(message, Mapping) else None)
                )
            )
        if usage is not None:
            record.usage = Usage.of(usage)
        record.cost = cost
        if error is not None:
            record.error_type = _error_type(error)
        self.telemetry._record(self, message, error)
        return record


def _error_type(error: BaseException) -> str:
    kind = getattr(error, "type", None)  # anthropic.APIStatusError carries the API's error type
    if isinstance(kind, str) and kind:
        return kind
    status = getattr(error, "status_code", None)
    return str(status) if status else type(error).__qualname__


def _content_attributes(request: Mapping[str, Any]) -> dict[str, str]:
    out = {"gen_ai.input.messages": json.dumps(request.get("messages", []), default=str)}
    if request.get("system"):
        out["gen_ai.system_instructions"] = json.dumps(request["system"], default=str)
    return out


def _output_content(message: Any) -> str:
    content = getattr(message, "content", None)
    if content is None and isinstance(message, Mapping):
        content = message.get("content")
    blocks = [b.model_dump() if hasattr(b, "model_dump") else b for b in content or []]
    return json.dumps([{"role": "assistant", "parts": blocks}], default=str)


class LLMTelemetry:
    """Spans and metrics of LLM calls. Default providers are the OpenTelemetry globals."""

    def __init__(
        self,
        tracer_provider: trace_api.TracerProvider | None = None,
        meter_provider: metrics_api.MeterProvider | None = None,
        *,
        capture_content: bool | None = None,
    ) -> None:
        self.tracer = trace_api.get_tracer(
            SCOPE, tracer_provider=tracer_provider, schema_url="https://opentelemetry.io/schemas/1.41.0"
        )
        meter = metrics_api.get_meter(
            SCOPE, meter_provider=meter_provider, schema_url="https://opentelemetry.io/schemas/1.41.0"
        )
        # Kept so that other instruments of the same agent (guardrail counters) share the provider.
        self.meter_provider = meter_provider
        self.capture_content = _capture_default() if capture_content is None else capture_content
        self.genai = GenAIMetrics.create(meter)
        self.tokens = meter.create_counter(
            "labkit.llm.tokens", unit="{token}", description="LLM tokens by agent, node, model and token type"
        )
        self.cost = meter.create_counter(
            "labkit.llm.cost.usd", unit="{USD}", description="LLM cost in US dollars by agent, node and model"
        )
        self.cost_equivalent = meter.create_counter(
            "labkit.llm.cost.live_equivalent.usd",
            unit="{USD}",
            description="what the same usage costs on the configured live model (USD)",
        )
        # The learning plan's names (docs/cost.md), so its queries run as written.
        self.plan_tokens = meter.create_counter(
            "llm.tokens", unit="{token}", description="LLM tokens (the plan's llm_tokens_total)"
        )
        self.plan_cost = meter.create_up_down_counter(
            "llm.cost.dollars",
            unit="{USD}",
            description="LLM cost in US dollars (the plan's llm_cost_dollars)",
        )
        self.requests = meter.create_counter(
            "llm.requests", unit="{request}", description="LLM calls by agent, node, model and outcome"
        )

    def start_chat(
        self, request: Mapping[str, Any], server: tuple[str, int] | None = None, *, emit_span: bool = True
    ) -> ChatCall:
        return ChatCall(self, request, server, emit_span)

    def _record(self, call: ChatCall, message: Any, error: BaseException | None) -> None:
        record = call.record
        usage = record.usage
        attrs = dict(call.base_attributes)
        if record.response_model:
            attrs["gen_ai.response.model"] = record.response_model
        if record.error_type:
            attrs["error.type"] = record.error_type
        has_usage = error is None and message is not None
        self.genai.record(
            attrs,
            record.duration_s,
            input_tokens=usage.total_input if has_usage else None,
            output_tokens=usage.output_tokens if has_usage else None,
        )
        labels = {
            "agent": record.agent or "none",
            "node": record.node or "none",
            "model": record.response_model or record.request_model,
        }
        if has_usage:
            for token_type, count in (
                ("input", usage.input_tokens),
                ("output", usage.output_tokens),
                ("cache_read", usage.cache_read_input_tokens),
                ("cache_creation", usage.cache_creation_input_tokens),
            ):
                if count:
                    self.tokens.add(count, {**labels, "token_type": token_type})
                    self.plan_tokens.add(count, {**labels, "token_type": token_type})
        self.requests.add(1, {**labels, "outcome": "error" if record.error_type else "ok"})
        usd = record.cost.usd if record.cost and record.cost.usd is not None else None
        equivalent = record.cost.live_equivalent_usd if record.cost else None
        if usd is not None:
            self.cost.add(usd, labels)
            self.plan_cost.add(usd, labels)
        if equivalent is not None:
            self.cost_equivalent.add(equivalent, labels)
        for scope in call._scopes:
            scope.usage.add(usage)
            scope.usd += usd or 0.0
            scope.equivalent_usd += equivalent or 0.0
            scope.calls += 1
        span = call.span
        if span is None:
            return
        if message is not None:
            response_id = getattr(message, "id", None) or (
                message.get("id") if isinstance(message, Mapping) else None
            )
            stop = getattr(message, "stop_reason", None) or (
                message.get("stop_reason") if isinstance(message, Mapping) else None
            )
            span.set_attributes(
                {
                    k: v
                    for k, v in {
                        "gen_ai.response.model": record.response_model,
                        "gen_ai.response.id": response_id,
                        "gen_ai.response.finish_reasons": [stop] if stop else None,
                    }.items()
                    if v is not None
                }
            )
            span.set_attributes(
                usage_attributes(
                    usage.total_input,
                    usage.output_tokens,
                    usage.cache_read_input_tokens,
                    usage.cache_creation_input_tokens,
                )
            )
            if usd is not None:
                span.set_attribute(COST_ATTR, usd)
            if equivalent is not None:
                span.set_attribute(EQUIV_ATTR, equivalent)
            if self.capture_content:
                span.set_attribute("gen_ai.output.messages", _output_content(message))
        if error is not None:
            span.record_exception(error)
            span.set_attribute("error.type", record.error_type or "error")
            span.set_status(Status(StatusCode.ERROR, str(error)[:200]))
        span.end()

    # -- agent-side spans ----------------------------------------------------------------------
    @contextmanager
    def _scoped(
        self, attributes: dict[str, Any], agent: str, node: str | None, name: str | None = None
    ) -> Iterator[trace_api.Span]:
        with (
            operation_span(attributes, tracer=self.tracer, name=name) as span,
            _usage_scope(span, agent, node, always=False),
        ):
            yield span

    @contextmanager
    def agent(
        self,
        name: str,
        *,
        model: str | None = None,
        description: str | None = None,
        conversation_id: str | None = None,
    ) -> Iterator[trace_api.Span]:
        """``invoke_agent {name}``: one run of an agent."""
        attrs = agent_attributes(
            name,
            description=description,
            provider=PROVIDER,
            request_model=model,
            conversation_id=conversation_id,
        )
        with self._scoped(attrs, name, None) as span:
            yield span

    @contextmanager
    def workflow(self, name: str) -> Iterator[trace_api.Span]:
        """``invoke_workflow {name}``: several agents working on one task."""
        attrs = agent_attributes(name, operation="invoke_workflow")
        with self._scoped(attrs, name, None) as span:
            yield span

    @contextmanager
    def node(self, agent: str, node: str) -> Iterator[trace_api.Span]:
        """One step (graph node) of an agent, as an INTERNAL span ``{agent}.{node}``."""
        attrs = {"gen_ai.agent.name": agent, NODE_ATTR: node}
        with (
            self.tracer.start_as_current_span(
                f"{agent}.{node}", kind=SpanKind.INTERNAL, attributes=attrs, record_exception=True
            ) as span,
            _usage_scope(span, agent, node, always=True),
        ):
            yield span

    @contextmanager
    def tool(self, name: str, *, call_id: str | None = None) -> Iterator[trace_api.Span]:
        """``execute_tool {name}``: the application executing (or validating) a tool call."""
        with operation_span(tool_attributes(name, call_id=call_id), tracer=self.tracer) as span:
            yield span


_default: LLMTelemetry | None = None


def default_telemetry() -> LLMTelemetry:
    """Telemetry on the global providers (whatever the notebook configured)."""
    global _default
    if _default is None:
        _default = LLMTelemetry()
    return _default
