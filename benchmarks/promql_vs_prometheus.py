"""PromQL on the embedded server vs real Prometheus, same data, side by side.

200 series, 3 h at 15 s (144,000 samples) are remote-written to both; then ten
tutorial queries (rate, histogram_quantile, topk, a join, offset, ...) run as instant
and as range queries (20 in all) against each, and the median latency of each and the
embedded/Prometheus ratio are printed (target: median latency <= 1.0x Prometheus).
Remote-write ingest is reported in samples/s for both. ``run()`` is also called by
``benchmarks/lgtm_ingest_query.py``.

    python benchmarks/promql_vs_prometheus.py [--hours 3] [--repeat 7]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests" / "promql"))

from promql_reference import SeriesData, prometheus_binary, running_prometheus

from labkit.lgtm.metrics.remote_write import encode_write_request
from labkit.lgtm.testing import running_server

TARGET_RATIO = 1.0
QUERIES = [
    "sum(rate(http_requests_total[5m]))",
    "sum by (code) (rate(http_requests_total[5m]))",
    'sum(rate(http_requests_total{code="500"}[5m])) / sum(rate(http_requests_total[5m]))',
    "histogram_quantile(0.95, sum by (le) (rate(request_duration_seconds_bucket[5m])))",
    "topk(5, rate(http_requests_total[5m]))",
    "avg by (instance) (temperature_celsius)",
    "max_over_time(temperature_celsius[1h])",
    "sum by (instance) (rate(http_requests_total[5m])) * on(instance) group_left(version) target_info",
    "rate(http_requests_total[5m] offset 1h)",
    "http_requests_total",
]


def make_data(t0: int, hours: int, rng: random.Random) -> SeriesData:
    """200 series: 150 counters, 30 gauges, 2 histograms of 9 buckets + sum/count, 2 target_info."""
    n = hours * 240
    stamps = [t0 + i * 15_000 for i in range(n)]
    out: SeriesData = []
    for k in range(150):
        labels = {
            "__name__": "http_requests_total",
            "instance": f"i{k % 10}",
            "code": ("200", "404", "500")[k % 3],
            "route": f"/r{k // 30}",
        }
        v, pts = 0.0, []
        for t in stamps:
            v += rng.randint(0, 20)
            pts.append((t, v))
        out.append((labels, pts))
    for k in range(30):
        v, pts = 20.0, []
        for t in stamps:
            v += rng.uniform(-1, 1)
            pts.append((t, round(v, 3)))
        out.append(({"__name__": "temperature_celsius", "instance": f"i{k % 10}", "zone": f"z{k}"}, pts))
    for inst in ("i0", "i1"):
        bounds = ("0.01", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "+Inf")
        counts = [0.0] * len(bounds)
        series: list[list[tuple[int, float]]] = [[] for _ in bounds]
        for t in stamps:
            for _ in range(rng.randint(0, 10)):
                x = rng.expovariate(4)
                for b, le in enumerate(bounds):
                    if le == "+Inf" or x <= float(le):
                        counts[b] += 1
            for b in range(len(bounds)):
                series[b].append((t, counts[b]))
        for b, le in enumerate(bounds):
            out.append(
                ({"__name__": "request_duration_seconds_bucket", "instance": inst, "le": le}, series[b])
            )
    for inst in ("i0", "i1"):
        out.append(
            ({"__name__": "target_info", "instance": inst, "version": "1.0"}, [(t, 1.0) for t in stamps])
        )
    return out[:200]


def encode_batches(data: SeriesData, batch_samples: int) -> list[bytes]:
    bodies, batch, size = [], [], 0
    for labels, points in data:
        for i in range(0, len(points), batch_samples):
            chunk = points[i : i + batch_samples]
            batch.append((labels, chunk))
            size += len(chunk)
            if size >= batch_samples:
                bodies.append(encode_write_request(batch))
                batch, size = [], 0
    if batch:
        bodies.append(encode_write_request(batch))
    return bodies


def post_all(url: str, bodies: list[bytes], total: int) -> float:
    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf"}
    with httpx.Client(timeout=120) as client:
        start = time.perf_counter()
        for body in bodies:
            r = client.post(url, content=body, headers=headers)
            if r.status_code >= 300:
                raise RuntimeError(f"{url}: {r.status_code} {r.text[:200]}")
        return total / (time.perf_counter() - start)


def timed(client: httpx.Client, url: str, params: dict[str, object], repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(url, params=params)
        samples.append(time.perf_counter() - start)
        if r.status_code != 200:
            raise RuntimeError(f"{url} {params}: {r.status_code} {r.text[:200]}")
    return statistics.median(samples)


def run(hours: int, repeat: int, out: Callable[[str], None] = print) -> dict[str, Any]:
    """Push the corpus to both servers, time every query on both; return the figures."""
    if prometheus_binary() is None:
        return {"skipped": "the prometheus binary is not installed (Debian: apt-get install prometheus)"}
    now = int(time.time() * 1000) // 60_000 * 60_000
    t0 = now - hours * 3_600_000
    data = make_data(t0, hours, random.Random(1))
    total = sum(len(p) for _, p in data)
    out(f"promql data: {len(data)} series, {total:,} samples ({hours} h at 15 s)")
    figures: dict[str, Any] = {"series": len(data), "samples": total}
    with (
        tempfile.TemporaryDirectory() as tmp,
        running_prometheus(Path(tmp) / "prom") as prom,
        running_server(Path(tmp) / "embedded") as srv,
    ):
        root = srv.urls["mimir"].removesuffix("/prometheus")
        # Bodies are encoded up front: the figure is the server's ingest rate, not the client's.
        bodies = encode_batches(data, 50_000)
        figures["remote_write_embedded"] = post_all(root + "/api/v1/push", bodies, total)
        figures["remote_write_prometheus"] = post_all(prom + "/api/v1/write", bodies, total)
        out(
            f"remote-write ingest: embedded {figures['remote_write_embedded']:,.0f} samples/s, "
            f"prometheus {figures['remote_write_prometheus']:,.0f} samples/s, ratio "
            f"{figures['remote_write_embedded'] / figures['remote_write_prometheus']:.2f}"
        )
        embedded = srv.urls["mimir"] + "/api/v1"
        reference = prom + "/api/v1"
        rows: list[tuple[str, str, float, float]] = []
        out(f"{'query':<92} {'kind':<6} {'embedded':>9} {'prom':>9} {'ratio':>6}")
        with httpx.Client(timeout=120) as client:
            for q in QUERIES:
                for kind, path, params in (
                    ("inst", "/query", {"query": q, "time": (now - 1_800_000) / 1000}),
                    (
                        "range",
                        "/query_range",
                        {"query": q, "start": (now - 7_200_000) / 1000, "end": now / 1000, "step": 60},
                    ),
                ):
                    timed(client, embedded + path, params, 1)  # warm up both sides
                    timed(client, reference + path, params, 1)
                    e = timed(client, embedded + path, params, repeat)
                    p = timed(client, reference + path, params, repeat)
                    rows.append((q, kind, e, p))
                    out(f"{q[:92]:<92} {kind:<6} {e * 1000:8.2f}ms {p * 1000:8.2f}ms {e / p:6.2f}")
    for kind in ("inst", "range"):
        picked = [r for r in rows if r[1] == kind]
        figures[f"median_ms_{kind}_embedded"] = statistics.median(r[2] for r in picked) * 1000
        figures[f"median_ms_{kind}_prometheus"] = statistics.median(r[3] for r in picked) * 1000
        figures[f"median_ratio_{kind}"] = statistics.median(r[2] / r[3] for r in picked)
    figures["median_ratio"] = statistics.median(r[2] / r[3] for r in rows)
    figures["median_ms_embedded"] = statistics.median(r[2] for r in rows) * 1000
    figures["median_ms_prometheus"] = statistics.median(r[3] for r in rows) * 1000
    figures["latency_ratio_of_medians"] = figures["median_ms_embedded"] / figures["median_ms_prometheus"]
    out(
        f"promql median latency: embedded {figures['median_ms_embedded']:.2f} ms, prometheus "
        f"{figures['median_ms_prometheus']:.2f} ms, ratio {figures['latency_ratio_of_medians']:.2f} "
        f"(target <= {TARGET_RATIO}); median per-query ratio {figures['median_ratio']:.2f} "
        f"(instant {figures['median_ratio_inst']:.2f}, range {figures['median_ratio_range']:.2f})"
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hours", type=int, default=3)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    figures = run(args.hours, args.repeat)
    if "skipped" in figures:
        sys.exit(figures["skipped"])


if __name__ == "__main__":
    main()
