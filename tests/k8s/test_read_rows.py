"""``labkit.k8s.read`` turns API objects into the rows kubectl shows; no cluster needed."""

from __future__ import annotations

from typing import Any

from labkit.k8s.read import _row


def _pod(*, ready: bool, deleting: bool = False, waiting: str | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "web-1", "creationTimestamp": "2026-01-01T00:00:00Z"}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:01:00Z"
    state = {"waiting": {"reason": waiting}} if waiting else {"running": {}}
    return {
        "kind": "Pod",
        "metadata": meta,
        "spec": {"containers": [{"name": "app"}], "nodeName": "n1"},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"ready": ready, "restartCount": 2, "state": state}],
        },
    }


def test_a_pod_being_deleted_is_terminating_whatever_its_phase() -> None:
    assert _row("pods", _pod(ready=False, deleting=True))["status"] == "Terminating"
    assert _row("pods", _pod(ready=True))["status"] == "Running"


def test_a_waiting_reason_is_the_status_and_ready_counts_containers() -> None:
    row = _row("pods", _pod(ready=False, waiting="CrashLoopBackOff"))
    assert (row["status"], row["ready"], row["restarts"]) == ("CrashLoopBackOff", "0/1", 2)
