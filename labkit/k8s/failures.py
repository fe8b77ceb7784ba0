"""Production failures on purpose (notebook 11): what each looks like and where it shows.

- a missing Secret: the container is never created (``CreateContainerConfigError``);
- an image the node does not have: ``ErrImageNeverPull`` (pull policy Never), or
  ``ErrImagePull`` / ``ImagePullBackOff`` where the node may pull and the registry has no such tag;
- a container over its memory limit: the kernel's OOM killer ends it, kubelet records
  ``OOMKilled`` in ``lastState.terminated`` and restarts it (restart count goes up).

Each manifest is small and labelled ``app.kubernetes.io/part-of: labkit-failures`` so one
selector deletes them all.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from labkit.k8s.kubectl import Target, kubectl
from labkit.k8s.read import get_json, logs

__all__ = [
    "EXPLAIN",
    "LABEL",
    "PodState",
    "missing_image_pod",
    "missing_secret_deployment",
    "oom_evidence",
    "oom_pod",
    "wait_for_state",
    "wait_restarted",
]

LABEL = "app.kubernetes.io/part-of=labkit-failures"

EXPLAIN = {
    "CreateContainerConfigError": (
        "kubelet cannot build the container's configuration: an env var or volume refers to a "
        "Secret (or key, or ConfigMap) that does not exist. The pod is scheduled, the image is "
        "there, but nothing starts; the event names the missing object. `labkit k8s check --server` "
        "(policy rule secret-missing) catches it before apply.",
        "kubectl create secret generic {secret} -n {namespace} --from-literal=KEY=... "
        "(from memory or a secret store, never a file in git); the pod starts on kubelet's next try",
    ),
    "ErrImageNeverPull": (
        "imagePullPolicy is Never and the node's container engine has no image with that name and "
        "tag, so kubelet may not pull it and cannot start it. With IfNotPresent/Always it would try a "
        "registry: ErrImagePull, then ImagePullBackOff (ever longer waits) if the tag is not there.",
        "build or load the image for the node: `labkit k8s images --tag {image}` (embedded cluster: "
        "the shared Docker engine; kind: `kind load docker-image {image}`), or point the Deployment "
        "at a tag that exists: `kubectl set image deployment/NAME agent=<existing tag>`",
    ),
    "OOMKilled": (
        "The container's memory (its cgroup's memory.limit_in_bytes, set from limits.memory) ran "
        "out: the kernel's OOM killer ended the process (exit code 137 = SIGKILL), with no Python "
        "traceback and no last log line about it. kubelet restarts it (restartPolicy Always) and "
        "records the reason in status.containerStatuses[].lastState.terminated.",
        "raise limits.memory to what the app really needs (measure it), or make the app use less; "
        "`kubectl describe pod` (Last State: Terminated, Reason: OOMKilled) and "
        "`kubectl logs --previous` show the killed run",
    ),
}


def _meta(name: str, namespace: str) -> dict[str, Any]:
    return {
        "name": name,
        "namespace": namespace,
        "labels": {"app.kubernetes.io/name": name, "app.kubernetes.io/part-of": "labkit-failures"},
    }


def _container(image: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": "agent",
        "image": image,
        "imagePullPolicy": "Never",
        "resources": {
            "requests": {"cpu": "10m", "memory": "32Mi"},
            "limits": {"cpu": "200m", "memory": "128Mi"},
        },
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True},
        **extra,
    }


def _pod_spec(*containers: dict[str, Any], restart: str = "Always") -> dict[str, Any]:
    return {
        "automountServiceAccountToken": False,
        "restartPolicy": restart,
        "terminationGracePeriodSeconds": 2,
        "securityContext": {"runAsNonRoot": True, "runAsUser": 10001, "runAsGroup": 10001},
        "containers": list(containers),
    }


def missing_secret_deployment(
    image: str, *, secret: str = "reviewer-db-password", namespace: str = "labkit"
) -> dict[str, Any]:
    """A Deployment whose container needs ``secret`` (not optional), which nobody created."""
    env = [{"name": "DB_PASSWORD", "valueFrom": {"secretKeyRef": {"name": secret, "key": "password"}}}]
    meta = _meta("needs-secret", namespace)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta,
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app.kubernetes.io/name": "needs-secret"}},
            "template": {
                "metadata": {"labels": meta["labels"]},
                "spec": _pod_spec(
                    _container(image, env=env, command=["python3", "-c", "import time; time.sleep(3600)"])
                ),
            },
        },
    }


def missing_image_pod(image: str, *, namespace: str = "labkit") -> dict[str, Any]:
    """A Pod asking for ``image`` (not in the engine) with pull policy Never."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta("wrong-tag", namespace),
        "spec": _pod_spec(_container(image)),
    }


# Allocates 8 MiB at a time, printing its total, until the kernel ends it. Touching each page
# (bytearray zero-fills) makes the memory resident, so the cgroup limit is really reached.
_HOG = (
    "import sys\n"
    "held = []\n"
    "for i in range(1, 200):\n"
    "    held.append(bytearray(8 * 1024 * 1024))\n"
    "    print(f'allocated {8 * i} MiB', flush=True)\n"
    "print('never reached: the limit is below 1.5 GiB', flush=True)\n"
)


def oom_pod(image: str, *, limit: str = "64Mi", namespace: str = "labkit") -> dict[str, Any]:
    """A Pod whose only container allocates past ``limit`` (restartPolicy Always)."""
    container = _container(image, command=["python3", "-c", _HOG])
    container["resources"]["limits"]["memory"] = limit
    container["resources"]["requests"]["memory"] = limit
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": _meta("memory-hog", namespace),
        "spec": _pod_spec(container),
    }


def apply_objects(objs: list[dict[str, Any]], *, tgt: Target | None = None) -> list[str]:
    text = "\n---\n".join(json.dumps(o) for o in objs)
    return [line for line in kubectl("apply", "-f", "-", tgt=tgt, input=text).stdout.splitlines() if line]


def delete_all(namespace: str = "labkit", *, tgt: Target | None = None) -> None:
    kubectl(
        "delete",
        "deployment,pod",
        "-n",
        namespace,
        "-l",
        LABEL,
        "--ignore-not-found",
        "--wait=false",
        tgt=tgt,
    )


@dataclass
class PodState:
    pod: str
    reason: str  # the waiting reason, or the last termination's reason
    message: str
    restarts: int
    last_terminated: dict[str, Any]
    events: list[str]


def _state(pod: dict[str, Any], namespace: str, tgt: Target | None) -> PodState:
    name = pod["metadata"]["name"]
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    reason = message = ""
    restarts = 0
    last: dict[str, Any] = {}
    for s in statuses:
        restarts += int(s.get("restartCount", 0))
        waiting = (s.get("state") or {}).get("waiting") or {}
        terminated = (s.get("state") or {}).get("terminated") or {}
        last = (s.get("lastState") or {}).get("terminated") or terminated or last
        reason = waiting.get("reason") or terminated.get("reason") or reason
        message = waiting.get("message") or terminated.get("message") or message
    events = json.loads(
        kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            f"involvedObject.name={name}",
            "-o",
            "json",
            tgt=tgt,
        ).stdout
    )["items"]
    lines = [
        f"{e.get('type')} {e.get('reason')}: {(e.get('message') or '').strip()}"
        for e in events
        if e.get("reason") != "MissingClusterDNS"
    ]
    return PodState(name, reason, message, restarts, last, lines)


def wait_for_state(
    selector: str,
    reasons: tuple[str, ...],
    *,
    namespace: str = "labkit",
    timeout_s: float = 40.0,
    tgt: Target | None = None,
) -> PodState | None:
    """Poll the first pod matching ``selector`` until its container waits/terminated with one of
    ``reasons`` (or its last termination had one); None at the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        pods = get_json("pods", namespace=namespace, selector=selector, tgt=tgt)["items"]
        for pod in pods:
            state = _state(pod, namespace, tgt)
            if state.reason in reasons or state.last_terminated.get("reason") in reasons:
                return state
        time.sleep(1.0)
    return None


def wait_restarted(
    pod: str, *, namespace: str = "labkit", timeout_s: float = 30.0, tgt: Target | None = None
) -> int:
    """Poll until kubelet has restarted ``pod``'s container at least once; the restart count."""
    deadline = time.monotonic() + timeout_s
    restarts = 0
    while time.monotonic() < deadline:
        obj = get_json("pod", pod, namespace=namespace, tgt=tgt)
        restarts = sum(int(s.get("restartCount", 0)) for s in obj["status"].get("containerStatuses") or [])
        if restarts:
            break
        time.sleep(1.0)
    return restarts


def oom_evidence(pod: str, *, namespace: str = "labkit", tgt: Target | None = None) -> dict[str, Any]:
    """Where an OOM kill shows: restart count, lastState.terminated, events, the killed run's log."""
    obj = get_json("pod", pod, namespace=namespace, tgt=tgt)
    state = _state(obj, namespace, tgt)
    try:
        previous = logs(f"pod/{pod}", namespace=namespace, previous=True, tail=3, tgt=tgt)
    except Exception as exc:  # no previous run yet is an answer, not an error
        previous = f"(no previous run: {str(exc).splitlines()[-1]})"
    return {
        "restartCount": state.restarts,
        "lastState.terminated.reason": state.last_terminated.get("reason"),
        "lastState.terminated.exitCode": state.last_terminated.get("exitCode"),
        "events": state.events,
        "logs --previous (last lines)": previous.strip().splitlines(),
    }
