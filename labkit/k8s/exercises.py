"""Verifiers of notebook 02's exercises: each applies the learner's answer and reads the cluster."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

from labkit.k8s.apply import apply, wait_rollout
from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import Target, kubectl
from labkit.k8s.manifests import load_text
from labkit.k8s.policy import check_policy
from labkit.k8s.read import port_forward

__all__ = ["fixed_deployment_runs", "service_reaches"]


def fixed_deployment_runs(
    name: str, *, timeout_s: float = 60.0, tgt: Target | None = None
) -> Callable[[str], object]:
    """The learner's YAML for Deployment ``name`` applies, rolls out, and its pods stay up (no restarts)."""

    def verify(manifest: str) -> tuple[bool, str]:
        objs = [m for m in load_text(manifest, "fixed_manifest") if m.kind == "Deployment" and m.name == name]
        assert objs, f"fixed_manifest has no Deployment named {name!r}"
        remaining = {f.rule for f in check_policy(objs)} & {"selector-mismatch", "probe-port-mismatch"}
        assert not remaining, f"still there: {', '.join(sorted(remaining))}"
        try:
            apply(objs, tgt=tgt)
            seconds = wait_rollout("Deployment", name, timeout_s=timeout_s, tgt=tgt)
        except K8sError as exc:
            raise AssertionError(str(exc).splitlines()[0]) from None
        selector = _selector(objs[0].obj)
        pods = json.loads(kubectl("get", "pods", "-l", selector, "-o", "json", tgt=tgt).stdout)
        # A wrong liveness probe restarts the container only after its first failures, which can
        # come after the rollout is done: watch until the probe has had that chance.
        remaining_s = _liveness_window_s(objs[0].obj) - _running_for_s(pods)
        if remaining_s > 0:
            time.sleep(min(remaining_s, 15.0))
            pods = json.loads(kubectl("get", "pods", "-l", selector, "-o", "json", tgt=tgt).stdout)
        restarts = sum(
            s.get("restartCount", 0) for p in pods["items"] for s in p["status"].get("containerStatuses", [])
        )
        assert restarts == 0, f"pods restarted {restarts} times: the liveness probe still fails"
        return True, f"deployment/{name} ready in {seconds:.1f}s, {len(pods['items'])} pod(s), no restarts"

    return verify


def _liveness_window_s(obj: dict[str, Any]) -> float:
    """Seconds after start by which a failing liveness probe has restarted the container."""
    window = 0.0
    for container in obj["spec"]["template"]["spec"].get("containers", []):
        probe = container.get("livenessProbe") or {}
        if probe:
            period = float(probe.get("periodSeconds", 10))
            window = max(
                window,
                float(probe.get("initialDelaySeconds", 0))
                + period * float(probe.get("failureThreshold", 3))
                + float(probe.get("timeoutSeconds", 1)),
            )
    return window


def _running_for_s(pods: dict[str, Any]) -> float:
    """How long the most recently started container of ``pods`` has run (0 if none runs)."""
    starts = [
        datetime.fromisoformat(s["state"]["running"]["startedAt"].replace("Z", "+00:00"))
        for p in pods["items"]
        for s in p["status"].get("containerStatuses", [])
        if "running" in s.get("state", {})
    ]
    if not starts:
        return 0.0
    return (datetime.now(UTC) - max(starts)).total_seconds()


def _selector(obj: dict[str, object]) -> str:
    labels = obj["spec"]["selector"]["matchLabels"]  # type: ignore[index]
    return ",".join(f"{k}={v}" for k, v in labels.items())


def service_reaches(
    deployment: str, *, port: int = 80, path: str = "/healthz", tgt: Target | None = None
) -> Callable[[str], object]:
    """The learner's Service selects ``deployment``'s pods (endpoints exist) and answers on ``port``."""

    def verify(manifest: str) -> tuple[bool, str]:
        services = [m for m in load_text(manifest, "service_manifest") if m.kind == "Service"]
        assert len(services) == 1, "service_manifest must hold exactly one Service"
        svc = services[0]
        apply(services, tgt=tgt)
        endpoints = json.loads(kubectl("get", "endpoints", svc.name, "-o", "json", tgt=tgt).stdout)
        addresses = [a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []]
        assert addresses, (
            f"service/{svc.name} has no endpoints: its selector matches no ready pod of {deployment}"
        )
        with port_forward(f"svc/{svc.name}", port, tgt=tgt) as url:
            resp = httpx.get(url + path, timeout=5)
        assert resp.status_code == 200, (
            f"GET {path} through service/{svc.name}:{port} answered {resp.status_code}"
        )
        return True, f"service/{svc.name} -> {len(addresses)} endpoint(s); {path} answered 200"

    return verify
