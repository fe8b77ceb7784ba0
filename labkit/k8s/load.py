"""A steady traffic generator for rollouts: count every failed request, hide none.

``TrafficGenerator(url)`` is a context manager: worker threads send requests at a fixed
total rate for the whole block, each on a **new connection** (no keep-alive), so every
request is routed afresh by the Service (kube-proxy picks a ready endpoint per connection)
and a pod going away cannot hide behind a pooled connection. There are **no retries**: a
refused or reset connection, a timeout or a non-2xx answer is one failed request, with its
kind and time kept in ``stats.failures``.

Send through the Service's ClusterIP from the host where kube-proxy makes it reachable
(the embedded cluster): ``kubectl port-forward svc/...`` pins one pod for its whole life,
so it would measure that pod, not the Service.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx

from labkit.k8s.kubectl import Target
from labkit.k8s.read import get_json

__all__ = ["LoadStats", "TrafficGenerator", "service_url"]

REVIEW_BODY = {
    "prompt": "Summarize the attached incident report in three bullet points for the on-call team."
}


@dataclass
class LoadStats:
    sent: int = 0
    ok: int = 0
    failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    failures: list[tuple[float, str]] = field(default_factory=list, repr=False)  # (s since start, kind)
    latencies_ms: list[float] = field(default_factory=list, repr=False)
    timeline: list[tuple[float, bool]] = field(default_factory=list, repr=False)  # (s since start, ok)
    reviews: int = 0  # of ``sent``, how many were POST /review
    seconds: float = 0.0

    def per_second(self) -> list[tuple[int, int, int]]:
        """(second, ok, failed) for each second of the run: the chart's data."""
        last = int(max((t for t, _ in self.timeline), default=0.0))
        ok, bad = [0] * (last + 1), [0] * (last + 1)
        for t, good in self.timeline:
            (ok if good else bad)[int(t)] += 1
        return [(s, ok[s], bad[s]) for s in range(last + 1)]

    def as_dict(self) -> dict[str, Any]:
        lat = sorted(self.latencies_ms)
        p = (lambda q: round(lat[min(len(lat) - 1, int(q * len(lat)))], 1)) if lat else (lambda q: None)
        return {
            "sent": self.sent,
            "ok": self.ok,
            "failed": self.failed,
            "errors": dict(self.errors),
            "reviews": self.reviews,
            "seconds": round(self.seconds, 1),
            "rate_per_s": round(self.sent / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": p(0.5),
            "p99_ms": p(0.99),
        }


def service_url(
    name: str,
    *,
    namespace: str = "labkit",
    port: int | None = None,
    tgt: Target | None = None,
    probe: str = "/health",
) -> str | None:
    """``http://CLUSTER-IP:PORT`` of a Service if the host reaches it (kube-proxy here), else None."""
    svc = get_json("service", name, namespace=namespace, tgt=tgt)
    ip = svc["spec"].get("clusterIP")
    port = port or svc["spec"]["ports"][0]["port"]
    if not ip or ip == "None":
        return None
    url = f"http://{ip}:{port}"
    try:
        httpx.get(url + probe, timeout=2.0)
    except httpx.HTTPError:
        return None
    return url


class TrafficGenerator:
    """Send ``rate_per_s`` requests per second to ``url`` from ``workers`` threads.

    Every ``review_every``-th request is a ``POST /review`` (the agent's real work, which
    spends the LLM budget), the others ``GET /health``; ``review_every=1`` sends only reviews.
    """

    def __init__(
        self,
        url: str,
        *,
        review_every: int = 5,
        body: dict[str, Any] | None = None,
        rate_per_s: float = 40.0,
        workers: int = 4,
        timeout_s: float = 10.0,
    ) -> None:
        if rate_per_s <= 0 or workers <= 0 or review_every <= 0:
            raise ValueError(
                "rate_per_s, workers and review_every must be > 0, "
                f"got {rate_per_s}, {workers}, {review_every}"
            )
        self.url, self.review_every = url.rstrip("/"), review_every
        self.body = REVIEW_BODY if body is None else body
        self.rate_per_s, self.workers, self.timeout_s = rate_per_s, workers, timeout_s
        self.stats = LoadStats()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def _record(self, ok: bool, kind: str, latency_ms: float, review: bool) -> None:
        with self._lock:
            self.stats.sent += 1
            self.stats.reviews += int(review)
            self.stats.timeline.append((time.monotonic() - self._started, ok))
            if ok:
                self.stats.ok += 1
                self.stats.latencies_ms.append(latency_ms)
            else:
                self.stats.failed += 1
                self.stats.errors[kind] += 1
                self.stats.failures.append((time.monotonic() - self._started, kind))

    def _worker(self, index: int) -> None:
        interval = self.workers / self.rate_per_s
        next_at = self._started + index * interval / self.workers
        count = index
        # max_keepalive_connections=0: one connection per request, closed after the answer.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=0)
        with httpx.Client(timeout=self.timeout_s, limits=limits) as client:
            while not self._stop.is_set():
                delay = next_at - time.monotonic()
                if delay > 0 and self._stop.wait(delay):
                    break
                next_at = max(next_at + interval, time.monotonic() - interval)
                count += 1
                review = count % self.review_every == 0
                started = time.monotonic()
                try:
                    if review:
                        resp = client.post(self.url + "/review", json=self.body)
                    else:
                        resp = client.get(self.url + "/health")
                    ok, kind = resp.is_success, f"http {resp.status_code}"
                except httpx.HTTPError as exc:
                    ok, kind = False, type(exc).__name__  # ConnectError, RemoteProtocolError, ReadError...
                self._record(ok, kind, (time.monotonic() - started) * 1000, review)

    def __enter__(self) -> TrafficGenerator:
        self._started = time.monotonic()
        self._threads = [
            threading.Thread(target=self._worker, args=(i,), name=f"labkit-load-{i}", daemon=True)
            for i in range(self.workers)
        ]
        for t in self._threads:
            t.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self.timeout_s + 5)
        self.stats.seconds = time.monotonic() - self._started
