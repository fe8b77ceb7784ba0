"""Helpers for the differential PromQL tests and the benchmark: a real Prometheus, data, comparison.

Real Prometheus (Debian's ``prometheus`` package) is started on a loopback port with
its remote-write receiver enabled; the same synthetic series are pushed to it and to
the embedded server, and query answers are compared.
"""

from __future__ import annotations

import math
import random
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from labkit.lgtm.metrics.index import STALE_NAN
from labkit.lgtm.metrics.remote_write import encode_write_request

__all__ = [
    "SeriesData",
    "compare",
    "generate",
    "prometheus_binary",
    "push",
    "running_prometheus",
]

SeriesData = list[tuple[dict[str, str], list[tuple[int, float]]]]
BUCKETS = ("0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "+Inf")


def prometheus_binary() -> str | None:
    return shutil.which("prometheus")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_prometheus(workdir: Path) -> Iterator[str]:
    """Start Prometheus with a temp TSDB and the remote-write receiver; yield its base URL."""
    binary = prometheus_binary()
    if binary is None:
        raise RuntimeError("the prometheus binary is not installed (apt-get install prometheus)")
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "prometheus.yml"
    # Out-of-order ingestion lets a test push older data after newer data without rejection.
    config.write_text(
        "global:\n  scrape_interval: 1h\nstorage:\n  tsdb:\n    out_of_order_time_window: 30d\n"
    )
    port = _free_port()
    log = (workdir / "prometheus.log").open("wb")
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={config}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--web.enable-remote-write-receiver",
            "--storage.tsdb.retention.time=30d",
            "--query.lookback-delta=5m",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"prometheus exited with {proc.returncode}; see {workdir / 'prometheus.log'}"
                )
            try:
                if httpx.get(url + "/-/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("prometheus did not become ready within 30 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def generate(t0_ms: int, minutes: int, seed: int = 7, interval_ms: int = 15_000) -> SeriesData:
    """Counters with resets, gauges, classic histograms, several label sets, gaps and a stale series.

    Every series gets its own odd millisecond phase, so sample times never sit exactly on
    an evaluation step or a window boundary.
    """
    rng = random.Random(seed)
    n = minutes * 60_000 // interval_ms
    out: SeriesData = []
    phase_counter = [0]

    def stamps() -> list[int]:
        phase_counter[0] += 1
        phase = (phase_counter[0] * 997) % interval_ms + 1
        return [t0_ms + i * interval_ms + phase for i in range(n)]

    for inst in ("i1", "i2", "i3"):
        for method in ("GET", "POST"):
            for code in ("200", "404", "500"):
                ts = stamps()
                value, points = 0.0, []
                rate = {"200": 5.0, "404": 0.7, "500": 0.3}[code] * (1.5 if method == "GET" else 1.0)
                for i, t in enumerate(ts):
                    if inst == "i2" and code == "200" and i in (n // 3, 2 * n // 3):
                        value = 0.0  # process restart: counter reset
                    value += (
                        rng.poisson(rate) if hasattr(rng, "poisson") else round(rng.expovariate(1 / rate), 0)
                    )
                    points.append((t, value))
                labels = {
                    "__name__": "http_requests_total",
                    "job": "api",
                    "instance": inst,
                    "method": method,
                    "code": code,
                }
                out.append((labels, points))
    for inst in ("i1", "i2", "i3"):
        for zone in ("a", "b"):
            ts = stamps()
            v, points = rng.uniform(-5, 40), []
            for i, t in enumerate(ts):
                if inst == "i3" and zone == "b" and n // 2 <= i < n // 2 + 40:
                    continue  # a 10 minute gap: longer than the lookback
                v += rng.gauss(0, 1.5)
                points.append((t, round(v, 3)))
            out.append(
                (
                    {"__name__": "temperature_celsius", "job": "sensors", "instance": inst, "zone": zone},
                    points,
                )
            )
    for inst in ("i1", "i2"):
        ts = stamps()
        counts = [0.0] * len(BUCKETS)
        total_sum = 0.0
        bucket_points: list[list[tuple[int, float]]] = [[] for _ in BUCKETS]
        sum_points, count_points = [], []
        for t in ts:
            for _ in range(rng.randint(0, 12)):
                x = rng.lognormvariate(-2.5, 1.2)
                total_sum += x
                for b, le in enumerate(BUCKETS):
                    if le == "+Inf" or x <= float(le):
                        counts[b] += 1
            for b in range(len(BUCKETS)):
                bucket_points[b].append((t, counts[b]))
            sum_points.append((t, round(total_sum, 6)))
            count_points.append((t, counts[-1]))
        base = {"job": "api", "instance": inst}
        for b, le in enumerate(BUCKETS):
            out.append(({**base, "__name__": "request_duration_seconds_bucket", "le": le}, bucket_points[b]))
        out.append(({**base, "__name__": "request_duration_seconds_sum"}, sum_points))
        out.append(({**base, "__name__": "request_duration_seconds_count"}, count_points))
    for inst, version in (("i1", "1.2.0"), ("i2", "1.3.0"), ("i3", "1.3.0")):
        ts = stamps()
        out.append(
            (
                {
                    "__name__": "target_info",
                    "job": "api",
                    "instance": inst,
                    "service_version": version,
                    "k8s_namespace_name": "lab",
                },
                [(t, 1.0) for t in ts],
            )
        )
    # A series that stops with a stale marker two thirds of the way through.
    ts = stamps()
    cut = 2 * n // 3
    up = [(t, 1.0) for t in ts[:cut]] + [(ts[cut], STALE_NAN)]
    out.append(({"__name__": "up", "job": "api", "instance": "i4"}, up))
    for inst in ("i1", "i2", "i3"):
        out.append(({"__name__": "up", "job": "api", "instance": inst}, [(t, 1.0) for t in stamps()]))
    return out


def push(url: str, data: SeriesData, batch_samples: int = 20_000) -> int:
    """Remote-write ``data`` to ``url`` in batches; returns the number of samples sent."""
    headers = {
        "Content-Encoding": "snappy",
        "Content-Type": "application/x-protobuf",
        "X-Prometheus-Remote-Write-Version": "0.1.0",
    }
    sent = 0
    batch: SeriesData = []
    size = 0
    with httpx.Client(timeout=60) as client:

        def flush() -> None:
            nonlocal batch, size
            if batch:
                r = client.post(url, content=encode_write_request(batch), headers=headers)
                if r.status_code >= 300:
                    raise RuntimeError(f"remote write to {url} answered {r.status_code}: {r.text}")
            batch, size = [], 0

        for labels, points in data:
            for i in range(0, len(points), batch_samples):
                chunk = points[i : i + batch_samples]
                batch.append((labels, chunk))
                size += len(chunk)
                sent += len(chunk)
                if size >= batch_samples:
                    flush()
        flush()
    return sent


def _num(text: str) -> float:
    return float(text.replace("+Inf", "inf").replace("-Inf", "-inf"))


def _close(a: str, b: str) -> bool:
    x, y = _num(a), _num(b)
    if math.isnan(x) or math.isnan(y):
        return math.isnan(x) and math.isnan(y)
    if math.isinf(x) or math.isinf(y):
        return x == y
    return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12)


def compare(expected: dict[str, Any], actual: dict[str, Any], ordered: bool = False) -> list[str]:
    """Differences between two Prometheus ``data`` objects (empty when they agree)."""
    if expected["resultType"] != actual["resultType"]:
        return [f"resultType {actual['resultType']} != {expected['resultType']}"]
    kind = expected["resultType"]
    if kind in ("scalar", "string"):
        e, a = expected["result"], actual["result"]
        ok = e[0] == a[0] and (_close(e[1], a[1]) if kind == "scalar" else e[1] == a[1])
        return [] if ok else [f"{a} != {e}"]

    def key(row: dict[str, Any]) -> str:
        return repr(sorted(row["metric"].items()))

    exp_rows, act_rows = expected["result"], actual["result"]
    diffs = []
    if ordered and kind == "vector":
        # Ties may come out in either order, so check the sequence of values, then the set.
        ev = [r["value"][1] for r in exp_rows]
        av = [r["value"][1] for r in act_rows]
        if len(ev) != len(av) or not all(_close(x, y) for x, y in zip(ev, av, strict=True)):
            diffs.append(f"order of values differs: {av} != {ev}")
    exp_rows, act_rows = sorted(exp_rows, key=key), sorted(act_rows, key=key)
    if [key(r) for r in exp_rows] != [key(r) for r in act_rows]:
        want, got = [key(r) for r in exp_rows], [key(r) for r in act_rows]
        return [f"series differ:\n  prometheus {want}\n  embedded   {got}"]
    for e, a in zip(exp_rows, act_rows, strict=True):
        if kind == "vector":
            ev, av = e["value"], a["value"]
            if ev[0] != av[0] or not _close(ev[1], av[1]):
                diffs.append(f"{key(e)}: {av} != {ev}")
        else:
            ep, ap = e["values"], a["values"]
            if [p[0] for p in ep] != [p[0] for p in ap]:
                diffs.append(f"{key(e)}: timestamps differ ({len(ap)} vs {len(ep)} points)")
            else:
                bad = [(x, y) for x, y in zip(ep, ap, strict=True) if not _close(x[1], y[1])]
                if bad:
                    diffs.append(f"{key(e)}: {len(bad)} values differ, first {bad[0][1]} != {bad[0][0]}")
    return diffs
