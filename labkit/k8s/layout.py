"""Where the embedded cluster keeps things, its fixed addresses, and the pinned versions.

One cluster per machine: the bridge, the iptables chains and kubelet's ports are global,
so the addresses are constants (all loopback, or the bridge the cluster creates).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "COMPONENTS",
    "K8S_VERSION",
    "NET",
    "Layout",
    "Net",
    "binary_cache",
]

K8S_VERSION = "v1.20.2"
# Debian bookworm's source package of that release (the full upstream tree with vendor/).
DEB_SOURCE_VERSION = "1.20.5+really1.20.2-1.1+deb12u1"
PAUSE_IMAGE = "k8s.gcr.io/pause:3.2"  # kubelet looks for it locally before any pull
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy")
BUILT = ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy", "pause")


@dataclass(frozen=True)
class Net:
    bridge: str = "cni0"
    node_ip: str = "10.244.0.1"  # kubelet rejects a loopback node IP: the bridge's own address
    pod_cidr: str = "10.244.0.0/24"
    service_cidr: str = "10.96.0.0/16"
    service_ip: str = "10.96.0.1"  # first address of the range: the `kubernetes` Service
    etcd_port: int = 12379
    etcd_peer_port: int = 12380
    apiserver_port: int = 6443
    controller_manager_port: int = 10257
    scheduler_port: int = 10259
    kubelet_port: int = 10250
    kubelet_healthz_port: int = 10248
    proxy_healthz_port: int = 10256
    proxy_metrics_port: int = 10249

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.apiserver_port}"


NET = Net()


def binary_cache(version: str = K8S_VERSION) -> Path:
    """Built binaries live outside the project, keyed by version (they are ~380 MB)."""
    base = os.environ.get("LABKIT_K8S_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "labkit", "k8s"
    )
    return Path(base) / version


def _current_file() -> Path:
    return binary_cache().parent / "current-cluster"


@dataclass(frozen=True)
class Layout:
    """Every file of one embedded cluster under ``<data_dir>/k8s``."""

    root: Path

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> Layout:
        return cls(Path(data_dir).resolve() / "k8s")

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_state(self) -> Path:
        return self.root / "cni" / "state"

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def host_state(self) -> Path:
        return self.run / "host-state.json"

    def kubeconfig(self, who: str) -> Path:
        return self.config / f"{who}.kubeconfig"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"

    def pid(self, component: str) -> Path:
        return self.run / f"{component}.pid"

    @classmethod
    def current(cls) -> Layout | None:
        """The machine's running embedded cluster, wherever its data dir is (there is one per machine).

        A notebook kernel may run with another data dir (tests give each run its own LGTM store);
        it still finds the one cluster through this pointer, written by ``up``.
        """
        try:
            return cls(Path(_current_file().read_text(encoding="utf-8").strip()))
        except OSError:
            return None

    def mark_current(self) -> None:
        _current_file().parent.mkdir(parents=True, exist_ok=True)
        _current_file().write_text(str(self.root) + "\n", encoding="utf-8")

    def ensure(self) -> None:
        for folder in (
            self.root,
            self.logs,
            self.run,
            self.etcd_data,
            self.kubelet_root,
            self.cni_conf_dir,
            self.cni_state,
            self.config,
        ):
            folder.mkdir(parents=True, exist_ok=True)
        self.etcd_data.chmod(0o700)
