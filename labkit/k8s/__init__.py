"""The Kubernetes stage: an embedded single-node cluster, manifests, validation, policy, apply, read.

- ``labkit.k8s.cluster``: ``up`` / ``status`` / ``down`` of the embedded cluster
- ``labkit.k8s.kubectl``: which cluster (``k8s_context`` = live) and the real kubectl
- ``labkit.k8s.render`` / ``validate`` / ``policy`` / ``check``: manifests before they are applied
- ``labkit.k8s.apply``: apply and wait for rollouts (events when stuck); ``labkit.k8s.read``: state back
- ``labkit.k8s.telemetry``: where pods send OTLP (``pod_otlp_endpoint``), their downward-API identity
- ``labkit.k8s.logship``: kubelet's pod log files -> Loki, exactly once (``LogShipper``)
- ``labkit.k8s.alloycfg``: the structural check of Alloy configs (``k8s/alloy``)
"""

from __future__ import annotations

from labkit.k8s.check import check_paths
from labkit.k8s.errors import ClusterError, K8sError, ManifestError, NotSupportedHere, RolloutTimeout
from labkit.k8s.findings import Finding
from labkit.k8s.kubectl import KubectlError, Target, kubectl, target
from labkit.k8s.render import render

__all__ = [
    "ClusterError",
    "Finding",
    "K8sError",
    "KubectlError",
    "ManifestError",
    "NotSupportedHere",
    "RolloutTimeout",
    "Target",
    "check_paths",
    "kubectl",
    "render",
    "target",
]
