"""Apply manifests and wait for their rollouts; when one is stuck, say why with the pods' events.

Every wait has a deadline (kubectl's ``--timeout`` and a subprocess timeout above it), so a
rollout that can never succeed (missing image, failing probe, missing secret) ends with a
``RolloutTimeout`` listing the events that explain it instead of hanging the notebook.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from labkit.k8s.errors import RolloutTimeout
from labkit.k8s.kubectl import KubectlError, Target, kubectl
from labkit.k8s.manifests import Manifest, load_text
from labkit.k8s.render import load

__all__ = ["Applied", "apply", "apply_and_wait", "stuck_reasons", "wait_rollout"]

_ROLLOUT_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True)
class Applied:
    lines: list[str]  # kubectl's "deployment.apps/x created" lines
    manifests: list[Manifest]
    seconds: float


def _as_manifests(source: str | Path | list[Path] | list[Manifest]) -> list[Manifest]:
    if isinstance(source, str) and "\n" in source:
        return load_text(source)
    if isinstance(source, (str, Path)):
        return load([Path(source)])
    if source and isinstance(source[0], Manifest):
        return list(source)  # type: ignore[arg-type]
    return load([Path(p) for p in source])  # type: ignore[arg-type]


def apply(
    source: str | Path | list[Path] | list[Manifest],
    *,
    tgt: Target | None = None,
    namespace: str | None = None,
) -> Applied:
    """``kubectl apply`` of files, a kustomization, YAML text or loaded manifests."""
    started = time.monotonic()
    manifests = _as_manifests(source)
    text = yaml.safe_dump_all([m.obj for m in manifests], sort_keys=False)
    args = ["apply", "-f", "-"] + (["-n", namespace] if namespace else [])
    out = kubectl(*args, tgt=tgt, input=text).stdout
    return Applied([line for line in out.splitlines() if line], manifests, time.monotonic() - started)


def stuck_reasons(
    kind: str, name: str, namespace: str = "default", *, tgt: Target | None = None
) -> list[str]:
    """Why a workload's pods are not ready: waiting reasons and the pods' warning events."""
    reasons: list[str] = []
    try:
        obj = json.loads(kubectl("get", kind, name, "-n", namespace, "-o", "json", tgt=tgt).stdout)
    except KubectlError as exc:
        return [exc.stderr]
    labels = ((obj.get("spec") or {}).get("selector") or {}).get("matchLabels") or {}
    selector = ",".join(f"{k}={v}" for k, v in labels.items())
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json", tgt=tgt).stdout)
    names = set()
    for pod in pods.get("items", []):
        pod_name = pod["metadata"]["name"]
        names.add(pod_name)
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            state = status.get("state") or {}
            waiting = state.get("waiting")
            if waiting:
                reasons.append(
                    f"pod/{pod_name} {status['name']}: {waiting.get('reason')}: "
                    f"{waiting.get('message', '')}".rstrip(": ")
                )
            if status.get("restartCount"):
                reasons.append(f"pod/{pod_name} {status['name']}: restarted {status['restartCount']} times")
        for cond in (pod.get("status") or {}).get("conditions") or []:
            if cond.get("type") == "PodScheduled" and cond.get("status") == "False":
                reasons.append(f"pod/{pod_name}: not scheduled: {cond.get('message', '')}")
    events = json.loads(kubectl("get", "events", "-n", namespace, "-o", "json", tgt=tgt).stdout)
    for ev in events.get("items", []):
        involved = ev.get("involvedObject") or {}
        # MissingClusterDNS is on every pod of a cluster without a DNS add-on: noise, not a cause.
        if (
            involved.get("name") in names
            and ev.get("type") == "Warning"
            and ev.get("reason") != "MissingClusterDNS"
        ):
            reasons.append(
                f"event pod/{involved['name']}: {ev.get('reason')}: {ev.get('message', '').strip()}"
            )
    return reasons


def wait_rollout(
    kind: str, name: str, namespace: str = "default", *, timeout_s: float = 60.0, tgt: Target | None = None
) -> float:
    """Wait until the rollout completes; return seconds waited or raise RolloutTimeout with events."""
    started = time.monotonic()
    try:
        kubectl(
            "rollout",
            "status",
            f"{kind.lower()}/{name}",
            "-n",
            namespace,
            f"--timeout={int(timeout_s)}s",
            tgt=tgt,
            timeout_s=timeout_s + 15,
        )
    except (KubectlError, Exception) as exc:
        reasons = stuck_reasons(kind, name, namespace, tgt=tgt)
        detail = exc.stderr if isinstance(exc, KubectlError) else str(exc)
        raise RolloutTimeout(
            f"{kind.lower()}/{name} did not become ready within {timeout_s:.0f}s: {detail}", reasons
        ) from None
    return time.monotonic() - started


def apply_and_wait(
    source: str | Path | list[Path] | list[Manifest],
    *,
    tgt: Target | None = None,
    namespace: str | None = None,
    timeout_s: float = 60.0,
) -> Applied:
    applied = apply(source, tgt=tgt, namespace=namespace)
    deadline = time.monotonic() + timeout_s
    for m in applied.manifests:
        if m.kind in _ROLLOUT_KINDS:
            ns = namespace or (m.obj.get("metadata") or {}).get("namespace") or "default"
            wait_rollout(m.kind, m.name, ns, timeout_s=max(1.0, deadline - time.monotonic()), tgt=tgt)
    return Applied(applied.lines, applied.manifests, time.monotonic() - deadline + timeout_s)
