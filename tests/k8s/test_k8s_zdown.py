"""`down` after a crash: SIGKILL the apiserver, run down, check the machine is clean.

Named to run after the other Kubernetes tests; it brings the cluster back up afterwards if
it was running, so later tests (notebook 02) still find it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from labkit.k8s import cluster, host, procs
from labkit.k8s.kubectl import Target
from labkit.k8s.layout import Layout

pytestmark = pytest.mark.kubernetes


def test_down_after_apiserver_sigkill_leaves_nothing(
    k8s_target: Target, demo_image: str, deployment_yaml: str
) -> None:
    if k8s_target.kind != "embedded":
        pytest.skip("the live cluster is not ours to stop")
    from labkit.config import load_settings

    data_dir = cluster.current_data_dir(load_settings().data_dir)
    layout = Layout.for_data_dir(data_dir)
    from labkit.k8s.apply import apply_and_wait

    apply_and_wait(
        deployment_yaml.format(name="crash", replicas=1, image=demo_image), tgt=k8s_target, timeout_s=90
    )
    assert host.pod_containers() and host.mounts_under(layout.kubelet_root)

    saved = json.loads(layout.host_state.read_text())["sysctls"]
    pid = procs.alive_pid(layout.pid("kube-apiserver"), "kube-apiserver")
    assert pid is not None
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    try:
        cluster.down(data_dir, say=lambda _line: None)
        assert host.pod_containers() == []
        assert host.leftover_chains() == {}
        assert host.mounts_under(layout.kubelet_root) == []
        assert subprocess.run(["ip", "link", "show", "cni0"], capture_output=True).returncode != 0
        assert all(procs.alive_pid(layout.pid(c), c) is None for c in ("etcd", "kube-apiserver", "kubelet"))
        assert not layout.host_state.exists()
        for name, value in saved.items():
            assert Path("/proc/sys", *name.split(".")).read_text().strip() == value, name
    finally:
        # Bring it back for the tests after this one (the crashed deployment is deleted first).
        cluster.up(data_dir, say=lambda _line: None)
        from labkit.k8s.kubectl import kubectl

        kubectl("delete", "deployment,service", "crash", "--ignore-not-found", "--wait=false", tgt=k8s_target)
