"""Where pods send their telemetry, and the environment that gives them their identity.

Embedded path: a pod cannot reach 127.0.0.1 on the host, and binding the embedded LGTM
server to 0.0.0.0 would expose it to every network. The cluster's pod bridge (``cni0``, the
pods' default gateway) is reachable from every pod and from this host only, so with
``listen_pod_network`` the server also binds that one address (the rule Code Critic's
containers follow with ``listen_docker_bridge`` and ``docker0``).

Live path (``k8s_context`` set): pods send OTLP to the Alloy DaemonSet of ``k8s/alloy``
through its Service, and Alloy forwards to Loki, Tempo and Mimir.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from labkit.config import Settings, load_settings
from labkit.k8s.errors import K8sError
from labkit.k8s.layout import NET, Net

__all__ = [
    "ALLOY_OTLP_HTTP",
    "RESOURCE_ATTRIBUTES",
    "PodNetworkError",
    "pod_bridge_address",
    "pod_otel_env",
    "pod_otlp_endpoint",
]

# The Service of k8s/alloy (namespace labkit-monitoring), OTLP/HTTP port.
ALLOY_OTLP_HTTP = "http://alloy.labkit-monitoring.svc.cluster.local:4318"
# Resource attributes every pod sets through the downward API (docs/kubernetes-telemetry.md).
RESOURCE_ATTRIBUTES = ("k8s.namespace.name", "k8s.pod.name", "k8s.node.name", "k8s.deployment.name")


class PodNetworkError(K8sError):
    """Pods cannot reach the embedded server: no pod bridge, or the server does not listen on it."""


def _interface_address(interface: str) -> str | None:
    # The same concrete-address check as the Docker bridge (never the wildcard, never public).
    from labkit.lgtm.server import docker_bridge_address

    return docker_bridge_address(interface)


def pod_bridge_address(net: Net = NET) -> str:
    """The IPv4 address of the embedded cluster's pod bridge gateway (``cni0``, 10.244.0.1).

    Raises :class:`PodNetworkError` when the bridge is missing (the cluster is not up) or its
    address lies outside the pod CIDR labkit configures (another tool's bridge of that name).
    """
    address = _interface_address(net.bridge)
    if address is None:
        raise PodNetworkError(
            f"the pod network bridge {net.bridge} has no address on this machine, so pods cannot reach "
            "the embedded LGTM server: start the embedded cluster first (`labkit k8s up`), then the server "
            "(`labkit stack up` with LABKIT_LISTEN_POD_NETWORK=true). On a live cluster "
            "(LABKIT_K8S_CONTEXT set) pods send to Alloy instead (k8s/alloy)."
        )
    if ipaddress.IPv4Address(address) not in ipaddress.IPv4Network(net.pod_cidr):
        raise PodNetworkError(
            f"the bridge {net.bridge} has address {address}, outside the embedded cluster's pod CIDR "
            f"{net.pod_cidr}: it belongs to another tool; stop it or use a live cluster"
        )
    return address


def pod_otlp_endpoint(settings: Settings | None = None) -> str:
    """The OTLP/HTTP base URL pods use (``OTEL_EXPORTER_OTLP_ENDPOINT``).

    Embedded cluster: ``http://<cni0 address>:<port of otlp_http_endpoint>``, which requires the
    server to run with ``listen_pod_network`` (raises :class:`PodNetworkError` naming the fix
    otherwise). Live cluster: the Alloy Service of ``k8s/alloy``.
    """
    settings = settings or load_settings()
    if settings.k8s_context:
        return ALLOY_OTLP_HTTP
    if not settings.listen_pod_network:
        raise PodNetworkError(
            "the embedded LGTM server only listens on the pod network with listen_pod_network on: "
            "set LABKIT_LISTEN_POD_NETWORK=true (or listen_pod_network = true in labkit.toml) and "
            "restart it (`labkit stack down && labkit stack up`)"
        )
    parts = urlsplit(settings.otlp_http_endpoint)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"http://{pod_bridge_address()}:{port}"


def pod_otel_env(deployment: str, endpoint: str, service_name: str | None = None) -> list[dict[str, object]]:
    """A container's ``env`` entries: OTLP endpoint and the pod's identity from the downward API.

    ``k8s.deployment.name`` has no downward-API field, so it is the given name. Kubernetes
    expands ``$(VAR)`` only for variables defined earlier in the list, hence the order.
    """

    def field(name: str, path: str) -> dict[str, object]:
        return {"name": name, "valueFrom": {"fieldRef": {"fieldPath": path}}}

    attributes = ",".join(
        [
            "k8s.namespace.name=$(K8S_NAMESPACE_NAME)",
            "k8s.pod.name=$(K8S_POD_NAME)",
            "k8s.node.name=$(K8S_NODE_NAME)",
            f"k8s.deployment.name={deployment}",
            # One instance per pod, so `on(job, instance)` joins with target_info stay one-to-one.
            "service.instance.id=$(K8S_NAMESPACE_NAME).$(K8S_POD_NAME)",
        ]
    )
    return [
        field("K8S_NAMESPACE_NAME", "metadata.namespace"),
        field("K8S_POD_NAME", "metadata.name"),
        field("K8S_NODE_NAME", "spec.nodeName"),
        {"name": "OTEL_SERVICE_NAME", "value": service_name or deployment},
        {"name": "OTEL_RESOURCE_ATTRIBUTES", "value": attributes},
        {"name": "OTEL_EXPORTER_OTLP_ENDPOINT", "value": endpoint},
        {"name": "OTEL_EXPORTER_OTLP_PROTOCOL", "value": "http/protobuf"},
    ]
