"""The agents' telemetry from pods, read back with their Kubernetes identity.

Traces and metrics carry the downward-API resource attributes (``k8s.pod.name``, ...);
Tempo keeps them as resource attributes, Mimir as labels of ``target_info`` with dots
turned into underscores (``k8s_pod_name``), joined onto a metric by ``job, instance``.
Pod logs reach Loki through the log shipper (``labkit.k8s.logship``) labelled
``namespace``, ``pod``, ``container`` as Alloy would.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd

from labkit.config import Settings, load_settings

__all__ = [
    "LOGQL",
    "PROMQL",
    "TRACEQL",
    "log_shipper",
    "pod_logs",
    "pod_metrics",
    "pod_of_trace",
    "pod_traces",
]

TRACEQL = '{resource.k8s.namespace.name="labkit"}'
LOGQL = '{namespace="labkit", container="agent"}'
# Resource attributes land on target_info (one series per pod process); the join copies
# k8s_pod_name onto the counter, as on any Prometheus-compatible backend fed by OTLP.
PROMQL = (
    "sum by (k8s_pod_name) (labkit_agent_reviews_total"
    " * on (job, instance) group_left (k8s_pod_name) target_info)"
)


def pod_traces(
    settings: Settings | None = None, *, at_least: int = 1, timeout_s: float = 20.0, since: str = "now-10m"
) -> pd.DataFrame:
    """Recent traces from pods of namespace labkit: trace_id, service, pod, node, deployment."""
    from labkit.observe import Tempo

    tempo = Tempo(settings=settings or load_settings())
    deadline = time.monotonic() + timeout_s
    while True:
        found = tempo.search(TRACEQL, since, "now", limit=20)
        if len(found) >= at_least or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    rows = []
    for trace_id in found["trace_id"].head(10):
        spans = tempo.trace(trace_id)
        res = spans["resource"].iloc[0] if not spans.empty else {}
        rows.append(
            {
                "trace_id": trace_id,
                "service": res.get("service.name", ""),
                "k8s.pod.name": res.get("k8s.pod.name", ""),
                "k8s.node.name": res.get("k8s.node.name", ""),
                "k8s.deployment.name": res.get("k8s.deployment.name", ""),
                "spans": len(spans),
            }
        )
    return pd.DataFrame(
        rows, columns=["trace_id", "service", "k8s.pod.name", "k8s.node.name", "k8s.deployment.name", "spans"]
    )


def pod_of_trace(trace_id: str, settings: Settings | None = None) -> str:
    """``k8s.pod.name`` from the resource of the trace's spans (the pod that served it)."""
    from labkit.observe import Tempo

    spans = Tempo(settings=settings or load_settings()).trace(trace_id)
    pods = {r.get("k8s.pod.name") for r in spans["resource"] if r.get("k8s.pod.name")}
    if len(pods) != 1:
        raise AssertionError(f"trace {trace_id} names {len(pods)} pods: {sorted(pods)}")
    return pods.pop()


def pod_metrics(settings: Settings | None = None, *, timeout_s: float = 25.0) -> pd.DataFrame:
    """``PROMQL`` (reviews by pod) once Mimir has a sample (pods export every 10 s)."""
    from labkit.observe import Mimir

    mimir = Mimir(settings=settings or load_settings())
    deadline = time.monotonic() + timeout_s
    while True:
        frame = mimir.query(PROMQL)
        if not frame.empty or time.monotonic() > deadline:
            return frame
        time.sleep(1.0)


def pod_logs(settings: Settings | None = None, *, timeout_s: float = 15.0, limit: int = 20) -> pd.DataFrame:
    """``LOGQL`` (the agents' pod logs) from Loki, polled until lines arrive or the timeout."""
    from labkit.observe import Loki

    loki = Loki(settings=settings or load_settings())
    deadline = time.monotonic() + timeout_s
    while True:
        frame = loki.query_range(LOGQL, "now-15m", "now", limit=limit)
        if not frame.empty or time.monotonic() > deadline:
            return frame
        time.sleep(1.0)


@contextlib.contextmanager
def log_shipper(settings: Settings | None = None) -> Iterator[Any]:
    """``labkit.k8s.logship.LogShipper`` for the block (tails /var/log/pods into Loki); yields it."""
    from labkit.k8s import logship

    with logship.LogShipper(settings=settings or load_settings()) as shipper:
        yield shipper
