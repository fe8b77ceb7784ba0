"""Against a real cluster: node state, apply and wait, a stuck rollout's events, server
dry-run messages, port-forward, exec and the pod's cgroup limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from labkit.k8s import apply, read
from labkit.k8s.errors import RolloutTimeout
from labkit.k8s.kubectl import Target, kubectl
from labkit.k8s.manifests import load_text
from labkit.k8s.validate import validate_server

pytestmark = pytest.mark.kubernetes


@pytest.fixture
def name(k8s_target: Target) -> Iterator[str]:
    value = f"t-{uuid.uuid4().hex[:6]}"
    yield value
    kubectl("delete", "deployment,service", value, "--ignore-not-found", "--wait=false", tgt=k8s_target)


def test_node_is_ready(k8s_target: Target) -> None:
    nodes = read.get("nodes", namespace=None, tgt=k8s_target)
    assert (nodes["status"] == "Ready").all()


def test_apply_and_wait_then_read_back(
    k8s_target: Target, demo_image: str, name: str, deployment_yaml: str
) -> None:
    applied = apply.apply_and_wait(
        deployment_yaml.format(name=name, replicas=2, image=demo_image), tgt=k8s_target, timeout_s=90
    )
    assert f"deployment.apps/{name} created" in applied.lines
    pods = read.get("pods", selector=f"app={name}", tgt=k8s_target)
    assert len(pods) == 2 and (pods["ready"] == "1/1").all()
    pod = f"pod/{pods['name'][0]}"
    # The limits of the manifest are the container's cgroup settings (cgroup v1 paths).
    limits = read.exec_in(
        pod,
        ["cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/cpu/cpu.cfs_quota_us"],
        tgt=k8s_target,
    ).split()
    assert limits == [str(96 * 1024 * 1024), "20000"]
    assert read.exec_in(pod, ["printenv", "GREETING"], tgt=k8s_target).strip() == "hello"
    with read.port_forward(f"svc/{name}", 80, tgt=k8s_target) as url:
        assert httpx.get(url + "/healthz", timeout=5).json()["status"] == "ok"
    endpoints = read.get("endpoints", name, tgt=k8s_target)
    assert len(endpoints["endpoints"][0].split(",")) == 2


def test_stuck_rollout_times_out_with_the_events(k8s_target: Target, name: str, deployment_yaml: str) -> None:
    manifest = deployment_yaml.format(name=name, replicas=1, image="labkit/never-built:1")
    with pytest.raises(RolloutTimeout) as info:
        apply.apply_and_wait(manifest, tgt=k8s_target, timeout_s=10)
    assert any("ErrImageNeverPull" in line for line in info.value.events), info.value.events
    assert "did not become ready within 10s" in str(info.value)


def test_server_dry_run_messages_are_verbatim_and_explained(k8s_target: Target, deployment_yaml: str) -> None:
    pdb = "apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {name: x}\nspec: {minAvailable: 1}\n"
    deploy = deployment_yaml.format(name="dry", replicas=1, image="d:1").split("---")[0]
    bad = deploy.replace("matchLabels: {app: dry}", "matchLabels: {app: other}")
    findings = validate_server(load_text(pdb) + load_text(bad) + load_text(deploy), k8s_target)
    by_kind = {f.kind: f for f in findings}
    server_version = kubectl("get", "--raw", "/version", tgt=k8s_target).stdout
    if '"minor": "20"' in server_version:
        assert 'no matches for kind "PodDisruptionBudget"' in by_kind["PodDisruptionBudget"].message
    assert "`selector` does not match template `labels`" in by_kind["Deployment"].message
    assert "pod template" in by_kind["Deployment"].explanation
    assert len([f for f in findings if f.kind == "Deployment"]) == 1  # the good one passes
