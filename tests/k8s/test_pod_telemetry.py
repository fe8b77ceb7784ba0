"""Telemetry from pods on the embedded path: where pods send OTLP (never 0.0.0.0), and the
label mapping that lets one PromQL query by ``k8s_pod_name`` and one LogQL query by
``namespace``/``container`` work on the embedded server as on the live stack."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from labkit.config import load_settings
from labkit.k8s import telemetry
from labkit.k8s.logship import ship_once
from labkit.k8s.telemetry import ALLOY_OTLP_HTTP, PodNetworkError, pod_otel_env, pod_otlp_endpoint
from labkit.lgtm.metrics.translate import translate_request
from labkit.lgtm.server import docker_bridge_address
from labkit.lgtm.testing import add_attribute, running_server
from tests.k8s.logfiles import T0, append, docker_line, lines_of, log_file

CNI0 = docker_bridge_address("cni0")


def _settings(**kw: object):  # type: ignore[no-untyped-def]
    return load_settings(environ={}, otlp_http_endpoint="http://127.0.0.1:14318", **kw)


def test_pod_endpoint_is_the_bridge_gateway_with_the_configured_port(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_interface_address", lambda name: "10.244.0.1")
    assert pod_otlp_endpoint(_settings(listen_pod_network=True)) == "http://10.244.0.1:14318"


def test_pod_endpoint_errors_name_the_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(PodNetworkError, match="LABKIT_LISTEN_POD_NETWORK=true"):
        pod_otlp_endpoint(_settings())
    monkeypatch.setattr(telemetry, "_interface_address", lambda name: None)
    with pytest.raises(PodNetworkError, match="labkit k8s up"):
        pod_otlp_endpoint(_settings(listen_pod_network=True))
    monkeypatch.setattr(telemetry, "_interface_address", lambda name: "192.168.7.1")
    with pytest.raises(PodNetworkError, match="outside the embedded cluster's pod CIDR"):
        pod_otlp_endpoint(_settings(listen_pod_network=True))


def test_live_clusters_send_to_alloy() -> None:
    assert pod_otlp_endpoint(_settings(k8s_context="kind-labkit")) == ALLOY_OTLP_HTTP


def test_the_downward_api_env_defines_variables_before_using_them() -> None:
    env = pod_otel_env("prompt-reviewer", "http://10.244.0.1:4318")
    names = [e["name"] for e in env]
    attrs = next(e["value"] for e in env if e["name"] == "OTEL_RESOURCE_ATTRIBUTES")
    assert isinstance(attrs, str)
    for var in ("K8S_NAMESPACE_NAME", "K8S_POD_NAME", "K8S_NODE_NAME"):
        assert f"$({var})" in attrs and names.index(var) < names.index("OTEL_RESOURCE_ATTRIBUTES")
    assert "k8s.deployment.name=prompt-reviewer" in attrs
    refs = {e["name"]: e["valueFrom"]["fieldRef"]["fieldPath"] for e in env if "valueFrom" in e}  # type: ignore[index]
    assert refs == {"K8S_NAMESPACE_NAME": "metadata.namespace", "K8S_POD_NAME": "metadata.name",
                    "K8S_NODE_NAME": "spec.nodeName"}  # fmt: skip


def test_server_refuses_to_start_without_the_bridge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(telemetry, "_interface_address", lambda name: None)  # as without the cluster
    with pytest.raises(PodNetworkError, match="cni0"), running_server(tmp_path, listen_pod_network=True):
        pass


@pytest.mark.skipif(CNI0 is None, reason="no pod bridge (cni0): the embedded cluster is not up")
def test_server_listens_on_the_bridge_only_when_asked(tmp_path: Path) -> None:
    import socket

    def answers(host: str, port: int) -> bool:
        try:
            with socket.create_connection((host, port), timeout=1):
                return True
        except OSError:
            return False

    assert CNI0 is not None
    with running_server(tmp_path / "off") as srv:
        assert not answers(CNI0, srv.ports["otlp_http"])
    with running_server(tmp_path / "on", listen_pod_network=True) as srv:
        assert httpx.get(f"http://{CNI0}:{srv.ports['otlp_http']}/ready", timeout=5).status_code == 200
        assert answers(CNI0, srv.ports["otlp_grpc"])
        assert pod_otlp_endpoint(srv.settings) == f"http://{CNI0}:{srv.ports['otlp_http']}"


def _pod_metrics(pod: str, value: int) -> ExportMetricsServiceRequest:
    """What the agent's SDK sends with the downward-API resource attributes of one pod."""
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    for key, val in {
        "service.name": "prompt-reviewer",
        "service.instance.id": f"labkit.{pod}",
        "k8s.namespace.name": "labkit",
        "k8s.pod.name": pod,
        "k8s.node.name": "node-1",
        "k8s.deployment.name": "prompt-reviewer",
    }.items():
        add_attribute(rm.resource.attributes, key, val)
    metric = rm.scope_metrics.add().metrics.add(name="agent.requests", unit="{request}")
    metric.sum.is_monotonic = True
    metric.sum.aggregation_temporality = 2
    dp = metric.sum.data_points.add(time_unix_nano=time.time_ns() - 5_000_000_000, as_int=value)
    add_attribute(dp.attributes, "http.route", "/review")
    return req


def test_promotion_is_mimirs_promote_otel_resource_attributes() -> None:
    req = _pod_metrics("prompt-reviewer-7d9f-a", 3)
    plain = translate_request(req)
    promoted = translate_request(req, ["k8s.pod.name", "service.name"])
    counter = next(p for p in promoted if p.labels["__name__"] == "agent_requests_total")
    assert counter.labels["k8s_pod_name"] == "prompt-reviewer-7d9f-a"
    assert "service_name" not in counter.labels  # identifying attributes are job/instance already
    unpromoted = next(p for p in plain if p.labels["__name__"] == "agent_requests_total")
    assert "k8s_pod_name" not in unpromoted.labels
    info = next(p for p in promoted if p.labels["__name__"] == "target_info")
    assert info.labels["k8s_pod_name"] == "prompt-reviewer-7d9f-a"  # still on target_info


def test_one_promql_and_one_logql_query_by_pod_labels(tmp_path: Path) -> None:
    pods = tmp_path / "pods"
    path = log_file(pods, "labkit", "prompt-reviewer-7d9f-a", "agent")
    append(path, docker_line("review done", T0))
    with running_server(tmp_path / "lgtm") as srv:
        for pod, value in (("prompt-reviewer-7d9f-a", 3), ("prompt-reviewer-7d9f-b", 5)):
            resp = httpx.post(
                srv.urls["otlp_http"] + "/v1/metrics",
                content=_pod_metrics(pod, value).SerializeToString(),
                headers={"Content-Type": "application/x-protobuf"},
                timeout=10,
            )
            assert resp.status_code == 200, resp.text
        q = 'sum by (k8s_pod_name) (agent_requests_total{k8s_namespace_name="labkit"})'
        resp = httpx.get(srv.urls["mimir"] + "/api/v1/query", params={"query": q}, timeout=10)
        result = {r["metric"]["k8s_pod_name"]: r["value"][1] for r in resp.json()["data"]["result"]}
        assert result == {"prompt-reviewer-7d9f-a": "3", "prompt-reviewer-7d9f-b": "5"}
        # The join the live stack needs where attributes are not promoted works here too.
        join = (
            "sum by (k8s_pod_name) (agent_requests_total * on(job, instance) "
            'group_left(k8s_pod_name) target_info{k8s_deployment_name="prompt-reviewer"})'
        )
        resp = httpx.get(srv.urls["mimir"] + "/api/v1/query", params={"query": join}, timeout=10)
        assert len(resp.json()["data"]["result"]) == 2, resp.text
        assert ship_once(pods, settings=srv.settings, positions=tmp_path / "pos.json").shipped == 1
        assert lines_of(srv, '{namespace="labkit", container="agent"}') == ["review done"]
