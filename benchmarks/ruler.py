"""One ruler cycle of 20 rules (target <= 100 ms) on the embedded server's stores.

    python benchmarks/ruler.py [--series 200] [--lines 20000] [--cycles 30]

Data: ``--series`` counter and gauge series over the last hour at 15 s, and ``--lines``
log lines over the last 10 minutes in 8 streams. Rules: 14 PromQL rules (recording
rules over rate/sum/histogram-style queries, alerts with ``for:`` and templates, one
reading a series recorded earlier in the cycle) and 6 LogQL rules
(count_over_time/rate with line filters, one alerting on "hallucination"). A cycle is
``Ruler.evaluate_all``: every rule evaluated, results, ALERTS and stale markers written
to the store. Prints the median and p95 of a cycle, and per engine.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from labkit.lgtm.logs import store as log_store
from labkit.lgtm.logs.push import LokiEntry, LokiPush, LokiStream
from labkit.lgtm.metrics.store import append_samples
from labkit.lgtm.rules import Ruler
from labkit.lgtm.testing import running_server

PROMQL_RULES = """\
groups:
  - name: api
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
      - record: job_code:http_requests:rate5m
        expr: sum by (job, code) (rate(http_requests_total[5m]))
      - record: instance:http_requests:increase15m
        expr: sum by (instance) (increase(http_requests_total[15m]))
      - record: job:http_errors:ratio5m
        expr: |
          sum by (job) (rate(http_requests_total{code=~"5.."}[5m]))
            / sum by (job) (rate(http_requests_total[5m]))
      - alert: HighErrorRatio
        expr: job:http_errors:ratio5m > 0.05
        for: 5m
        labels: {severity: page}
        annotations: {summary: "{{ $labels.job }} errors at {{ $value | humanizePercentage }}"}
      - alert: TrafficDrop
        expr: job:http_requests:rate5m < 0.1
        for: 10m
      - record: instance:temperature:avg10m
        expr: avg_over_time(temperature_celsius[10m])
      - alert: HotZone
        expr: max by (zone) (temperature_celsius) > 30
        annotations: {summary: "zone {{ $labels.zone }} at {{ $value }}"}
      - alert: DiskFillingUp
        expr: predict_linear(disk_used_bytes[30m], 3600) > 9e9
        for: 15m
      - record: zone:temperature:deriv15m
        expr: sum by (zone) (deriv(temperature_celsius[15m]))
      - alert: TopTalkers
        expr: topk(3, sum by (instance) (rate(http_requests_total[5m]))) > 1
      - record: job:up:count
        expr: count by (job) (temperature_celsius)
      - alert: NoData
        expr: absent(http_requests_total{job="api"})
      - record: job:quantile:p90
        expr: quantile by (job) (0.9, rate(http_requests_total[5m]))
"""
LOGQL_RULES = """\
groups:
  - name: logs
    rules:
      - alert: HallucinationDetected
        expr: sum by (service_name) (count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0
        for: 1m
        annotations: {summary: "{{ $value }} unsupported sentences"}
      - record: service:log_lines:rate5m
        expr: sum by (service_name) (rate({service_name=~".+"}[5m]))
      - record: service:errors:count5m
        expr: sum by (service_name) (count_over_time({service_name=~".+"} |= "error" [5m]))
      - alert: ErrorBurst
        expr: sum by (service_name) (rate({service_name=~".+"} |= "error" [1m])) > 5
      - record: rag:answers:count10m
        expr: sum(count_over_time({service_name="rag"} |= "answer" [10m]))
      - alert: Timeouts
        expr: sum(count_over_time({service_name=~"api|web"} |~ "timeout|timed out" [5m])) > 10
"""


def _load(srv, n_series: int, n_lines: int, now_ms: int) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(7)
    samples = []
    ts = np.arange(now_ms - 3_600_000, now_ms + 1, 15_000)
    per_kind = max(1, n_series // 3)
    for i in range(per_kind):
        labels = {
            "__name__": "http_requests_total",
            "job": ("api", "web")[i % 2],
            "instance": f"i{i % 10}",
            "code": ("200", "404", "500")[i % 3],
            "shard": str(i),
        }
        total = np.cumsum(rng.poisson(3, len(ts))).astype(float)
        samples += [(labels, int(t), float(v)) for t, v in zip(ts, total, strict=True)]
    for i in range(per_kind):
        labels = {"__name__": "temperature_celsius", "zone": "abcd"[i % 4], "sensor": str(i), "job": "env"}
        vals = 20 + 5 * np.sin(ts / 600_000 + i) + rng.normal(0, 0.3, len(ts))
        samples += [(labels, int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    for i in range(n_series - 2 * per_kind):
        labels = {"__name__": "disk_used_bytes", "device": f"d{i}", "job": "node"}
        vals = 5e9 + np.arange(len(ts)) * 1e5 * (i % 5)
        samples += [(labels, int(t), float(v)) for t, v in zip(ts, vals, strict=True)]
    with srv.db.transaction() as con:
        append_samples(srv.db, con, samples)
    words = ["answer ok", "error while parsing", "request timeout", "hallucination detected", "all good"]
    services = ["rag", "api", "web", "worker"]
    streams = []
    per_stream = n_lines // 8
    for s in range(8):
        service = services[s % 4]
        stamps = np.sort(rng.integers(now_ms - 600_000, now_ms, per_stream)) * 1_000_000
        entries = [LokiEntry(int(t), f"{words[int(rng.integers(0, 5))]} n={k}") for k, t in enumerate(stamps)]
        streams.append(LokiStream({"service_name": service, "pod": f"p{s}"}, entries))
    with srv.db.transaction() as con:
        log_store.store_loki_push(srv.db, con, LokiPush(streams))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=200)
    parser.add_argument("--lines", type=int, default=20_000)
    parser.add_argument("--cycles", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        (root / "prom.yaml").write_text(PROMQL_RULES)
        (root / "loki.yaml").write_text(LOGQL_RULES)
        now = int(time.time() * 1000)
        with running_server(root / "srv") as srv:
            started = time.perf_counter()
            _load(srv, args.series, args.lines, now)
            load_s = time.perf_counter() - started
            ruler = Ruler(
                srv.db, rule_files=[str(root / "prom.yaml")], loki_rule_files=[str(root / "loki.yaml")]
            )
            problems = ruler.reload()
            assert not problems, problems
            groups = ruler.groups()
            n_rules = sum(len(g.rules) for g in groups)
            ruler.evaluate_all(now)  # warm: first compile of caches, index mirror
            cycles, per_engine = [], {"promql": [], "logql": []}
            per_rule: dict[str, list[float]] = {}
            for k in range(args.cycles):
                t = now + (k + 1) * 1000
                c0 = time.perf_counter()
                for g in groups:
                    g0 = time.perf_counter()
                    ruler.evaluate_group(g, t)
                    per_engine[g.engine].append(time.perf_counter() - g0)
                cycles.append(time.perf_counter() - c0)
                for g in groups:
                    for r in g.rules:
                        per_rule.setdefault(r.rule.name, []).append(r.eval_seconds)
            bad = [(r.rule.name, r.last_error) for g in groups for r in g.rules if r.health != "ok"]
            firing = sum(
                1
                for g in groups
                for r in g.rules
                if r.alerting is not None and r.alerting.state() == "firing"
            )
    ms = sorted(c * 1000 for c in cycles)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"data: {args.series} series x 241 samples, {args.lines} log lines (loaded in {load_s:.1f} s)")
    print(
        f"rules: {n_rules} ({sum(len(g.rules) for g in groups if g.engine == 'promql')} PromQL, "
        f"{sum(len(g.rules) for g in groups if g.engine == 'logql')} LogQL), unhealthy: {bad or 'none'}, "
        f"firing alert rules: {firing}"
    )
    print(
        f"one ruler cycle: median {statistics.median(ms):.1f} ms, p95 {p95:.1f} ms, "
        f"min {ms[0]:.1f} ms over {len(ms)} cycles (target <= 100 ms)"
    )
    slowest = sorted(per_rule.items(), key=lambda kv: -statistics.median(kv[1]))[:8]
    print(
        "  slowest rules (median ms): "
        + ", ".join(f"{n} {statistics.median(v) * 1000:.1f}" for n, v in slowest)
    )
    for engine, values in per_engine.items():
        v = sorted(x * 1000 for x in values)
        print(f"  {engine} group: median {statistics.median(v):.1f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
