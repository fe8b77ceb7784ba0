"""Embedded LGTM server: ingest rate, query latency, startup and memory, beside references.

Starts a fresh server process (``python -m labkit.lgtm``) with a temporary data dir and
free ports and, with a single-threaded Python client over one keep-alive connection:

- startup: time until ``/labkit/status`` answers, three starts (the first may be cold);
- OTLP/HTTP protobuf traces, 500-span batches, 2 span attributes each, span metrics on;
- Loki push JSON, 1,000-line batches of logfmt lines over 10 streams;
- p50/p95 latency of tutorial Tempo and LogQL queries (line filters, logfmt and json
  parsers, metric queries) over the ingested data;
- peak RSS of the server (VmHWM) after 1M pushed log lines;
- PromQL and remote write side by side with Prometheus (``promql_vs_prometheus.run``),
  when Debian's ``prometheus`` is installed.

No Loki or Tempo can be installed on this machine kind (not in Debian 12, no binary on
PyPI, no container registry or Go proxy reachable), so ingest figures print beside the
targets and beside the Loki/Tempo figures recorded on a machine of this kind, marked
as recorded, not measured in this run.

``--profile DIR`` attaches py-spy to the server for each phase and prints the top
entries by self and by total time (and import times of startup).

Usage: python benchmarks/lgtm_ingest_query.py [--spans 100000] [--lines 100000] [--profile DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from labkit.lgtm.testing import add_attribute, free_port

TARGET_SPANS_PER_S = 60_000
TARGET_LINES_PER_S = 100_000
TARGET_STARTUP_S = 1.0
TARGET_QUERY_P95_MS = 50.0
TARGET_PEAK_RSS_MB = 500.0
# Recorded with this client on a machine of this kind (the table); no Loki or
# Tempo can run here, so these stand in as the reference, labelled as recorded.
RECORDED_LOKI_LINES_PER_S = 148_000
RECORDED_TEMPO_SPANS_PER_S = 94_000
SERVICES = ("shop-frontend", "checkout", "payments", "inventory", "email")
ROUTES = ("/", "/cart", "/checkout", "/product/{id}", "/api/pay")
LOG_STREAMS = 10


def span_batches(total: int, per_batch: int, t0: int, rnd: random.Random) -> tuple[list[bytes], list[str]]:
    """Traces of 10 spans across the services, 2 attributes a span; one resource per service per batch."""
    bodies, trace_ids = [], []
    made = 0
    while made < total:
        req = ExportTraceServiceRequest()
        scopes = {}
        for service in SERVICES:
            rs = req.resource_spans.add()
            add_attribute(rs.resource.attributes, "service.name", service)
            add_attribute(rs.resource.attributes, "deployment.environment", "lab")
            ss = rs.scope_spans.add()
            ss.scope.name = "labkit.bench"
            scopes[service] = ss
        n = min(per_batch, total - made)
        for i in range(0, n, 10):
            trace_id = rnd.randbytes(16)
            trace_ids.append(trace_id.hex())
            start = t0 + (made + i) * 1_000_000
            parent = b""
            for j in range(min(10, n - i)):
                service = SERVICES[j % len(SERVICES)]
                span = scopes[service].spans.add()
                span.trace_id = trace_id
                span.span_id = rnd.randbytes(8)
                span.parent_span_id = parent
                parent = parent or span.span_id
                route = ROUTES[(i // 10 + j) % len(ROUTES)]
                span.name = f"GET {route}"
                span.kind = 2 if j == 0 else 3
                span.start_time_unix_nano = start + j * 100_000
                span.end_time_unix_nano = span.start_time_unix_nano + rnd.randint(1, 300) * 1_000_000
                status = 500 if rnd.random() < 0.05 else 200
                add_attribute(span.attributes, "http.route", route)
                add_attribute(span.attributes, "http.response.status_code", status)
                if status == 500:
                    span.status.code = 2
                    span.status.message = "upstream failed"
        made += n
        bodies.append(req.SerializeToString())
    return bodies, trace_ids


def _stream_labels(s: int) -> dict[str, str]:
    return {"service_name": SERVICES[s % len(SERVICES)], "pod": f"pod-{s}", "env": "lab"}


def loki_batch(first: int, n: int, t0: int, rnd: random.Random, json_lines: bool = False) -> bytes:
    """One Loki push JSON body: ``n`` logfmt (or JSON) lines spread over the 10 streams."""
    values: list[list[list[str]]] = [[] for _ in range(LOG_STREAMS)]
    for k in range(first, first + n):
        error = rnd.random() < 0.05
        status = 500 if error else 200
        route = ROUTES[k % len(ROUTES)]
        duration = rnd.randint(1, 900)
        level = "error" if error else "info"
        if json_lines:
            line = json.dumps(
                {"level": level, "method": "GET", "route": route, "status": status, "duration_ms": duration}
            )
        else:
            line = f"level={level} method=GET route={route} status={status} duration={duration}ms"
        values[k % LOG_STREAMS].append([str(t0 + k * 1_000_000), line])
    streams = []
    for s, vals in enumerate(values):
        if vals:
            labels = _stream_labels(s)
            if json_lines:
                labels["format"] = "json"
            streams.append({"stream": labels, "values": vals})
    return json.dumps({"streams": streams}).encode()


def log_batches(total: int, per_batch: int, t0: int, rnd: random.Random) -> list[bytes]:
    return [loki_batch(i, min(per_batch, total - i), t0, rnd) for i in range(0, total, per_batch)]


class IngestFailed(RuntimeError):
    pass


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), to rate the server apart from the client."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Poster:
    """One keep-alive HTTP connection; ``post`` raises IngestFailed on anything but 2xx."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def post(self, path: str, body: bytes, content_type: str) -> None:
        self.conn.request("POST", path, body=body, headers={"Content-Type": content_type})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status // 100 != 2:
            raise IngestFailed(f"ingest failed: {resp.status} {data[:300]!r}")

    def close(self) -> None:
        self.conn.close()


_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"


def _ingest(
    pid: int, port: int, path: str, bodies: list[bytes], ctype: str, items: int
) -> tuple[float, float]:
    poster = Poster(port)
    try:
        cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
        for body in bodies:
            poster.post(path, body, ctype)
        wall, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    finally:
        poster.close()
    return items / wall, items / max(cpu, 1e-9)


def _server_env(data_dir: Path, ports: dict[str, int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    env.update(
        LABKIT_DATA_DIR=str(data_dir),
        LABKIT_BACKEND="embedded",
        LABKIT_OTLP_GRPC_ENDPOINT=f"http://127.0.0.1:{ports['otlp_grpc']}",
        LABKIT_OTLP_HTTP_ENDPOINT=f"http://127.0.0.1:{ports['otlp_http']}",
        LABKIT_TEMPO_URL=f"http://127.0.0.1:{ports['tempo']}",
        LABKIT_LOKI_URL=f"http://127.0.0.1:{ports['loki']}",
        LABKIT_MIMIR_URL=f"http://127.0.0.1:{ports['mimir']}/prometheus",
        LABKIT_LLM_URL=f"http://127.0.0.1:{ports['llm']}",
    )
    return env


def start_server(
    data_dir: Path, import_times: bool = False
) -> tuple[subprocess.Popen[bytes], dict[str, int], float]:
    data_dir.mkdir(parents=True, exist_ok=True)
    ports = {name: free_port() for name in ("otlp_grpc", "otlp_http", "tempo", "loki", "mimir", "llm")}
    env = _server_env(data_dir, ports)
    if import_times:
        env["PYTHONPROFILEIMPORTTIME"] = "1"
    began = time.perf_counter()
    with open(data_dir / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.lgtm"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    while time.perf_counter() - began < 30:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            status, body = _get(ports["otlp_http"], "/labkit/status")
            # The pid tells this server apart from another program that took the free port first.
            if status == 200 and json.loads(body).get("pid") == proc.pid:
                return proc, ports, time.perf_counter() - began
        except (OSError, ValueError):
            pass
        time.sleep(0.005)
    proc.kill()
    raise SystemExit("server did not become ready in 30 s")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def measure_startup(runs: int, profile_dir: Path | None) -> list[float]:
    times = []
    for i in range(runs):
        folder = Path(tempfile.mkdtemp(prefix="labkit-bench-start-"))
        try:
            proc, _, took = start_server(folder, import_times=profile_dir is not None and i == runs - 1)
            stop_server(proc)
            times.append(took)
            if profile_dir is not None and i == runs - 1:
                shutil.copy(folder / "server.log", profile_dir / "startup-importtime.txt")
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return times


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------
# Profiles: py-spy attached to the server process for one phase at a time.
# ---------------------------------------------------------------------------------


@contextlib.contextmanager
def profiled(pid: int, profile_dir: Path | None, phase: str):  # type: ignore[no-untyped-def]
    if profile_dir is None:
        yield
        return
    out = profile_dir / f"{phase}.txt"
    spy = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    proc = subprocess.Popen(
        [spy, "record", "--pid", str(pid), "--rate", "200", "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(0.5)  # py-spy attaches before the phase starts
    try:
        yield
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(60)


_LINE_NO = re.compile(r":\d+\)")
# Leaf frames of a thread waiting for work (py-spy cannot always tell idle threads apart).
_IDLE = re.compile(
    r"(_worker \(concurrent/futures/thread\.py|Thread\.run \(threading\.py|\w*Selector\.select \(selectors"
    r"|wait \(threading\.py|_wait_for_tstate_lock|get \(queue\.py)"
)


def top_entries(raw: Path, n: int = 12) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """(self, total) shares of samples per function from a py-spy raw (collapsed-stack) file.

    Idle worker threads (waiting on a lock or a queue) are left out, so shares are of busy time.
    """
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [_LINE_NO.sub(")", f) for f in stack.split(";")]
        leaf = frames[-1]
        if _IDLE.match(leaf):
            continue
        count = int(count_text)
        samples += count
        own[leaf] += count
        for f in set(frames[1:]):
            total[f] += count
    if not samples:
        return [], []

    def share(c: Counter[str]) -> list[tuple[str, float]]:
        return [(name, 100 * k / samples) for name, k in c.most_common(n)]

    return share(own), share(total)


def print_profile(profile_dir: Path, phase: str) -> None:
    raw = profile_dir / f"{phase}.txt"
    if not raw.exists():
        print(f"profile {phase}: no py-spy output")
        return
    own, total = top_entries(raw)
    print(f"profile {phase} (share of busy samples): top self")
    for name, pct in own:
        print(f"  {pct:5.1f}%  {name}")
    print(f"profile {phase}: top total")
    for name, pct in total:
        print(f"  {pct:5.1f}%  {name}")


def print_import_profile(path: Path, n: int = 12) -> None:
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|(\s*)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), len(m.group(3)), m.group(4)))
    top = sorted((r for r in rows if r[1] <= 3), reverse=True)[:n]
    print("profile startup: largest imports (cumulative ms)")
    for us, _, name in top:
        print(f"  {us / 1000:7.1f} ms  {name}")


# ---------------------------------------------------------------------------------
# Query latency (Tempo / Loki tutorial queries at lab scale).
# ---------------------------------------------------------------------------------


def tempo_queries(trace_ids: list[str], start_s: int, end_s: int) -> list[str]:
    window = f"&start={start_s}&end={end_s}"
    q = urllib.parse.quote
    return [
        f"/api/traces/{trace_ids[len(trace_ids) // 2]}",
        f"/api/v2/traces/{trace_ids[-1]}",
        "/api/search?q=" + q('{resource.service.name="checkout"}') + "&limit=20" + window,
        "/api/search?q=" + q("{span.http.response.status_code >= 500}") + "&limit=20" + window,
        "/api/search?q=" + q("{duration > 250ms}") + "&limit=20" + window,
        "/api/search?q=" + q('{status = error && resource.service.name = "payments"}') + "&limit=20" + window,
        "/api/search?q=" + q("{} | count() > 5") + "&limit=20" + window,
        "/api/search/tags",
        "/api/search/tag/service.name/values",
    ]


LOKI_QUERIES = [
    ('{service_name="checkout"}', "log"),
    ('{service_name="checkout"} |= "status=500"', "log"),
    ('{service_name=~".+"} |~ "route=/cart.*status=500"', "log"),
    ('{service_name=~".+"} != "level=info"', "log"),
    ('{service_name=~".+"} | logfmt | duration > 500ms', "log"),
    ('{service_name="payments"} | logfmt | status >= 500 | line_format "{{.route}} {{.duration}}"', "log"),
    ('{format="json"} | json | status >= 500', "log"),
    ('{format="json"} | json | route = "/cart"', "log"),
    ('sum by (service_name) (count_over_time({service_name=~".+"}[1m]))', "metric"),
    ('rate({service_name="payments"} |= "level=error" [5m])', "metric"),
    ('sum by (route) (count_over_time({service_name=~".+"} | logfmt | status >= 500 [5m]))', "metric"),
    (
        'quantile_over_time(0.95, {service_name="checkout"} | logfmt | __error__="" '
        "| unwrap duration(duration) [5m])",
        "metric",
    ),
]


def loki_queries(start_ns: int, end_ns: int) -> list[str]:
    window = f"&start={start_ns}&end={end_ns}"
    q = urllib.parse.quote
    out = []
    for query, kind in LOKI_QUERIES:
        extra = "&limit=100" if kind == "log" else "&step=60"
        out.append("/loki/api/v1/query_range?query=" + q(query) + extra + window)
    out += [
        "/loki/api/v1/labels?" + window.lstrip("&"),
        "/loki/api/v1/label/service_name/values?" + window.lstrip("&"),
    ]
    return out


def measure_queries(port: int, paths: list[str], repeat: int) -> dict[str, Any]:
    status, _ = _get(port, paths[0])
    if status == 404:
        return {"skipped": "API not mounted"}
    timings: list[float] = []
    errors: list[str] = []
    slowest: list[tuple[float, str]] = []
    for path in paths:
        _get(port, path)  # warm-up
        mine = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            status, body = _get(port, path)
            mine.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(f"{status} {path}: {body[:160]!r}")
                break
        timings += mine
        slowest.append((statistics.median(mine), urllib.parse.unquote(path)[:110]))
    timings.sort()
    return {
        "queries": len(paths),
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
        "errors": errors,
        "per_query_median_ms": sorted(slowest, reverse=True),
    }


def push_until(port: int, pid: int, have: int, total: int, per_batch: int, t0: int) -> tuple[float, float]:
    """Push generated batches until ``total`` lines are in; returns (lines/s wall, peak RSS MB)."""
    rnd = random.Random(7)
    poster = Poster(port)
    try:
        began = time.perf_counter()
        pushed = 0
        for first in range(have, total, per_batch):
            n = min(per_batch, total - first)
            poster.post("/loki/api/v1/push", loki_batch(first, n, t0, rnd), _JSON)
            pushed += n
        rate = pushed / (time.perf_counter() - began) if pushed else 0.0
    finally:
        poster.close()
    return rate, _peak_rss_mb(pid)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--json-lines", type=int, default=20_000, help="JSON log lines for the json parser")
    parser.add_argument("--rss-lines", type=int, default=1_000_000, help="lines pushed before peak RSS")
    parser.add_argument("--span-batch", type=int, default=500)
    parser.add_argument("--log-batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query")
    parser.add_argument("--promql-hours", type=int, default=3)
    parser.add_argument("--no-promql", action="store_true")
    parser.add_argument("--profile", type=Path, help="write py-spy profiles per phase here and print them")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)

    rnd = random.Random(42)
    now = time.time_ns()
    t0 = now - 20 * 60 * 10**9
    spans, trace_ids = span_batches(args.spans, args.span_batch, t0, rnd)
    logs = log_batches(args.lines, args.log_batch, t0, rnd)
    json_logs = [
        loki_batch(i, min(args.log_batch, args.json_lines - i), t0, rnd, json_lines=True)
        for i in range(0, args.json_lines, args.log_batch)
    ]

    figures: dict[str, Any] = {}
    startups = measure_startup(3, args.profile)
    figures["startup_s"] = startups
    data_dir = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    proc, ports, _ = start_server(data_dir)
    pid = proc.pid
    try:
        # Warm up imports and the first DuckDB allocation outside the measurement.
        _ingest(pid, ports["otlp_http"], "/v1/traces", spans[:1], _PROTOBUF, 1)
        _ingest(pid, ports["loki"], "/loki/api/v1/push", logs[:1], _JSON, 1)
        with profiled(pid, args.profile, "ingest-otlp-traces"):
            s_wall, s_cpu = _ingest(
                pid, ports["otlp_http"], "/v1/traces", spans[1:], _PROTOBUF, args.spans - args.span_batch
            )
        with profiled(pid, args.profile, "ingest-loki-push"):
            l_wall, l_cpu = _ingest(
                pid, ports["loki"], "/loki/api/v1/push", logs[1:], _JSON, args.lines - args.log_batch
            )
        _ingest(pid, ports["loki"], "/loki/api/v1/push", json_logs, _JSON, 1)
        figures.update(
            spans_per_s=s_wall, spans_per_server_cpu_s=s_cpu, lines_per_s=l_wall, lines_per_server_cpu_s=l_cpu
        )
        end_ns = time.time_ns() + 60 * 10**9
        with profiled(pid, args.profile, "query-tempo"):
            figures["tempo"] = measure_queries(
                ports["tempo"], tempo_queries(trace_ids, t0 // 10**9 - 60, end_ns // 10**9), args.repeat
            )
        with profiled(pid, args.profile, "query-loki"):
            paths = loki_queries(t0 - 60 * 10**9, end_ns)
            figures["loki"] = measure_queries(ports["loki"], paths, args.repeat)
        _, raw = _get(ports["otlp_http"], "/labkit/status")
        figures["rows"] = json.loads(raw)["signals"]
        if args.rss_lines > args.lines:
            rate, rss = push_until(ports["loki"], pid, args.lines, args.rss_lines, args.log_batch, t0)
            figures.update(sustained_lines_per_s=rate, peak_rss_mb=rss)
    except IngestFailed as exc:
        log_tail = (data_dir / "server.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{exc}\nserver log (tail):\n{log_tail}") from None
    finally:
        stop_server(proc)
        shutil.rmtree(data_dir, ignore_errors=True)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    warm = min(startups)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(
        f"startup: {', '.join(f'{t:.2f}' for t in startups)} s; warm {warm:.2f} s "
        f"(target <= {TARGET_STARTUP_S} s) {verdict(warm <= TARGET_STARTUP_S)}"
    )
    print(
        f"OTLP spans: {s_wall:,.0f}/s wall, {s_cpu:,.0f}/s per server CPU second "
        f"(target >= {TARGET_SPANS_PER_S:,}/s) {verdict(s_wall >= TARGET_SPANS_PER_S)}; "
        f"ratio to Tempo's recorded {RECORDED_TEMPO_SPANS_PER_S:,}/s: "
        f"{s_wall / RECORDED_TEMPO_SPANS_PER_S:.2f}"
    )
    print(
        f"Loki push lines: {l_wall:,.0f}/s wall, {l_cpu:,.0f}/s per server CPU second "
        f"(target >= {TARGET_LINES_PER_S:,}/s) {verdict(l_wall >= TARGET_LINES_PER_S)}; "
        f"ratio to Loki's recorded {RECORDED_LOKI_LINES_PER_S:,}/s: "
        f"{l_wall / RECORDED_LOKI_LINES_PER_S:.2f}"
    )
    print("  (no Loki/Tempo can be installed here; the recorded figures were not measured in this run)")
    for name in ("tempo", "loki"):
        q = figures[name]
        if "skipped" in q:
            print(f"{name} queries: skipped ({q['skipped']})")
            continue
        print(
            f"{name} queries: {q['queries']} x {args.repeat}: "
            f"p50 {q['p50_ms']:.1f} ms, p95 {q['p95_ms']:.1f} ms "
            f"(target p95 <= {TARGET_QUERY_P95_MS:.0f} ms) {verdict(q['p95_ms'] <= TARGET_QUERY_P95_MS)}"
        )
        for median, path in q["per_query_median_ms"][:5]:
            print(f"  median {median:6.1f} ms  {path}")
        for err in q["errors"]:
            print(f"  error: {err}")
    print(f"rows stored: {figures['rows']}")
    if "peak_rss_mb" in figures:
        print(
            f"sustained Loki push to {args.rss_lines:,} lines: "
            f"{figures['sustained_lines_per_s']:,.0f} lines/s "
            f"(client generates the bodies as it goes); peak RSS {figures['peak_rss_mb']:.0f} MB "
            f"(target <= {TARGET_PEAK_RSS_MB:.0f} MB) {verdict(figures['peak_rss_mb'] <= TARGET_PEAK_RSS_MB)}"
        )
    if args.profile:
        print_import_profile(args.profile / "startup-importtime.txt")
        for phase in ("ingest-otlp-traces", "ingest-loki-push", "query-tempo", "query-loki"):
            print_profile(args.profile, phase)
    if not args.no_promql:
        import promql_vs_prometheus

        # The PromQL comparison runs the embedded server in this process: profile this process.
        with profiled(os.getpid(), args.profile, "query-promql"):
            figures["promql"] = promql_vs_prometheus.run(args.promql_hours, 7)
        if args.profile:
            print_profile(args.profile, "query-promql")
        if "skipped" in figures["promql"]:
            print(f"promql: skipped ({figures['promql']['skipped']})")
    if args.json:
        print(json.dumps(figures, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
