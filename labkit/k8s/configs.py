"""The files the components read: kubeconfigs, kubelet/kube-proxy configuration, the CNI list.

Written on every ``up`` (cheap, and a changed data dir or address takes effect) as YAML/JSON
that kubelet and kube-proxy parse strictly.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from labkit.k8s.layout import NET, Layout, Net
from labkit.k8s.pki import Pki

__all__ = ["write_configs", "write_kubeconfig"]

# kubeconfig file stem -> certificate stem in the PKI
KUBECONFIGS = {
    "admin": "admin",
    "controller-manager": "controller-manager",
    "scheduler": "scheduler",
    "node": "node",
    "proxy": "proxy",
}


def write_kubeconfig(path: Path, pki: Pki, who: str, server: str, context: str = "labkit") -> None:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority": str(pki.ca)}}],
        "users": [
            {"name": who, "user": {"client-certificate": str(pki.cert(who)), "client-key": str(pki.key(who))}}
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": who, "namespace": "default"}}],
        "current-context": context,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    path.chmod(0o600)


def _kubelet_config(layout: Layout, pki: Pki, net: Net) -> dict[str, object]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": net.node_ip,
        "port": net.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": net.kubelet_healthz_port,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(pki.ca)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(pki.cert("kubelet")),
        "tlsPrivateKeyFile": str(pki.key("kubelet")),
        "cgroupDriver": "cgroupfs",  # what the shared Docker engine uses
        "failSwapOn": False,
        "clusterDomain": "cluster.local",
        "hairpinMode": "hairpin-veth",
        "maxPods": 40,
        # The Docker engine is shared with other work: kubelet must never garbage-collect
        # images it did not create, and a busy disk must not evict the lab's pods.
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "serializeImagePulls": False,
        "fileCheckFrequency": "5s",
        "syncFrequency": "10s",
        "nodeStatusUpdateFrequency": "4s",
    }


def _proxy_config(layout: Layout, net: Net) -> dict[str, object]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("proxy"))},
        "mode": "iptables",
        "bindAddress": net.node_ip,
        "clusterCIDR": net.pod_cidr,
        "hostnameOverride": "node-1",
        "healthzBindAddress": f"127.0.0.1:{net.proxy_healthz_port}",
        "metricsBindAddress": f"127.0.0.1:{net.proxy_metrics_port}",
        # 0 = leave the host's conntrack sysctls alone (kube-proxy would raise them otherwise).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def _cni_conflist(layout: Layout, net: Net) -> dict[str, object]:
    return {
        "cniVersion": "0.4.0",
        "name": "labkit",
        "plugins": [
            {
                "type": "bridge",
                "bridge": net.bridge,
                "isGateway": True,
                # No masquerade: pod traffic stays on this machine (pods, node, Services).
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": net.pod_cidr, "gateway": net.node_ip}]],
                    # Only the Service range goes via the node (kube-proxy's DNAT): pods reach
                    # ClusterIPs (one agent calling another), and still no outside address.
                    "routes": [{"dst": net.service_cidr}],
                    "dataDir": str(layout.cni_state),
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def write_configs(layout: Layout, pki: Pki, net: Net = NET) -> None:
    for name, who in KUBECONFIGS.items():
        target = layout.admin_kubeconfig if name == "admin" else layout.kubeconfig(name)
        write_kubeconfig(target, pki, who, net.server)
    (layout.config / "kubelet.yaml").write_text(yaml.safe_dump(_kubelet_config(layout, pki, net)), "utf-8")
    (layout.config / "kube-proxy.yaml").write_text(yaml.safe_dump(_proxy_config(layout, net)), "utf-8")
    conflist = layout.cni_conf_dir / "10-labkit.conflist"
    conflist.write_text(json.dumps(_cni_conflist(layout, net), indent=2), "utf-8")
