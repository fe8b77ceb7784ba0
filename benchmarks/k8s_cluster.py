"""Embedded Kubernetes cluster figures: build time, up -> node Ready, apply -> 2 pods Ready, idle RSS.

    python benchmarks/k8s_cluster.py [--cycle]

Prints each figure with its target. `--cycle` runs `down` then `up` to time "up to node Ready
from built binaries" (it stops a running cluster and leaves it running afterwards). Build time
is read from the cache's build log timestamps when the binaries were built earlier; building
takes about 8 minutes on 2 idle cores. Needs root, Linux and Docker (see `labkit k8s up`).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.config import load_settings  # noqa: E402
from labkit.k8s import cluster, procs  # noqa: E402
from labkit.k8s.apply import apply_and_wait  # noqa: E402
from labkit.k8s.build import binaries_built, ensure_binaries  # noqa: E402
from labkit.k8s.kubectl import kubectl, target  # noqa: E402
from labkit.k8s.layout import COMPONENTS, Layout, binary_cache  # noqa: E402
from labkit.k8s.lesson import ensure_image  # noqa: E402

DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {name: bench}
spec:
  replicas: 2
  selector: {matchLabels: {app: bench}}
  template:
    metadata: {labels: {app: bench}}
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: web
          image: labkit/demo-app:k8s
          imagePullPolicy: Never
          ports: [{containerPort: 8000}]
          resources: {requests: {cpu: 20m, memory: 48Mi}, limits: {cpu: 500m, memory: 128Mi}}
          readinessProbe: {httpGet: {path: /healthz, port: 8000}, periodSeconds: 1}
"""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    settings = load_settings()
    data_dir = cluster.current_data_dir(settings.data_dir)
    layout = Layout.for_data_dir(data_dir)
    print(f"binaries: {binary_cache()}")
    if binaries_built():
        log = binary_cache() / "build.log"
        print("build time: cached" + (f" (log {log})" if log.exists() else ""))
    else:
        print(f"build time: {ensure_binaries():.0f} s")
    if "--cycle" in sys.argv or not cluster.status(data_dir).running:
        cluster.down(data_dir, say=lambda _l: None)
        started = time.monotonic()
        st = cluster.up(data_dir, say=lambda _l: None)
        ready_s = time.monotonic() - started
        print(
            f"up -> node Ready from built binaries: {ready_s:.1f} s (target <= 15 s); "
            f"per component: " + ", ".join(f"{k} {v:.1f}" for k, v in st.timings.items())
        )
    tgt = target(settings.model_copy(update={"data_dir": data_dir}))
    ensure_image("labkit/demo-app:k8s")
    kubectl("delete", "deployment", "bench", "--ignore-not-found", "--wait=true", tgt=tgt, timeout_s=120)
    applied = apply_and_wait(DEPLOYMENT, tgt=tgt, timeout_s=120)
    print(f"apply -> 2-replica Deployment Ready: {applied.seconds:.1f} s (target <= 10 s)")
    kubectl("delete", "deployment", "bench", "--wait=true", tgt=tgt, timeout_s=120)
    time.sleep(5)
    rows = []
    for component in COMPONENTS:
        pid = procs.alive_pid(layout.pid(component), component)
        rows.append((component, _rss_mb(pid) if pid else 0.0))
    total = sum(mb for _, mb in rows)
    print("idle RSS: " + ", ".join(f"{c} {mb:.0f} MB" for c, mb in rows))
    print(f"idle RSS of all components: {total:.0f} MB (target <= 700 MB)")
    started = time.monotonic()
    if "--cycle" in sys.argv:
        done = cluster.down(data_dir, say=lambda _l: None)
        print(f"down: {time.monotonic() - started:.1f} s ({len(done)} steps)")
        cluster.up(data_dir, say=lambda _l: None)


if __name__ == "__main__":
    main()
