"""A rolling update of the Prompt Reviewer (2 replicas) under steady load, on the cluster.

    python benchmarks/k8s_rollout.py [--rate 40] [--runs 1]

Prints, with targets:
- requests sent and failed during the rolling update (target: 0 failed of >= 500), through the
  Service's ClusterIP, one new connection per request, no retries;
- rollout duration (``kubectl set image`` -> ``rollout status`` done);
- time from each new pod's container start to its first telemetry visible in Tempo (a trace
  with its ``k8s.pod.name``) and in Loki (a line labelled ``pod``; needs the log shipper
  ``labkit.k8s.logship``).

Starts its own embedded LGTM server (private ports and data dir), builds the image once if
missing (not timed), deploys ``k8s/overlays/local`` and leaves the Prompt Reviewer deployed
on its first image. Needs the cluster (`labkit k8s up`) and Docker.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from labkit.k8s import pod_telemetry, production  # noqa: E402
from labkit.k8s.load import service_url  # noqa: E402
from labkit.k8s.read import get_json  # noqa: E402
from labkit.lgtm.testing import running_server  # noqa: E402

V1 = production.AGENT_IMAGE + ":0.1.0"
V2 = production.AGENT_IMAGE + ":0.1.1"


class FirstTelemetry(threading.Thread):
    """Every 0.5 s: new pods' container start, and when Tempo / Loki first show them."""

    def __init__(self, settings: object, known: set[str], loki: bool) -> None:
        super().__init__(daemon=True)
        from labkit.observe import Loki, Tempo

        self.tempo, self.loki = Tempo(settings=settings), (Loki(settings=settings) if loki else None)
        self.known, self.stop = known, threading.Event()
        self.started: dict[str, float] = {}  # pod -> container start (epoch s)
        self.tempo_seen: dict[str, float] = {}
        self.loki_seen: dict[str, float] = {}

    def run(self) -> None:
        while not self.stop.wait(0.5):
            pods = get_json("pods", namespace="labkit", selector="app.kubernetes.io/name=prompt-reviewer")[
                "items"
            ]
            for pod in pods:
                name = pod["metadata"]["name"]
                for s in pod["status"].get("containerStatuses") or []:
                    running = (s.get("state") or {}).get("running")
                    if name not in self.known and running and name not in self.started:
                        stamp = running["startedAt"].replace("Z", "+00:00")
                        self.started[name] = datetime.fromisoformat(stamp).timestamp()
            for name in self.started:
                now = time.time()
                if name not in self.tempo_seen:
                    found = self.tempo.search(
                        f'{{resource.k8s.pod.name="{name}"}}', "now-10m", "now", limit=1
                    )
                    if not found.empty:
                        self.tempo_seen[name] = now
                if self.loki is not None and name not in self.loki_seen:
                    lines = self.loki.query_range(
                        f'{{namespace="labkit", pod="{name}"}}', "now-10m", "now", limit=1
                    )
                    if not lines.empty:
                        self.loki_seen[name] = now

    def delays(self, seen: dict[str, float]) -> list[float]:
        return [seen[p] - self.started[p] for p in self.started if p in seen]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=40.0, help="requests per second (total)")
    parser.add_argument("--runs", type=int, default=1, help="update + undo pairs")
    args = parser.parse_args()

    print("images:", production.ensure_images(V1, extra_tags=(V2,)))  # one-time build, not timed
    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp, running_server(Path(tmp)) as srv:
        settings = srv.settings
        with pod_telemetry.log_shipper(settings) as shipper:
            deployed = production.deploy("local", settings=settings, timeout_s=180)
            print(f"deployed in {deployed.seconds:.1f}s; pods send OTLP to {deployed.otlp_endpoint}")
            url = service_url("prompt-reviewer")
            if url is None:
                raise SystemExit("the Service's ClusterIP is not reachable from this host: run on the node")
            for run in range(args.runs):
                for image in (V2, None):
                    known = set(production.serving_pods()["name"])
                    watcher = FirstTelemetry(settings, known, loki=shipper is not None)
                    watcher.start()
                    if image:
                        r = production.rolling_update_under_load(url, image=image, rate_per_s=args.rate)
                    else:
                        r = production.rolling_update_under_load(url, undo=True, rate_per_s=args.rate)
                    deadline = time.monotonic() + 20  # let the last pod's first export land
                    while time.monotonic() < deadline and (
                        len(watcher.tempo_seen) < len(watcher.started)
                        or (shipper is not None and len(watcher.loki_seen) < len(watcher.started))
                    ):
                        time.sleep(0.5)
                    watcher.stop.set()
                    watcher.join(5)
                    load = r.load
                    verdict = "OK" if load["failed"] == 0 and load["sent"] >= 500 else "MISSED"
                    what = f"set image {image}" if image else "rollout undo"
                    print(f"\nrun {run + 1}, {what}:")
                    print(
                        f"  requests: {load['sent']} sent ({load['reviews']} POST /review), "
                        f"{load['failed']} failed "
                        f"{load['errors'] or ''} at {load['rate_per_s']}/s, p50 {load['p50_ms']} ms, "
                        f"p99 {load['p99_ms']} ms   target: 0 failed of >= 500 -> {verdict}"
                    )
                    print(
                        f"  rollout duration: {r.rollout_s:.1f}s (2 replicas, maxSurge 1, maxUnavailable 0)"
                    )
                    tempo = watcher.delays(watcher.tempo_seen)
                    print(
                        "  pod start -> first trace in Tempo: "
                        + (", ".join(f"{d:.1f}s" for d in tempo) or "not seen")
                        + f" ({len(tempo)}/{len(watcher.started)} new pods)"
                    )
                    loki = watcher.delays(watcher.loki_seen)
                    print(
                        "  pod start -> first line in Loki: "
                        + (", ".join(f"{d:.1f}s" for d in loki) or "not seen")
                        + f" ({len(loki)}/{len(watcher.started)} new pods)"
                    )
    print("\n(figures from a shared 2-core machine; other work on it slows pod starts)")


if __name__ == "__main__":
    main()
