"""On the running embedded cluster: a real pod's log lines reach the embedded Loki with its
pod labels, through kubelet's files (dockershim, Docker json-file). The test never starts or
stops the cluster: without one it skips (fails under CI=true, where the cluster must be up)."""

from __future__ import annotations

import contextlib
import json
import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.config import load_settings
from labkit.k8s.kubectl import KubectlError, Target, kubectl, target
from labkit.k8s.logship import DEFAULT_PODS_DIR, ship_once
from labkit.lgtm.testing import running_server
from tests.k8s.logfiles import lines_of

NAMESPACE = "prodlogs-test"
IMAGE = "labkit/demo-app:k8s"


def _no_cluster(reason: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI needs the embedded cluster: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def cluster() -> Target:
    from labkit.k8s import cluster as embedded

    settings = load_settings()
    if settings.k8s_context:
        _no_cluster("a live cluster is configured: its pod logs go through Alloy (k8s/alloy)")
    data_dir = embedded.current_data_dir(settings.data_dir)
    if not embedded.status(data_dir).running:
        _no_cluster("the embedded cluster is not running (`labkit k8s up` starts it)")
    if not DEFAULT_PODS_DIR.is_dir() or not os.access(DEFAULT_PODS_DIR, os.R_OK):
        _no_cluster(f"{DEFAULT_PODS_DIR} is not readable here")
    return target(settings.model_copy(update={"data_dir": data_dir}))


@pytest.fixture
def talker(cluster: Target) -> Iterator[tuple[str, list[str]]]:
    """A pod that prints numbered lines (one of them longer than Docker's 16 KiB split), then sleeps."""
    token = uuid.uuid4().hex[:8]
    name = f"talker-{token}"
    lines = [f"line {i} {token}" for i in range(20)] + [f"long {token} " + "x" * 20_000]
    prints = "".join(f"print({line!r}, flush=True)\n" for line in lines)
    script = "import time\n" + prints + "time.sleep(600)\n"
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"org.labkit.test": "true"}},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "talker",
                    "image": IMAGE,
                    "imagePullPolicy": "Never",
                    "command": ["python3", "-c", script],
                    "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"memory": "64Mi"}},
                }
            ],
        },
    }
    deadline = time.monotonic() + 120
    while True:  # the namespace of a previous run may still be terminating
        phase = kubectl("get", "namespace", NAMESPACE, "-o", "jsonpath={.status.phase}",
                        tgt=cluster, check=False, timeout_s=30).stdout  # fmt: skip
        if phase == "Active":
            break
        if time.monotonic() > deadline:
            pytest.fail(f"namespace {NAMESPACE} is not usable after 120 s (phase {phase or 'missing'})")
        if not phase:
            with contextlib.suppress(KubectlError):  # another run may create it first
                kubectl("create", "namespace", NAMESPACE, tgt=cluster, timeout_s=30)
        else:
            time.sleep(2)
    try:
        kubectl("apply", "-f", "-", tgt=cluster, input=json.dumps(pod), timeout_s=60)
        yield name, lines
    finally:
        # The namespace is this test's own: deleting it takes the pod along.
        kubectl("delete", "namespace", NAMESPACE, "--wait=false", tgt=cluster, check=False, timeout_s=60)


def test_a_pods_lines_reach_loki_with_its_labels(talker: tuple[str, list[str]], tmp_path: Path) -> None:
    name, lines = talker
    with running_server(tmp_path / "lgtm") as srv:
        got: list[str] = []
        deadline = time.monotonic() + 120  # a loaded node may take a while to start the pod
        while time.monotonic() < deadline:
            ship_once(settings=srv.settings, positions=tmp_path / "positions.json", namespaces=[NAMESPACE])
            got = lines_of(srv, f'{{namespace="{NAMESPACE}", pod="{name}", container="talker"}}')
            if len(got) >= len(lines):
                break
            time.sleep(1)
        if not got:
            folders = [p.name for p in Path(DEFAULT_PODS_DIR).glob(f"{NAMESPACE}_{name}_*")]
            pytest.fail(f"no line of {name} reached Loki in 120 s; its log folders: {folders}")
        assert got == lines  # in order, the 20 KB line joined from Docker's 16 KiB pieces, none twice
        from tests.k8s.logfiles import query

        labels = query(srv, f'{{pod="{name}"}}')[0]["stream"]
        assert {k: labels[k] for k in ("namespace", "pod", "container", "node", "job")} == {
            "namespace": NAMESPACE,
            "pod": name,
            "container": "talker",
            "node": "node-1",
            "job": f"{NAMESPACE}/talker",
        }
