"""Replay the scenario's traffic with an injected fault, backdated over the last minutes.

Real calls, shifted clocks. Every request runs now, for real: its LLM calls go through
:class:`labkit.llm.TrackedClient` to the local Messages API server (so spans, metrics and
usage are the ones ``labkit.llm`` emits, with the server's own latency and 429 faults), and
its tools really sleep. Each request is assigned a simulated start time in a window that
ends when the replay starts (baseline first, then the incident), and its telemetry is
moved there before export:

* spans are captured in memory and shifted by (simulated start - real start) of their
  trace, so durations are the measured ones;
* metrics are collected once per simulated tick (cumulative, as an SDK exporting every
  ``tick_s`` would) and stamped with the tick's end;
* log lines carry their shifted time and go to Loki's push API.

Each service is its own resource (``service.name`` = agent, ``service.namespace`` =
``drills``, ``service.instance.id`` = the run id), so PromQL's ``instance`` label, TraceQL's
``resource.service.instance.id`` and Loki's ``service_instance_id`` select one run.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from labkit.drills._scenario import AGENTS, PRICIER_MODEL, WORKFLOWS, Node, system_prompt, user_message

__all__ = ["NAMESPACE", "Incident", "ReplayStats", "Timeline", "replay"]

NAMESPACE = "drills"
_SPAN_BATCH = 2000


@dataclass(frozen=True)
class Incident:
    """What changes in the incident window. Never shown to the learner."""

    cause: str
    agent: str | None = None
    node: str | None = None


@dataclass(frozen=True)
class Timeline:
    """Simulated window: ``baseline_s`` of normal traffic, then ``incident_s`` of incident,
    ending at ``end_ns``; one metric sample per service every ``tick_s``."""

    end_ns: int
    baseline_s: float = 300.0
    incident_s: float = 300.0
    tick_s: float = 30.0

    @property
    def start_ns(self) -> int:
        return self.end_ns - int((self.baseline_s + self.incident_s) * 1e9)

    @property
    def incident_ns(self) -> int:
        return self.end_ns - int(self.incident_s * 1e9)

    @property
    def ticks(self) -> int:
        return round((self.baseline_s + self.incident_s) / self.tick_s)


@dataclass
class ReplayStats:
    requests: int = 0
    llm_calls: int = 0
    spans: int = 0
    metric_exports: int = 0
    log_lines: int = 0
    seconds: float = 0.0


class _RecordedModel:
    """An SDK stand-in that answers as the model the recorded request asked for.

    The offline server answers every call as ``labkit-offline-1`` (cost 0). A replay stands
    for production traffic, so its responses carry the requested model id and are priced
    from the pricing table like the recorded calls were; the content stays the offline model's.
    """

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk
        self.base_url = sdk.base_url
        self.messages = self

    def create(self, **kwargs: Any) -> Any:
        message = self._sdk.messages.create(**kwargs)
        return message.model_copy(update={"model": kwargs["model"]})

    def count_tokens(self, **kwargs: Any) -> Any:
        return self._sdk.messages.count_tokens(**kwargs)


class _Service:
    """One agent's telemetry pipeline, captured in memory for shifting."""

    def __init__(self, agent: str, run_id: str, sdk: Any, settings: Any) -> None:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        from labkit.llm.budget import Budget
        from labkit.llm.telemetry import LLMTelemetry
        from labkit.llm.tracked import TrackedClient

        self.agent = agent
        self.resource = Resource.create(
            {
                "service.name": agent,
                "service.namespace": NAMESPACE,
                "service.instance.id": run_id,
                "service.version": "replay",
                "deployment.environment": "drill",
            }
        )
        self.spans = InMemorySpanExporter()
        self.tracer_provider = TracerProvider(resource=self.resource)
        self.tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        self.meter_provider = MeterProvider(resource=self.resource, metric_readers=[self.reader])
        self.telemetry = LLMTelemetry(self.tracer_provider, self.meter_provider)
        # A replay of recorded traffic spends nothing (offline model): no run budget applies.
        # _RecordedModel has the part of the SDK client's surface TrackedClient uses.
        recorded: Any = _RecordedModel(sdk)
        self.client = TrackedClient(
            recorded, agent=agent, budget=Budget(), telemetry=self.telemetry, settings=settings
        )

    def close(self) -> None:
        self.tracer_provider.shutdown()
        self.meter_provider.shutdown()


@dataclass
class _Run:
    run_id: str
    incident: Incident
    timeline: Timeline
    services: dict[str, _Service]
    llm_url: str
    offsets: dict[int, int] = field(default_factory=dict)  # trace id -> ns to add
    logs: list[tuple[int, str, str, str]] = field(default_factory=list)  # (real ns, agent, trace id, line)
    locks: dict[str, threading.Lock] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    calls: int = 0

    def log(self, service: str, trace_id: str, /, **fields: Any) -> None:
        line = _logfmt(**fields, trace_id=trace_id)
        with self.lock:
            self.logs.append((time.time_ns(), service, trace_id, line))


def _logfmt(**fields: Any) -> str:
    def value(v: Any) -> str:
        text = f"{v:.1f}" if isinstance(v, float) else str(v)
        return f'"{text}"' if (" " in text or not text) else text

    return " ".join(f"{k}={value(v)}" for k, v in fields.items())


def _fault(url: str, body: Mapping[str, Any]) -> None:
    httpx.post(url + "/_labkit/faults", json={**body, "append": True}, timeout=5.0).raise_for_status()


def _run_node(run: _Run, node: Node, index: int, in_incident: bool, trace_id: str) -> None:
    from labkit.llm.tracked import TrackedClient

    incident = run.incident
    # A node-level incident hits that node only; an agent-level one every node of the agent.
    hit = in_incident and (node.name == incident.node if incident.node else node.agent == incident.agent)
    service = run.services[node.agent]
    client: TrackedClient = service.client
    tel = service.telemetry
    with tel.node(node.agent, node.name):
        started = time.perf_counter()
        if hit and incident.cause == "contention":
            # A lock on the node's shared resource, held across a slow write: concurrent
            # requests of this node queue on it. Neither the tool nor the model is slower.
            lock = run.locks.setdefault(node.resource, threading.Lock())
            asked = time.perf_counter()
            with lock:
                waited = time.perf_counter() - asked
                time.sleep(0.2)
            run.log(
                node.agent,
                trace_id,
                level="warn",
                msg="slow lock acquire",
                agent=node.agent,
                node=node.name,
                resource=node.resource,
                waited_ms=waited * 1000,
                held_ms=200.0,
            )
        with tel.tool(node.tool):
            extra = 0.3 if hit and incident.cause == "slow_tool" else 0.0
            time.sleep(node.tool_ms / 1000 + extra)
        cached = not (hit and incident.cause == "cache_disabled")
        system_block: dict[str, Any] = {"type": "text", "text": system_prompt(node.agent)}
        if cached:
            system_block["cache_control"] = {"type": "ephemeral"}
        model = PRICIER_MODEL if hit and incident.cause == "pricier_model" else node.model
        regression = 5 if hit and incident.cause == "prompt_regression" else 1
        try:
            message = client.messages.create(
                model=model,
                max_tokens=300,
                system=[system_block],
                messages=[
                    {"role": "user", "content": user_message(node.agent, node, index, regression=regression)}
                ],
            )
        finally:
            with run.lock:
                run.calls += 1
        usage = message.usage
        run.log(
            node.agent,
            trace_id,
            level="info",
            msg="node finished",
            agent=node.agent,
            node=node.name,
            model=model,
            duration_ms=(time.perf_counter() - started) * 1000,
            input_tokens=usage.input_tokens,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            output_tokens=usage.output_tokens,
        )


def _run_request(run: _Run, agent: str, index: int, sim_start_ns: int) -> None:
    import anthropic

    service = run.services[agent]
    tel = service.telemetry
    in_incident = sim_start_ns >= run.timeline.incident_ns
    nodes = AGENTS[agent]
    storm = in_incident and run.incident.cause == "retry_storm" and run.incident.agent == agent
    root = tel.workflow(agent) if agent in WORKFLOWS else tel.agent(agent, model=nodes[0].model)
    with root as span:
        ctx = span.get_span_context()
        trace_id = f"{ctx.trace_id:032x}"
        with run.lock:
            run.offsets[ctx.trace_id] = sim_start_ns - time.time_ns()
        # The agent retries a failed run from its first step (a graph-level retry without
        # backoff): under 429s every retry pays again for the steps that had succeeded.
        for attempt in range(1, 5):
            try:
                for position, node in enumerate(nodes):
                    if storm and attempt <= 2 and position == len(nodes) - 1:
                        _fault(run.llm_url, {"fail_next": 1, "kind": "rate_limit", "retry_after_s": 1})
                    _run_node(run, node, index, in_incident, trace_id)
                break
            except anthropic.RateLimitError:
                run.log(
                    agent,
                    trace_id,
                    level="warn",
                    msg="rate limited (429), retrying the agent run",
                    agent=agent,
                    status=429,
                    attempt=attempt,
                )


def _shift_spans(spans: Iterable[Any], offsets: Mapping[int, int]) -> list[Any]:
    from opentelemetry.sdk.trace import Event, ReadableSpan

    out = []
    for s in spans:
        off = offsets.get(s.context.trace_id, 0)
        out.append(
            ReadableSpan(
                name=s.name,
                context=s.context,
                parent=s.parent,
                resource=s.resource,
                attributes=s.attributes,
                events=[Event(e.name, e.attributes, e.timestamp + off) for e in s.events],
                links=s.links,
                kind=s.kind,
                status=s.status,
                start_time=(s.start_time or 0) + off,
                end_time=(s.end_time or 0) + off,
                instrumentation_scope=s.instrumentation_scope,
            )
        )
    return out


def _stamp(data: Any, start_ns: int, at_ns: int) -> Any:
    """A copy of collected metrics with every point's times set to the simulated ones."""

    def point(p: Any) -> Any:
        return dataclasses.replace(p, start_time_unix_nano=start_ns, time_unix_nano=at_ns)

    def metric(m: Any) -> Any:
        data_points = [point(p) for p in m.data.data_points]
        return dataclasses.replace(m, data=dataclasses.replace(m.data, data_points=data_points))

    return dataclasses.replace(
        data,
        resource_metrics=[
            dataclasses.replace(
                rm,
                scope_metrics=[
                    dataclasses.replace(sm, metrics=[metric(m) for m in sm.metrics])
                    for sm in rm.scope_metrics
                ],
            )
            for rm in data.resource_metrics
        ],
    )


def _push_logs(loki_url: str, run: _Run, timeout_s: float) -> int:
    streams: dict[str, list[list[str]]] = {}
    for real_ns, agent, trace_id, line in run.logs:
        off = run.offsets.get(int(trace_id, 16), 0)
        streams.setdefault(agent, []).append([str(real_ns + off), line])
    body = {
        "streams": [
            {
                "stream": {
                    "service_name": agent,
                    "service_namespace": NAMESPACE,
                    "service_instance_id": run.run_id,
                },
                "values": sorted(values),
            }
            for agent, values in streams.items()
        ]
    }
    if body["streams"]:
        httpx.post(loki_url + "/loki/api/v1/push", json=body, timeout=timeout_s).raise_for_status()
    return sum(len(v) for v in streams.values())


def replay(
    run_id: str,
    incident: Incident,
    seed: int,
    settings: Any,
    *,
    timeline: Timeline | None = None,
    per_tick: int = 1,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Timeline, ReplayStats]:
    """Run the scenario's traffic with ``incident`` and export it to the configured backends."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.metrics.export import MetricExportResult
    from opentelemetry.sdk.trace.export import SpanExportResult

    from labkit.llm.client import client as sdk_client
    from labkit.llm.client import ensure_local_server

    began = time.perf_counter()
    timeline = timeline or Timeline(end_ns=time.time_ns())
    llm_url = ensure_local_server(settings)
    # The application sees every 429 itself (its own retry policy is the incident), so the
    # SDK does not retry.
    sdk = sdk_client(settings, max_retries=0)
    services = {agent: _Service(agent, run_id, sdk, settings) for agent in AGENTS}
    run = _Run(run_id, incident, timeline, services, llm_url)
    rng = random.Random(f"{run_id}:{seed}")
    endpoint = settings.otlp_http_endpoint.rstrip("/")
    timeout = float(settings.http_timeout_s)
    span_exporter = OTLPSpanExporter(endpoint=f"{endpoint}/v1/traces", timeout=timeout)
    metric_exporter = OTLPMetricExporter(endpoint=f"{endpoint}/v1/metrics", timeout=timeout)
    stats = ReplayStats()
    tick_ns = int(timeline.tick_s * 1e9)
    injected = False
    pool = ThreadPoolExecutor(max_workers=workers) if workers > 1 else None
    try:
        for k in range(timeline.ticks):
            tick_start = timeline.start_ns + k * tick_ns
            if tick_start >= timeline.incident_ns and not injected and incident.cause == "slow_model":
                node = next(n for nodes in AGENTS.values() for n in nodes if n.name == incident.node)
                _fault(llm_url, {"model_latency_s": {node.model: 0.3}})
            injected = injected or tick_start >= timeline.incident_ns
            jobs = [
                (agent, k * per_tick + j, tick_start + int(rng.uniform(0.05, 0.8) * tick_ns))
                for j in range(per_tick)
                for agent in AGENTS
            ]
            if pool is None:
                for job in jobs:
                    _run_request(run, *job)
            else:
                for future in [pool.submit(_run_request, run, *job) for job in jobs]:
                    future.result()
            stats.requests += len(jobs)
            tick_end = tick_start + tick_ns
            for service in services.values():
                data = service.reader.get_metrics_data()
                if data is None:
                    continue
                if (
                    metric_exporter.export(_stamp(data, timeline.start_ns, tick_end))
                    != MetricExportResult.SUCCESS
                ):
                    raise ConnectionError(f"the metrics export to {endpoint} failed")
                stats.metric_exports += 1
            if progress is not None:
                progress(k + 1, timeline.ticks)
        spans = _shift_spans(
            [s for service in services.values() for s in service.spans.get_finished_spans()], run.offsets
        )
        for i in range(0, len(spans), _SPAN_BATCH):
            if span_exporter.export(spans[i : i + _SPAN_BATCH]) != SpanExportResult.SUCCESS:
                raise ConnectionError(f"the trace export to {endpoint} failed")
        stats.spans = len(spans)
        stats.log_lines = _push_logs(settings.loki_url.rstrip("/"), run, timeout)
    finally:
        if incident.cause == "slow_model":
            _fault(llm_url, {"model_latency_s": {}})
        if pool is not None:
            pool.shutdown(wait=True)
        for service in services.values():
            service.close()
        span_exporter.shutdown()
        metric_exporter.shutdown()
        sdk.close()
    stats.llm_calls = run.calls
    stats.seconds = time.perf_counter() - began
    return timeline, stats
