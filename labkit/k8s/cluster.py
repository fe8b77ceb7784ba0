"""``labkit k8s up|status|down``: a real single-node Kubernetes cluster on this machine.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubelet (dockershim, driving
the local Docker engine) and kube-proxy (iptables), started in that order, each only after
the one before it answers its health check. The control plane listens on 127.0.0.1; the
node uses the CNI bridge it creates (10.244.0.1). State, logs and pid files live under
``<data_dir>/k8s``; the binaries under the version-keyed cache (see ``labkit.k8s.build``).
"""

from __future__ import annotations

import io
import ssl
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from labkit.k8s import host, procs
from labkit.k8s.build import binaries_built, binary, ensure_binaries
from labkit.k8s.configs import write_configs
from labkit.k8s.errors import ClusterError
from labkit.k8s.layout import COMPONENTS, K8S_VERSION, NET, PAUSE_IMAGE, Layout, Net
from labkit.k8s.pki import Pki, ensure_pki
from labkit.k8s.prereq import CNI_BIN_DIR, require

__all__ = ["ClusterStatus", "ComponentStatus", "current_data_dir", "down", "env_lines", "status", "up"]

Say = Callable[[str], None]


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    pid: int | None
    healthy: bool
    detail: str


@dataclass
class ClusterStatus:
    components: list[ComponentStatus]
    node_ready: bool
    kubeconfig: Path
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return all(c.pid is not None and c.healthy for c in self.components) and self.node_ready


def _program(component: str) -> str:
    return component


def _argv(component: str, layout: Layout, pki: Pki, net: Net) -> list[str]:
    cfg = layout.config
    if component == "etcd":
        return [
            "etcd",
            "--name",
            "labkit",
            "--data-dir",
            str(layout.etcd_data),
            "--listen-client-urls",
            f"https://127.0.0.1:{net.etcd_port}",
            "--advertise-client-urls",
            f"https://127.0.0.1:{net.etcd_port}",
            "--listen-peer-urls",
            f"http://127.0.0.1:{net.etcd_peer_port}",
            "--initial-advertise-peer-urls",
            f"http://127.0.0.1:{net.etcd_peer_port}",
            "--initial-cluster",
            f"labkit=http://127.0.0.1:{net.etcd_peer_port}",
            "--cert-file",
            str(pki.cert("etcd")),
            "--key-file",
            str(pki.key("etcd")),
            "--client-cert-auth",
            "--trusted-ca-file",
            str(pki.ca),
            "--quota-backend-bytes",
            str(512 * 1024 * 1024),
            "--snapshot-count",
            "5000",
            "--log-level",
            "warn",
            "--logger",
            "zap",
        ]
    if component == "kube-apiserver":
        return [
            str(binary("kube-apiserver")),
            "--etcd-servers",
            f"https://127.0.0.1:{net.etcd_port}",
            "--etcd-cafile",
            str(pki.ca),
            "--etcd-certfile",
            str(pki.cert("apiserver-etcd-client")),
            "--etcd-keyfile",
            str(pki.key("apiserver-etcd-client")),
            "--bind-address",
            "127.0.0.1",
            "--advertise-address",
            "127.0.0.1",
            "--secure-port",
            str(net.apiserver_port),
            "--insecure-port",
            "0",
            "--service-cluster-ip-range",
            net.service_cidr,
            "--authorization-mode",
            "Node,RBAC",
            "--client-ca-file",
            str(pki.ca),
            "--tls-cert-file",
            str(pki.cert("apiserver")),
            "--tls-private-key-file",
            str(pki.key("apiserver")),
            "--kubelet-client-certificate",
            str(pki.cert("apiserver-kubelet-client")),
            "--kubelet-client-key",
            str(pki.key("apiserver-kubelet-client")),
            "--kubelet-certificate-authority",
            str(pki.ca),
            "--kubelet-preferred-address-types",
            "InternalIP",
            "--service-account-key-file",
            str(pki.sa_pub),
            "--service-account-signing-key-file",
            str(pki.sa_key),
            "--service-account-issuer",
            "https://kubernetes.default.svc.cluster.local",
            "--enable-admission-plugins",
            "NodeRestriction",
            "--allow-privileged=true",
            # Endpoints reject loopback addresses; nothing needs the `kubernetes` Service's endpoints.
            "--endpoint-reconciler-type",
            "none",
            "--profiling=false",
            "--anonymous-auth=false",
            "--cert-dir",
            str(cfg / "apiserver-certs"),
        ]
    if component == "kube-controller-manager":
        kc = str(layout.kubeconfig("controller-manager"))
        return [
            str(binary("kube-controller-manager")),
            "--kubeconfig",
            kc,
            "--authentication-kubeconfig",
            kc,
            "--authorization-kubeconfig",
            kc,
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            str(net.controller_manager_port),
            "--port",
            "0",
            "--cert-dir",
            str(cfg / "controller-manager-certs"),
            "--service-account-private-key-file",
            str(pki.sa_key),
            "--root-ca-file",
            str(pki.ca),
            "--use-service-account-credentials=true",
            "--cluster-signing-cert-file",
            str(pki.ca),
            "--cluster-signing-key-file",
            str(pki.key("ca")),
            "--service-cluster-ip-range",
            net.service_cidr,
            "--leader-elect=false",
            "--profiling=false",
            "--node-monitor-period",
            "2s",
        ]
    if component == "kube-scheduler":
        kc = str(layout.kubeconfig("scheduler"))
        return [
            str(binary("kube-scheduler")),
            "--kubeconfig",
            kc,
            "--authentication-kubeconfig",
            kc,
            "--authorization-kubeconfig",
            kc,
            "--bind-address",
            "127.0.0.1",
            "--secure-port",
            str(net.scheduler_port),
            "--port",
            "0",
            "--cert-dir",
            str(cfg / "scheduler-certs"),
            "--leader-elect=false",
            "--profiling=false",
        ]
    if component == "kubelet":
        return [
            str(binary("kubelet")),
            "--config",
            str(cfg / "kubelet.yaml"),
            "--kubeconfig",
            str(layout.kubeconfig("node")),
            "--container-runtime",
            "docker",
            "--network-plugin",
            "cni",
            "--cni-bin-dir",
            str(CNI_BIN_DIR),
            "--cni-conf-dir",
            str(layout.cni_conf_dir),
            "--cni-cache-dir",
            str(layout.root / "cni" / "cache"),
            "--root-dir",
            str(layout.kubelet_root),
            "--cert-dir",
            str(cfg / "kubelet-certs"),
            "--hostname-override",
            "node-1",
            "--node-ip",
            net.node_ip,
            "--pod-infra-container-image",
            PAUSE_IMAGE,
            "--v",
            "1",
        ]
    if component == "kube-proxy":
        return [str(binary("kube-proxy")), "--config", str(cfg / "kube-proxy.yaml"), "--v", "1"]
    raise ValueError(f"unknown component {component!r}")


def _client(pki: Pki, who: str = "admin") -> httpx.Client:
    # An SSLContext carries the client certificate (httpx's `cert=` argument is deprecated).
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.load_cert_chain(str(pki.cert(who)), str(pki.key(who)))
    return httpx.Client(verify=ctx, timeout=3.0)


def _health_url(component: str, net: Net) -> str:
    return {
        "etcd": f"https://127.0.0.1:{net.etcd_port}/health",
        "kube-apiserver": f"{net.server}/readyz",
        "kube-controller-manager": f"https://127.0.0.1:{net.controller_manager_port}/healthz",
        "kube-scheduler": f"https://127.0.0.1:{net.scheduler_port}/healthz",
        "kubelet": f"http://127.0.0.1:{net.kubelet_healthz_port}/healthz",
        "kube-proxy": f"http://127.0.0.1:{net.proxy_healthz_port}/healthz",
    }[component]


def _healthy(component: str, pki: Pki, net: Net) -> tuple[bool, str]:
    url = _health_url(component, net)
    try:
        if component in ("etcd", "kube-apiserver"):
            with _client(pki, "apiserver-etcd-client" if component == "etcd" else "admin") as client:
                resp = client.get(url)
        else:
            # Self-signed serving certs (controller-manager, scheduler) or plain loopback HTTP.
            resp = httpx.get(url, verify=False, timeout=3.0)
    except (httpx.HTTPError, OSError) as exc:
        return False, f"{url}: {type(exc).__name__}"
    body = resp.text.strip()
    if component == "etcd":
        ok = resp.status_code == 200 and '"health":"true"' in body.replace(" ", "")
    elif component == "kube-proxy":
        ok = resp.status_code == 200  # a JSON body with its last sync time
    else:
        ok = resp.status_code == 200 and body == "ok"
    return ok, f"{url}: {resp.status_code} {body[:80]}"


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "".join(path.read_text(errors="replace").splitlines(keepends=True)[-lines:])
    except OSError:
        return "(no log)"


def _wait_healthy(component: str, layout: Layout, pki: Pki, net: Net, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    detail = ""
    while time.monotonic() < deadline:
        if procs.alive_pid(layout.pid(component), _program(component)) is None:
            raise ClusterError(
                f"{component} exited during start; last lines of {layout.log(component)}:\n"
                + _log_tail(layout.log(component))
            )
        ok, detail = _healthy(component, pki, net)
        if ok:
            return
        time.sleep(0.25)
    raise ClusterError(
        f"{component} did not become healthy within {timeout_s:.0f}s ({detail}); last lines of "
        f"{layout.log(component)}:\n{_log_tail(layout.log(component))}"
    )


def _node_ready(pki: Pki, net: Net) -> bool:
    try:
        with _client(pki) as client:
            resp = client.get(f"{net.server}/api/v1/nodes/node-1")
    except (httpx.HTTPError, OSError):
        return False
    if resp.status_code != 200:
        return False
    conditions = resp.json().get("status", {}).get("conditions", [])
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _default_service_account(pki: Pki, net: Net) -> bool:
    # Pods are refused until the controller-manager created the namespace's default ServiceAccount.
    try:
        with _client(pki) as client:
            return (
                client.get(f"{net.server}/api/v1/namespaces/default/serviceaccounts/default").status_code
                == 200
            )
    except (httpx.HTTPError, OSError):
        return False


def _ensure_pause_image() -> None:
    import docker

    client = docker.from_env()
    try:
        client.images.get(PAUSE_IMAGE)
        return
    except docker.errors.ImageNotFound:
        pass
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(str(binary("pause")), arcname="pause")
        dockerfile = b'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n'
        info = tarfile.TarInfo("Dockerfile")
        info.size = len(dockerfile)
        tar.addfile(info, io.BytesIO(dockerfile))
    buf.seek(0)
    client.images.build(
        fileobj=buf, custom_context=True, tag=PAUSE_IMAGE, rm=True, labels={"org.labkit.k8s": "pause"}
    )


def _running_pid(layout: Layout, component: str) -> int | None:
    return procs.alive_pid(layout.pid(component), _program(component))


def _start(component: str, layout: Layout, pki: Pki, net: Net, timeout_s: float) -> None:
    if _running_pid(layout, component) is None:
        procs.start(
            _argv(component, layout, pki, net), log=layout.log(component), pid_file=layout.pid(component)
        )
    _wait_healthy(component, layout, pki, net, timeout_s)


def up(
    data_dir: Path,
    *,
    say: Say = print,
    net: Net = NET,
    timeout_s: float = 90.0,
    progress: Callable[[int, int, str], None] | None = None,
) -> ClusterStatus:
    """Start the cluster (idempotent: running healthy components are kept) and wait for node Ready."""
    require(binaries_built=binaries_built())
    layout = Layout.for_data_dir(data_dir)
    timings: dict[str, float] = {}
    build_s = ensure_binaries(K8S_VERSION, progress)
    if build_s:
        timings["build_s"] = build_s
        say(f"built Kubernetes {K8S_VERSION} in {build_s:.0f}s")
    started = time.monotonic()
    layout.ensure()
    layout.mark_current()
    pki = ensure_pki(
        layout.pki,
        server_sans=[
            "127.0.0.1",
            net.node_ip,
            net.service_ip,
            "localhost",
            "node-1",
            "kubernetes",
            "kubernetes.default",
            "kubernetes.default.svc",
            "kubernetes.default.svc.cluster.local",
        ],
    )
    write_configs(layout, pki, net)
    if all(_running_pid(layout, c) is None for c in COMPONENTS):
        host.snapshot(layout)
    for component in ("etcd", "kube-apiserver"):
        _start(component, layout, pki, net, timeout_s)
        timings[f"{component}_s"] = time.monotonic() - started
        say(f"{component} healthy ({timings[f'{component}_s']:.1f}s)")
    # After the apiserver is ready: earlier they hit RBAC "forbidden" and exit.
    for component in ("kube-controller-manager", "kube-scheduler"):
        if _running_pid(layout, component) is None:
            procs.start(
                _argv(component, layout, pki, net), log=layout.log(component), pid_file=layout.pid(component)
            )
    host.ensure_bridge(net)
    host.ensure_forward_rule(net)
    _ensure_pause_image()
    for component in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
        _start(component, layout, pki, net, timeout_s)
        timings[f"{component}_s"] = time.monotonic() - started
        say(f"{component} healthy ({timings[f'{component}_s']:.1f}s)")
    deadline = time.monotonic() + timeout_s
    while not (_node_ready(pki, net) and _default_service_account(pki, net)):
        if time.monotonic() > deadline:
            raise ClusterError(
                f"node-1 did not become Ready within {timeout_s:.0f}s; last lines of kubelet's log:\n"
                + _log_tail(layout.log("kubelet"))
            )
        time.sleep(0.25)
    timings["node_ready_s"] = time.monotonic() - started
    say(f"node-1 Ready ({timings['node_ready_s']:.1f}s); export KUBECONFIG={layout.admin_kubeconfig}")
    result = status(data_dir, net=net)
    result.timings = timings
    return result


def status(data_dir: Path, *, net: Net = NET) -> ClusterStatus:
    layout = Layout.for_data_dir(data_dir)
    pki = Pki(layout.pki)
    rows = []
    for component in COMPONENTS:
        pid = _running_pid(layout, component)
        if pid is None:
            rows.append(ComponentStatus(component, None, False, "not running"))
            continue
        ok, detail = _healthy(component, pki, net)
        rows.append(ComponentStatus(component, pid, ok, detail))
    api_up = any(r.name == "kube-apiserver" and r.healthy for r in rows)
    return ClusterStatus(rows, api_up and _node_ready(pki, net), layout.admin_kubeconfig)


def down(data_dir: Path, *, say: Say = print, purge: bool = False) -> list[str]:
    """Stop every component and undo what the node did to the host, also after a crash."""
    import shutil
    import subprocess

    layout = Layout.for_data_dir(data_dir)
    done: list[str] = []
    if procs.stop(layout.pid("kube-proxy"), "kube-proxy"):
        done.append("stopped kube-proxy")
    if binary("kube-proxy").exists():
        # Removes kube-proxy's iptables (and ipvs) rules even if kube-proxy had crashed.
        subprocess.run([str(binary("kube-proxy")), "--cleanup"], capture_output=True, text=True)
        done.append("kube-proxy --cleanup")
    if procs.stop(layout.pid("kubelet"), "kubelet"):
        done.append("stopped kubelet")
    done += host.clean(layout)
    for component in ("kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd"):
        if procs.stop(layout.pid(component), _program(component)):
            done.append(f"stopped {component}")
    if purge:
        shutil.rmtree(layout.root, ignore_errors=True)
        done.append(f"deleted {layout.root}")
    for line in done:
        say(line)
    return done


def current_data_dir(default: Path) -> Path:
    """The data dir of the machine's embedded cluster (the last ``up``), else ``default``."""
    current = Layout.current()
    return current.root.parent if current is not None else default


def env_lines(data_dir: Path) -> list[str]:
    return [f"export KUBECONFIG={Layout.for_data_dir(data_dir).admin_kubeconfig}"]
