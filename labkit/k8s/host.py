"""The host changes a node makes, and undoing each of them.

kubelet and kube-proxy change kernel settings, iptables, mounts and cgroups of the whole
machine. ``snapshot`` records the settings before the first start; ``clean`` puts every one
back and removes what the cluster created, also after a crash (it reads the machine, not
the components' memory).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

from labkit.k8s.layout import NET, Layout, Net

__all__ = [
    "FORWARD_CHAIN",
    "clean",
    "ensure_bridge",
    "ensure_forward_rule",
    "leftover_chains",
    "mounts_under",
    "pod_containers",
    "snapshot",
]

# Settings kubelet (protectKernelDefaults off) and kube-proxy write; restored by `down`.
SYSCTLS = (
    "vm.overcommit_memory",
    "vm.panic_on_oom",
    "kernel.panic",
    "kernel.panic_on_oops",
    "kernel.keys.root_maxkeys",
    "kernel.keys.root_maxbytes",
    "net.ipv4.conf.all.route_localnet",
    "net.bridge.bridge-nf-call-iptables",
)
# Folders kubelet creates outside its --root-dir; removed by `down` only if `up` created them.
HOST_DIRS = ("/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/var/lib/dockershim")
FORWARD_CHAIN = "LABKIT-K8S-FORWARD"
_CHAIN_PREFIXES = ("KUBE-", "CNI-", FORWARD_CHAIN)
_TABLES = ("filter", "nat", "mangle")


def _run(*argv: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=check)


def _sysctl_path(name: str) -> Path:
    return Path("/proc/sys") / name.replace(".", "/")


def snapshot(layout: Layout) -> None:
    """Record the host's settings once, before the first component starts."""
    if layout.host_state.exists():
        return
    values = {}
    for name in SYSCTLS:
        try:
            values[name] = _sysctl_path(name).read_text().strip()
        except OSError:
            continue
    dirs = {d: Path(d).exists() for d in HOST_DIRS}
    layout.host_state.write_text(json.dumps({"sysctls": values, "dirs": dirs}, indent=2), "utf-8")


def ensure_bridge(net: Net = NET) -> None:
    """The pod bridge, created before kubelet so its address can be the node IP."""
    if _run("ip", "link", "show", net.bridge).returncode != 0:
        _run("ip", "link", "add", net.bridge, "type", "bridge", check=True)
    addrs = _run("ip", "-4", "addr", "show", "dev", net.bridge).stdout
    prefix = net.pod_cidr.split("/")[1]
    if f"{net.node_ip}/{prefix}" not in addrs:
        _run("ip", "addr", "add", f"{net.node_ip}/{prefix}", "dev", net.bridge, check=True)
    _run("ip", "link", "set", net.bridge, "up", check=True)


def ensure_forward_rule(net: Net = NET) -> None:
    """Let pods reach each other across the bridge; Docker's FORWARD policy is DROP.

    Only bridge-to-bridge traffic is accepted: nothing routes pod traffic off this machine.
    """
    if _run("iptables", "-t", "filter", "-S", FORWARD_CHAIN).returncode != 0:
        _run("iptables", "-t", "filter", "-N", FORWARD_CHAIN, check=True)
        _run(
            "iptables",
            "-t",
            "filter",
            "-A",
            FORWARD_CHAIN,
            "-i",
            net.bridge,
            "-o",
            net.bridge,
            "-j",
            "ACCEPT",
            check=True,
        )
    if _run("iptables", "-t", "filter", "-C", "FORWARD", "-j", FORWARD_CHAIN).returncode != 0:
        _run("iptables", "-t", "filter", "-I", "FORWARD", "1", "-j", FORWARD_CHAIN, check=True)


def pod_containers() -> list[str]:
    """Ids of every container dockershim created (its names start with k8s_)."""
    out = _run("docker", "ps", "-a", "--filter", "name=^k8s_", "--format", "{{.ID}}").stdout
    return [line for line in out.split() if line]


def mounts_under(root: Path) -> list[str]:
    prefix = str(root.resolve())
    found = []
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    for line in lines:
        point = line.split()[4].replace("\\040", " ")
        if point == prefix or point.startswith(prefix + "/"):
            found.append(point)
    return found


def leftover_chains() -> dict[str, list[str]]:
    """table -> the KUBE-/CNI-/labkit chains still present."""
    chains: dict[str, list[str]] = {}
    for table in _TABLES:
        out = _run("iptables", "-t", table, "-S").stdout
        names = [line.split()[1] for line in out.splitlines() if line.startswith("-N ")]
        ours = [n for n in names if n.startswith(_CHAIN_PREFIXES)]
        if ours:
            chains[table] = ours
    return chains


def _remove_chains() -> None:
    for table in _TABLES:
        out = _run("iptables", "-t", table, "-S").stdout
        # First the jumps into our chains from chains that stay (built-ins, Docker's).
        for line in out.splitlines():
            if not line.startswith("-A "):
                continue
            parts = line.split()
            chain = parts[1]
            target = parts[parts.index("-j") + 1] if "-j" in parts else ""
            if not chain.startswith(_CHAIN_PREFIXES) and target.startswith(_CHAIN_PREFIXES):
                _run("iptables", "-t", table, "-D", *parts[1:])
        for chain in leftover_chains().get(table, []):
            _run("iptables", "-t", table, "-F", chain)
        for chain in leftover_chains().get(table, []):
            _run("iptables", "-t", table, "-X", chain)


def _unmount(root: Path) -> None:
    # Deepest first, so a tmpfs under a pod's volume folder goes before the folder's own mount.
    for point in sorted(mounts_under(root), key=len, reverse=True):
        if _run("umount", point).returncode != 0:
            _run("umount", "-l", point)


def _remove_cgroups() -> None:
    base = Path("/sys/fs/cgroup")
    if not base.is_dir():
        return
    for controller in base.iterdir():
        for top in (controller / "kubepods", controller / "kubepods.slice"):
            if not top.is_dir():
                continue
            for folder in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
            ):
                with contextlib.suppress(OSError):  # still in use: leave it rather than fail down
                    folder.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()


def _restore(layout: Layout) -> None:
    try:
        state = json.loads(layout.host_state.read_text())
    except (OSError, ValueError):
        return
    for name, value in state.get("sysctls", {}).items():
        path = _sysctl_path(name)
        try:
            if path.read_text().strip() != value:
                path.write_text(value + "\n")
        except OSError:
            pass
    for folder, existed in state.get("dirs", {}).items():
        if not existed and Path(folder).exists():
            shutil.rmtree(folder, ignore_errors=True)
    layout.host_state.unlink(missing_ok=True)


def clean(layout: Layout, net: Net = NET) -> list[str]:
    """Remove everything a (stopped or crashed) node left on the machine; return what was done."""
    done: list[str] = []
    ids = pod_containers()
    if ids:
        _run("docker", "rm", "-f", "-v", *ids)
        done.append(f"removed {len(ids)} pod containers")
    mounts = mounts_under(layout.kubelet_root)
    if mounts:
        _unmount(layout.kubelet_root)
        done.append(f"unmounted {len(mounts)} kubelet mounts")
    if _run("ip", "link", "show", net.bridge).returncode == 0:
        _run("ip", "link", "delete", net.bridge)
        done.append(f"deleted bridge {net.bridge}")
    chains = leftover_chains()
    if chains:
        _remove_chains()
        done.append(f"removed {sum(len(c) for c in chains.values())} iptables chains")
    _remove_cgroups()
    # Pod IP leases of the host-local IPAM: the pods they belonged to are gone.
    shutil.rmtree(layout.cni_state, ignore_errors=True)
    if layout.host_state.exists():
        _restore(layout)
        done.append("restored host sysctls")
    return done
