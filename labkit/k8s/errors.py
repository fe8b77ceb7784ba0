"""Errors of the Kubernetes stage, each carrying a message a learner can act on."""

from __future__ import annotations

__all__ = ["ClusterError", "K8sError", "ManifestError", "NotSupportedHere", "RolloutTimeout"]

LIVE_PATH = (
    "Use a cluster you already have instead (the live path): kind (`kind create cluster`), minikube, "
    "Docker Desktop or a cloud cluster, then point labkit at its kubeconfig context with "
    '`LABKIT_K8S_CONTEXT=<context>` (or `k8s_context = "..."` in labkit.toml).'
)


class K8sError(RuntimeError):
    """Base class: something in the Kubernetes stage failed; the message says what and why."""


class NotSupportedHere(K8sError):
    """The embedded cluster cannot run on this machine; the message lists what is missing."""

    def __init__(self, missing: list[str]) -> None:
        self.missing = missing
        lines = "\n".join(f"  - {item}" for item in missing)
        super().__init__(f"the embedded Kubernetes cluster cannot run here:\n{lines}\n{LIVE_PATH}")


class ClusterError(K8sError):
    """A component did not start or become healthy; the message carries its log's tail."""


class ManifestError(K8sError):
    """A manifest could not be read: bad YAML (file, line, column), or not a Kubernetes object."""


class RolloutTimeout(K8sError):
    """A rollout did not become ready in time; ``events`` explain why."""

    def __init__(self, message: str, events: list[str]) -> None:
        self.events = events
        super().__init__(message + ("\nevents:\n" + "\n".join(f"  {e}" for e in events) if events else ""))
