"""What the embedded cluster needs from this machine, and exactly what is missing.

Checked before anything starts, so a laptop without Linux, root or Docker gets one message
listing every gap and the live path, instead of a half-started cluster.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from labkit.k8s.errors import NotSupportedHere

__all__ = ["CNI_BIN_DIR", "has_cap_sys_resource", "missing_requirements", "require"]

CNI_BIN_DIR = Path("/usr/lib/cni")
# program -> the Debian package that provides it
_TOOLS = {
    "etcd": "etcd-server",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "ipset": "ipset",
    "socat": "socat",
    "ip": "iproute2",
}
_CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")


def has_cap_sys_resource() -> bool:
    """Read CapEff: lowering an OOM score (kubelet's sandboxes do) needs CAP_SYS_RESOURCE (bit 24)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("CapEff:"):
                return bool((int(line.split()[1], 16) >> 24) & 1)
    except OSError:
        pass
    return False


def _docker_problem() -> str | None:
    try:
        import docker

        client = docker.from_env(timeout=5)
        info = client.info()
    except Exception as exc:
        return (
            f"no Docker engine answers ({type(exc).__name__}): start dockerd "
            "(`bash .ci/docker.sh` installs and starts one)"
        )
    if not has_cap_sys_resource() and info.get("DefaultRuntime") != "labkit-runc":
        return (
            "root lacks CAP_SYS_RESOURCE here and dockerd's default runtime does not clamp oom_score_adj, "
            "so every pod sandbox would fail in runc: run `bash .ci/docker.sh` (it registers the "
            "labkit-runc wrapper and reloads dockerd)"
        )
    return None


def missing_requirements(*, binaries_built: bool) -> list[str]:
    """Every reason the embedded cluster cannot start here (empty when it can)."""
    if not sys.platform.startswith("linux"):
        return [f"not Linux (this is {sys.platform}): kubelet and its CNI bridge need a Linux host"]
    missing: list[str] = []
    if os.geteuid() != 0:
        missing.append("not root: kubelet, kube-proxy and the CNI bridge change network and cgroup settings")
    packages = sorted({pkg for tool, pkg in _TOOLS.items() if shutil.which(tool) is None})
    absent_cni = [p for p in _CNI_PLUGINS if not (CNI_BIN_DIR / p).exists()]
    if absent_cni:
        packages.append("containernetworking-plugins")
    if packages:
        missing.append(f"system packages: apt-get install {' '.join(packages)}")
    if not binaries_built and (shutil.which("apt-get") is None or shutil.which("dpkg-source") is None):
        missing.append(
            "no apt source package: the binaries are built from Debian bookworm's `kubernetes` source "
            "package, which needs apt-get and dpkg-source (package dpkg-dev)"
        )
    docker_problem = _docker_problem()
    if docker_problem:
        missing.append(docker_problem)
    return missing


def require(*, binaries_built: bool) -> None:
    missing = missing_requirements(binaries_built=binaries_built)
    if missing:
        raise NotSupportedHere(missing)
