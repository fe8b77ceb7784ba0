"""Per-request cost of OpenTelemetry in the demo app: instrumented vs the SDK disabled.

Starts an embedded LGTM server on free loopback ports (so the instrumented run really
exports OTLP), then runs the demo app twice as a local process: once with the SDK,
once with ``OTEL_SDK_DISABLED=true`` (same code, no-op providers). Each run sends the
same sequential requests; the first ``--warmup`` are discarded. Prints medians, means
and the instrumented/baseline ratio.

    python benchmarks/telemetry_overhead.py --requests 400
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import httpx

from labkit import demo
from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import server_settings


def measure(app: demo.DemoApp, paths: list[str], warmup: int) -> list[float]:
    timings = []
    with httpx.Client(base_url=app.url, timeout=10) as client:
        for i, path in enumerate(paths):
            t0 = time.perf_counter()
            client.get(path)
            if i >= warmup:
                timings.append((time.perf_counter() - t0) * 1e6)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=400, help="requests per run and path (default 400)")
    parser.add_argument("--warmup", type=int, default=50, help="requests discarded at the start of each run")
    parser.add_argument("--path", action="append", help="paths to request (default: / and /work?n=200)")
    args = parser.parse_args()
    paths = (args.path or ["/", "/work?n=200"]) * args.requests

    with tempfile.TemporaryDirectory() as tmp:
        settings = server_settings(Path(tmp))
        with EmbeddedServer(settings) as srv:
            results: dict[str, list[float]] = {}
            for label, instrumented in (
                ("baseline (SDK disabled)", False),
                ("instrumented (OTLP export)", True),
            ):
                with demo.start(
                    srv.settings, instrumented=instrumented, fail_rate=0.0, metric_interval_s=1.0
                ) as app:
                    results[label] = measure(app, paths, args.warmup)

    print(f"demo app, {len(paths) - args.warmup} sequential requests per run over {sorted(set(paths))}")
    print(f"{'run':<28} {'median µs':>10} {'mean µs':>10} {'p95 µs':>10}")
    for label, values in results.items():
        p95 = statistics.quantiles(values, n=20)[-1]
        print(
            f"{label:<28} {statistics.median(values):>10.0f} {statistics.fmean(values):>10.0f} {p95:>10.0f}"
        )
    base, inst = results.values()
    median_ratio = statistics.median(inst) / statistics.median(base)
    print(
        f"overhead ratio (instrumented / baseline): median {median_ratio:.2f}x, "
        f"mean {statistics.fmean(inst) / statistics.fmean(base):.2f}x; "
        f"+{statistics.median(inst) - statistics.median(base):.0f} µs per request (median)"
    )


if __name__ == "__main__":
    main()
