"""Verifiers of notebook 11's exercises: they read the live cluster and Tempo, not the answer's text."""

from __future__ import annotations

import json
from collections.abc import Callable

from labkit.config import Settings
from labkit.k8s.apply import apply, wait_rollout
from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import KubectlError, Target, kubectl
from labkit.k8s.manifests import load_text

__all__ = ["pod_served_trace", "rollout_completes"]


def rollout_completes(
    name: str, *, namespace: str = "labkit", timeout_s: float = 60.0, tgt: Target | None = None
) -> Callable[[str], object]:
    """The learner's Deployment ``name`` keeps a readiness probe, applies, and its rollout completes."""

    def verify(manifest: str) -> tuple[bool, str]:
        objs = [m for m in load_text(manifest, "fixed_rollout") if m.kind == "Deployment" and m.name == name]
        assert objs, f"fixed_rollout has no Deployment named {name!r}"
        containers = objs[0].obj["spec"]["template"]["spec"]["containers"]
        # Deleting the probe would also "finish" the rollout, and send traffic to pods not ready.
        assert all(c.get("readinessProbe") for c in containers), (
            "keep the readiness probe: fix it, do not delete it"
        )
        try:
            apply(objs, tgt=tgt)
            seconds = wait_rollout("Deployment", name, namespace, timeout_s=timeout_s, tgt=tgt)
        except K8sError as exc:
            raise AssertionError(str(exc).splitlines()[0]) from None
        dep = json.loads(kubectl("get", "deployment", name, "-n", namespace, "-o", "json", tgt=tgt).stdout)
        status = dep.get("status") or {}
        want = dep["spec"].get("replicas", 1)
        assert status.get("readyReplicas") == want == status.get("updatedReplicas"), (
            f"{status.get('readyReplicas', 0)}/{want} ready, {status.get('updatedReplicas', 0)} updated"
        )
        return True, f"deployment/{name}: rollout complete in {seconds:.1f}s, {want}/{want} ready"

    return verify


def pod_served_trace(
    trace_id: str | None,
    *,
    namespace: str = "labkit",
    settings: Settings | None = None,
    tgt: Target | None = None,
) -> Callable[[str], object]:
    """The answer is the pod named in the trace's resource attributes, and that pod is in the cluster."""
    from labkit.k8s.pod_telemetry import pod_of_trace

    def verify(pod: str) -> tuple[bool, str]:
        assert trace_id, "no trace from the pods reached Tempo: see the telemetry checkpoint above"
        assert isinstance(pod, str) and pod, "answer with the pod's name (a string)"
        expected = pod_of_trace(trace_id, settings)
        assert pod == expected, f"trace {trace_id[:8]}... was not served by {pod!r}"
        try:
            kubectl("get", "pod", pod, "-n", namespace, "-o", "name", tgt=tgt)
        except KubectlError:
            raise AssertionError(f"pod {pod} is not in namespace {namespace} (any more)") from None
        return True, f"trace {trace_id[:8]}... was served by pod/{pod}"

    return verify
