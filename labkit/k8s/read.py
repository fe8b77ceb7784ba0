"""Reading cluster state back: tables (pandas), events, logs, exec, and port-forwarding."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import select
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pandas as pd

from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import Target, kubectl, kubectl_path, target

__all__ = ["describe", "events", "exec_in", "get", "get_json", "logs", "port_forward"]


def _ns(namespace: str | None) -> list[str]:
    return ["-n", namespace] if namespace else []


def get_json(
    kind: str,
    name: str | None = None,
    *,
    namespace: str | None = "default",
    selector: str | None = None,
    tgt: Target | None = None,
) -> dict[str, Any]:
    args = ["get", kind, *([name] if name else []), *_ns(namespace), "-o", "json"]
    if selector:
        args += ["-l", selector]
    return json.loads(kubectl(*args, tgt=tgt).stdout)


def _age(stamp: str | None) -> str:
    if not stamp:
        return ""
    then = dt.datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    seconds = int((dt.datetime.now(dt.UTC) - then).total_seconds())
    return f"{seconds}s" if seconds < 120 else f"{seconds // 60}m"


def _pod_row(pod: dict[str, Any]) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    reason = ""
    for s in statuses:
        waiting = (s.get("state") or {}).get("waiting")
        if waiting:
            reason = waiting.get("reason", "")
    return {
        "name": pod["metadata"]["name"],
        "ready": f"{sum(1 for s in statuses if s.get('ready'))}/{len(pod['spec'].get('containers', []))}",
        # As kubectl shows it: a pod being deleted is Terminating whatever its phase.
        "status": "Terminating"
        if pod["metadata"].get("deletionTimestamp")
        else reason or (pod.get("status") or {}).get("phase", ""),
        "restarts": sum(int(s.get("restartCount", 0)) for s in statuses),
        "ip": (pod.get("status") or {}).get("podIP", ""),
        "node": pod["spec"].get("nodeName", ""),
        "age": _age(pod["metadata"].get("creationTimestamp")),
    }


def _row(kind: str, item: dict[str, Any]) -> dict[str, Any]:
    meta, spec, status = item.get("metadata", {}), item.get("spec", {}), item.get("status", {}) or {}
    k = item.get("kind", kind)
    if k == "Pod":
        return _pod_row(item)
    if k in ("Deployment", "StatefulSet", "ReplicaSet"):
        return {
            "name": meta["name"],
            "ready": f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 0)}",
            "up_to_date": status.get("updatedReplicas", 0),
            "available": status.get("availableReplicas", 0),
            "age": _age(meta.get("creationTimestamp")),
        }
    if k == "Service":
        ports = ",".join(f"{p.get('port')}/{p.get('protocol', 'TCP')}" for p in spec.get("ports", []))
        return {
            "name": meta["name"],
            "type": spec.get("type"),
            "cluster_ip": spec.get("clusterIP"),
            "ports": ports,
            "selector": json.dumps(spec.get("selector") or {}),
            "age": _age(meta.get("creationTimestamp")),
        }
    if k == "Node":
        ready = next((c["status"] for c in status.get("conditions", []) if c["type"] == "Ready"), "Unknown")
        return {
            "name": meta["name"],
            "status": "Ready" if ready == "True" else "NotReady",
            "version": (status.get("nodeInfo") or {}).get("kubeletVersion", ""),
            "internal_ip": next(
                (a["address"] for a in status.get("addresses", []) if a["type"] == "InternalIP"), ""
            ),
            "runtime": (status.get("nodeInfo") or {}).get("containerRuntimeVersion", ""),
        }
    if k == "Endpoints":
        addrs = [
            f"{a['ip']}:{p['port']}"
            for s in item.get("subsets") or []
            for a in s.get("addresses") or []
            for p in s.get("ports") or []
        ]
        return {"name": meta["name"], "endpoints": ",".join(addrs)}
    return {
        "name": meta.get("name"),
        "namespace": meta.get("namespace", ""),
        "age": _age(meta.get("creationTimestamp")),
    }


def get(
    kind: str,
    name: str | None = None,
    *,
    namespace: str | None = "default",
    selector: str | None = None,
    tgt: Target | None = None,
) -> pd.DataFrame:
    """``kubectl get`` as a DataFrame with the columns kubectl shows for the common kinds."""
    data = get_json(kind, name, namespace=namespace, selector=selector, tgt=tgt)
    items = data.get("items", [data] if "metadata" in data else [])
    return pd.DataFrame([_row(kind, item) for item in items])


def _flatten(prefix: str, node: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            _flatten(f"{prefix}.{key}" if prefix else key, value, out)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _flatten(f"{prefix}[{i}]", value, out)
    else:
        out.append((prefix, str(node)))


def describe(
    kind: str,
    name: str,
    *,
    namespace: str | None = "default",
    tgt: Target | None = None,
    fields: str = r"^(metadata\.(name|labels)|spec\.(containers|replicas|selector)|status)",
) -> pd.DataFrame:
    """The object's fields (path, value) matching ``fields``, and its events, as one table."""
    obj = get_json(kind, name, namespace=namespace, tgt=tgt)
    rows: list[tuple[str, str]] = []
    _flatten("", obj, rows)
    pattern = re.compile(fields)
    frame = pd.DataFrame([r for r in rows if pattern.search(r[0])], columns=["field", "value"])
    ev = events(namespace, involved=name, tgt=tgt)
    if not ev.empty:
        extra = pd.DataFrame({"field": "event." + ev["reason"], "value": ev["message"]})
        frame = pd.concat([frame, extra], ignore_index=True)
    return frame


def events(
    namespace: str | None = "default", *, involved: str | None = None, tgt: Target | None = None
) -> pd.DataFrame:
    """Events, oldest first (``kubectl get events``); ``involved`` keeps objects whose name starts with it."""
    data = json.loads(kubectl("get", "events", *(_ns(namespace) or ["-A"]), "-o", "json", tgt=tgt).stdout)
    rows = []
    for ev in data.get("items", []):
        obj = ev.get("involvedObject") or {}
        if involved and not str(obj.get("name", "")).startswith(involved):
            continue
        rows.append(
            {
                "last_seen": ev.get("lastTimestamp") or ev.get("eventTime") or "",
                "type": ev.get("type", ""),
                "reason": ev.get("reason", ""),
                "object": f"{str(obj.get('kind', '')).lower()}/{obj.get('name', '')}",
                "count": ev.get("count", 1),
                "message": (ev.get("message") or "").strip(),
            }
        )
    frame = pd.DataFrame(rows, columns=["last_seen", "type", "reason", "object", "count", "message"])
    return frame.sort_values("last_seen", kind="stable").reset_index(drop=True)


def logs(
    resource: str,
    *,
    namespace: str | None = "default",
    container: str | None = None,
    previous: bool = False,
    tail: int | None = 200,
    tgt: Target | None = None,
) -> str:
    args = ["logs", resource, *_ns(namespace)]
    if container:
        args += ["-c", container]
    if previous:
        args.append("--previous")
    if tail is not None:
        args.append(f"--tail={tail}")
    return kubectl(*args, tgt=tgt).stdout


def exec_in(
    resource: str,
    command: list[str],
    *,
    namespace: str | None = "default",
    container: str | None = None,
    tgt: Target | None = None,
) -> str:
    """``kubectl exec RESOURCE -- COMMAND``; returns stdout (raises KubectlError on a non-zero exit)."""
    args = ["exec", resource, *_ns(namespace)]
    if container:
        args += ["-c", container]
    return kubectl(*args, "--", *command, tgt=tgt).stdout


_FORWARDING = re.compile(r"Forwarding from 127\.0\.0\.1:(\d+)")


@contextlib.contextmanager
def port_forward(
    resource: str,
    remote_port: int,
    *,
    namespace: str | None = "default",
    local_port: int = 0,
    tgt: Target | None = None,
    timeout_s: float = 20.0,
) -> Iterator[str]:
    """``kubectl port-forward`` on 127.0.0.1 for the block; yields ``http://127.0.0.1:PORT``."""
    tgt = tgt or target()
    argv = [
        str(kubectl_path()),
        *(["--context", tgt.context] if tgt.context else []),
        "port-forward",
        resource,
        f"{local_port or ''}:{remote_port}",
        "--address",
        "127.0.0.1",
        *_ns(namespace),
    ]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=tgt.env)
    try:
        deadline = time.monotonic() + timeout_s
        assert proc.stdout is not None
        port = None
        while time.monotonic() < deadline:
            # select first: a kubectl that prints nothing must not block us past the deadline
            ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            line = proc.stdout.readline()
            if not line:
                break
            match = _FORWARDING.search(line)
            if match:
                port = int(match.group(1))
                break
        if port is None:
            proc.kill()
            err = proc.stderr.read() if proc.stderr else ""
            raise K8sError(f"kubectl port-forward {resource} did not start: {err.strip()}")
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
