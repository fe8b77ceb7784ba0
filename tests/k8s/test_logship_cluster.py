"""On the running embedded cluster: a real pod's log lines reach the embedded Loki with its
pod labels, through kubelet's files (dockershim, Docker json-file). The test never starts or
stops the cluster: without one it skips (fails under CI=true, where the cluster must be up)."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labkit.config import load_settings
from labkit.k8s.kubectl import KubectlError, Target, kubectl, target
from labkit.k8s.logship import DEFAULT_PODS_DIR, ship_once
from labkit.lgtm.testing import running_server
from tests.k8s.logfiles import lines_of

NAMESPACE = "prodlogs-test"
IMAGE = "labkit/demo-app:k8s"


def _no_cluster(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the embedded cluster: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster() -> Target:
    from labkit.k8s import cluster as embedded

    settings = load_settings()
    if settings.k8s_context:
        _no_cluster("a live cluster is configured: its pod logs go through Alloy (k8s/alloy)")
    data_dir = embedded.current_data_dir(settings.data_dir)
    if not embedded.status(data_dir).running:
        _no_cluster("the embedded cluster is not running (`labkit k8s up` starts it)")
    if not DEFAULT_PODS_DIR.is_dir() or not os.access(DEFAULT_PODS_DIR, os.R_OK):
        _no_cluster(f"{DEFAULT_PODS_DIR} is not readable here")
    return target(settings.model_copy(update={"data_dir": data_dir}))


@pytest.fixture(scope="module")
def namespace(cluster: Target) -> Iterator[str]:
    """This module's own namespace; deleting it at the end takes its pods along."""
    deadline = time.monotonic() + 120
    while True:  # the namespace of a previous run may still be terminating
        phase = kubectl("get", "namespace", NAMESPACE, "-o", "jsonpath={.status.phase}",
                        tgt=cluster, check=False, timeout_s=30).stdout  # fmt: skip
        if phase == "Active":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {NAMESPACE} is not usable after 120 s (phase {phase or 'missing'})")
        if not phase:
            with contextlib.suppress(KubectlError):  # another run may create it first
                kubectl("create", "namespace", NAMESPACE, tgt=cluster, timeout_s=30)
        else:
            time.sleep(2)
    try:
        yield NAMESPACE
    finally:
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", tgt=cluster, check=False, timeout_s=60)


def _run_pod(cluster: Target, name: str, script: str, env: list[dict[str, object]] | None = None) -> None:
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"org.labkit.test": "true"}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "talker",
                    "image": IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", script],
                    "env": env or [],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                }
            ],
        },
    }
    kubectl("apply", "-f", "-", tgt=cluster, input=json.dumps(pod), timeout_s=60)


@pytest.fixture
def talker(cluster: Target, namespace: str) -> Iterator[tuple[str, list[str]]]:
    """A pod that prints numbered lines (one of them longer than Docker's 16 KiB split), then sleeps."""
    token = uuid.uuid4().hex[:8]
    name = f"talker-{token}"
    lines = [f"line {i} {token}" for i in range(20)] + [f"long {token} " + "x" * 20_000]
    prints = "".join(f"print({line!r}, flush=True)\n" for line in lines)
    _run_pod(cluster, name, "import time\n" + prints + "time.sleep(600)\n")
    try:
        yield name, lines
    finally:
        kubectl(
            "delete", "pod", name, "-n", namespace, "--wait=false", tgt=cluster, check=False, timeout_s=60
        )


# What an SDK does, without one in the image: OTLP/JSON with the downward-API resource attributes.
_OTLP_SENDER = """
import json, os, time, urllib.request
attrs = [kv.split("=", 1) for kv in os.environ["OTEL_RESOURCE_ATTRIBUTES"].split(",")]
attrs.append(["service.name", os.environ["OTEL_SERVICE_NAME"]])
resource = {"attributes": [{"key": k, "value": {"stringValue": v}} for k, v in attrs]}
point = {"timeUnixNano": str(time.time_ns()), "asDouble": 1.0}
body = {"resourceMetrics": [{"resource": resource, "scopeMetrics": [{"metrics": [
    {"name": "talker.up", "unit": "1", "gauge": {"dataPoints": [point]}}]}]}]}
url = os.environ["OTEL_EXPORTER_OTLP_ENDPOINT"] + "/v1/metrics"
for attempt in range(60):
    try:
        req = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
        print("sent", urllib.request.urlopen(req, timeout=5).status, flush=True)
        break
    except OSError as exc:
        print("retry", exc, flush=True)
        time.sleep(1)
time.sleep(600)
"""


def test_a_pod_sends_otlp_to_the_embedded_server_on_the_bridge(
    cluster: Target, namespace: str, tmp_path: Path
) -> None:
    """listen_pod_network + pod_otlp_endpoint + pod_otel_env, end to end from a real pod."""
    from labkit.k8s.telemetry import pod_otel_env, pod_otlp_endpoint

    name = f"otlp-{uuid.uuid4().hex[:8]}"
    with running_server(tmp_path / "lgtm", listen_pod_network=True) as srv:
        endpoint = pod_otlp_endpoint(srv.settings)
        assert endpoint.startswith("http://10.244.0.1:")
        _run_pod(cluster, name, _OTLP_SENDER, pod_otel_env("talker", endpoint))
        try:
            query = f'talker_up_ratio{{k8s_pod_name="{name}"}}'
            result: list[dict[str, object]] = []
            deadline = time.monotonic() + 120
            while not result and time.monotonic() < deadline:
                time.sleep(1)
                resp = httpx.get(srv.urls["mimir"] + "/api/v1/query", params={"query": query}, timeout=10)
                result = resp.json()["data"]["result"]
            if not result:
                logs = kubectl("logs", name, "-n", namespace, tgt=cluster, check=False, timeout_s=30)
                pytest.fail(f"no metric from pod {name} in 120 s; its output: {logs.stdout[-500:]}")
            labels = result[0]["metric"]
            assert isinstance(labels, dict)
            assert {k: labels[k] for k in ("k8s_namespace_name", "k8s_pod_name", "k8s_node_name",
                                           "k8s_deployment_name", "job", "instance")} == {
                "k8s_namespace_name": namespace,
                "k8s_pod_name": name,
                "k8s_node_name": "node-1",
                "k8s_deployment_name": "talker",
                "job": "talker",
                "instance": f"{namespace}.{name}",
            }  # fmt: skip
        finally:
            kubectl(
                "delete", "pod", name, "-n", namespace, "--wait=false", tgt=cluster, check=False, timeout_s=60
            )


def test_a_pods_lines_reach_loki_with_its_labels(talker: tuple[str, list[str]], tmp_path: Path) -> None:
    name, lines = talker
    with running_server(tmp_path / "lgtm") as srv:
        got: list[str] = []
        deadline = time.monotonic() + 120  # a loaded node may take a while to start the pod
        while time.monotonic() < deadline:
            ship_once(settings=srv.settings, positions=tmp_path / "positions.json", namespaces=[NAMESPACE])
            got = lines_of(srv, f'{{namespace="{NAMESPACE}", pod="{name}", container="talker"}}')
            if len(got) >= len(lines):
                break
            time.sleep(1)
        if not got:
            folders = [p.name for p in Path(DEFAULT_PODS_DIR).glob(f"{NAMESPACE}_{name}_*")]
            pytest.fail(f"no line of {name} reached Loki in 120 s; its log folders: {folders}")
        assert got == lines  # in order, the 20 KB line joined from Docker's 16 KiB pieces, none twice
        from tests.k8s.logfiles import query

        labels = query(srv, f'{{pod="{name}"}}')[0]["stream"]
        assert {k: labels[k] for k in ("namespace", "pod", "container", "node", "job")} == {
            "namespace": NAMESPACE,
            "pod": name,
            "container": "talker",
            "node": "node-1",
            "job": f"{NAMESPACE}/talker",
        }
