"""Embedded LGTM server: OTLP/HTTP ingest rate and tutorial-query latency at lab scale.

Starts a fresh server process (``python -m labkit.lgtm``) with a temporary data dir
and free ports, sends protobuf batches over one keep-alive connection, and prints:

- startup time (target <= 2 s);
- spans/s and log lines/s, by wall clock and by the server's own CPU time (the
  "one core" figure: the client shares the machine, the server is single-threaded
  where it matters);
- p50/p95 latency of a tutorial query set (Tempo and Loki APIs) over the ingested
  data, for the APIs the server mounts.

Usage: python benchmarks/lgtm_ingest_query.py [--spans 100000] [--logs 100000]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from labkit.lgtm.testing import add_attribute, free_port

TARGET_SPANS_PER_S = 20_000
TARGET_LINES_PER_S = 50_000
TARGET_STARTUP_S = 2.0
TARGET_QUERY_P95_MS = 50.0
SERVICES = ("shop-frontend", "checkout", "payments", "inventory", "email")
ROUTES = ("/", "/cart", "/checkout", "/product/{id}", "/api/pay")


def span_batches(total: int, per_batch: int, t0: int, rnd: random.Random) -> tuple[list[bytes], list[str]]:
    """Traces of 10 spans across the services; one resource per service per batch."""
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
                add_attribute(span.attributes, "http.request.method", "GET")
                add_attribute(span.attributes, "http.response.status_code", status)
                add_attribute(span.attributes, "cache.hit", rnd.random() < 0.5)
                if status == 500:
                    span.status.code = 2
                    span.status.message = "upstream failed"
        made += n
        bodies.append(req.SerializeToString())
    return bodies, trace_ids


def log_batches(total: int, per_batch: int, t0: int, rnd: random.Random) -> list[bytes]:
    bodies = []
    made = 0
    while made < total:
        req = ExportLogsServiceRequest()
        n = min(per_batch, total - made)
        per_service = -(-n // len(SERVICES))
        for s, service in enumerate(SERVICES):
            rl = req.resource_logs.add()
            add_attribute(rl.resource.attributes, "service.name", service)
            add_attribute(rl.resource.attributes, "deployment.environment", "lab")
            sl = rl.scope_logs.add()
            sl.scope.name = "labkit.bench"
            for i in range(min(per_service, n - s * per_service)):
                k = made + s * per_service + i
                rec = sl.log_records.add()
                rec.time_unix_nano = t0 + k * 1_000_000
                rec.observed_time_unix_nano = rec.time_unix_nano
                error = rnd.random() < 0.05
                rec.severity_number = 17 if error else 9
                rec.severity_text = "ERROR" if error else "INFO"
                status = 500 if error else 200
                route = ROUTES[k % len(ROUTES)]
                duration = rnd.randint(1, 900)
                rec.body.string_value = f"method=GET route={route} status={status} duration={duration}ms"
                if k % 3 == 0:
                    rec.trace_id = rnd.randbytes(16)
                    rec.span_id = rnd.randbytes(8)
        made += n
        bodies.append(req.SerializeToString())
    return bodies


class IngestFailed(RuntimeError):
    pass


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process (Linux /proc), to rate the server apart from the client."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _post_all(port: int, path: str, bodies: list[bytes]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        for body in bodies:
            conn.request("POST", path, body=body, headers={"Content-Type": "application/x-protobuf"})
            resp = conn.getresponse()
            data = resp.read()
            if resp.status != 200:
                raise IngestFailed(f"ingest failed: {resp.status} {data[:300]!r}")
    finally:
        conn.close()


def _ingest(pid: int, port: int, path: str, bodies: list[bytes], items: int) -> tuple[float, float]:
    cpu0, t0 = _cpu_seconds(pid), time.perf_counter()
    _post_all(port, path, bodies)
    wall, cpu = time.perf_counter() - t0, _cpu_seconds(pid) - cpu0
    return items / wall, items / max(cpu, 1e-9)


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, int], float]:
    ports = {name: free_port() for name in ("otlp_grpc", "otlp_http", "tempo", "loki", "mimir")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    env.update(
        LABKIT_DATA_DIR=str(data_dir),
        LABKIT_BACKEND="embedded",
        LABKIT_OTLP_GRPC_ENDPOINT=f"http://127.0.0.1:{ports['otlp_grpc']}",
        LABKIT_OTLP_HTTP_ENDPOINT=f"http://127.0.0.1:{ports['otlp_http']}",
        LABKIT_TEMPO_URL=f"http://127.0.0.1:{ports['tempo']}",
        LABKIT_LOKI_URL=f"http://127.0.0.1:{ports['loki']}",
        LABKIT_MIMIR_URL=f"http://127.0.0.1:{ports['mimir']}/prometheus",
    )
    began = time.perf_counter()
    with open(data_dir / "server.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.lgtm"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    while time.perf_counter() - began < 30:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            status, _ = _get(ports["otlp_http"], "/labkit/status")
            if status == 200:
                return proc, ports, time.perf_counter() - began
        except OSError:
            pass
        time.sleep(0.01)
    proc.kill()
    raise SystemExit("server did not become ready in 30 s")


def _get(port: int, path: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


# ---------------------------------------------------------------------------------
# Query latency (Tempo / Loki tutorial queries at lab scale).
# The lead extends TEMPO_QUERIES / LOKI_QUERIES; a surface whose API is not mounted
# (404 on its first query) is reported as skipped.
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


def loki_queries(start_ns: int, end_ns: int) -> list[str]:
    window = f"&start={start_ns}&end={end_ns}"
    q = urllib.parse.quote
    return [
        "/loki/api/v1/query_range?query=" + q('{service_name="checkout"}') + "&limit=100" + window,
        "/loki/api/v1/query_range?query="
        + q('{service_name="checkout"} |= "status=500"')
        + "&limit=100"
        + window,
        "/loki/api/v1/query_range?query="
        + q('{service_name=~".+"} | logfmt | duration > 500ms')
        + "&limit=100"
        + window,
        "/loki/api/v1/query_range?query="
        + q('sum by (service_name) (count_over_time({service_name=~".+"}[1m]))')
        + "&step=60"
        + window,
        "/loki/api/v1/query_range?query="
        + q('rate({service_name="payments"} |= "ERROR" [5m])')
        + "&step=60"
        + window,
        "/loki/api/v1/labels?" + window.lstrip("&"),
        "/loki/api/v1/label/service_name/values?" + window.lstrip("&"),
    ]


def measure_queries(port: int, paths: list[str], repeat: int) -> dict[str, Any]:
    status, _ = _get(port, paths[0])
    if status == 404:
        return {"skipped": "API not mounted"}
    timings: list[float] = []
    errors: list[str] = []
    for path in paths:
        for _ in range(repeat):
            t0 = time.perf_counter()
            status, body = _get(port, path)
            timings.append((time.perf_counter() - t0) * 1000)
            if status != 200:
                errors.append(f"{status} {path}: {body[:120]!r}")
                break
    timings.sort()
    return {
        "queries": len(paths),
        "p50_ms": statistics.median(timings),
        "p95_ms": timings[int(0.95 * (len(timings) - 1))],
        "errors": errors,
    }


def store_breakdown(spans: list[bytes], per_batch: int) -> dict[str, float]:
    """In-process spans per CPU second of decode + store_traces, with and without the TRACE_HOOKS.

    Tells the receiver/store cost apart from the derived-metrics hooks when the
    end-to-end figure is below target.
    """
    from labkit.lgtm.db import Database
    from labkit.lgtm.otlp.decode import decode_request
    from labkit.lgtm.server import _import_signal_modules
    from labkit.lgtm.traces import store

    _import_signal_modules()
    with contextlib.suppress(ModuleNotFoundError):
        import labkit.lgtm.traces.api  # noqa: F401  (appends the span-metrics hook)
    hooks = list(store.TRACE_HOOKS)
    out = {}
    sample = spans[: min(len(spans), 40)]
    for label, active in (("store_only", []), ("store_with_hooks", hooks)):
        folder = Path(tempfile.mkdtemp(prefix="labkit-bench-store-"))
        db = Database(folder / "lgtm.duckdb")
        store.TRACE_HOOKS[:] = active
        try:
            with db.transaction() as con:  # warm-up: first Arrow import and allocation
                store.store_traces(db, con, decode_request("traces", spans[-1], "application/x-protobuf"))
            # CPU time, not wall time: the machine may be shared and commits wait on fsync.
            t0 = time.process_time()
            for body in sample:
                req = decode_request("traces", body, "application/x-protobuf")
                with db.transaction() as con:
                    store.store_traces(db, con, req)
            out[label] = len(sample) * per_batch / (time.process_time() - t0)
        finally:
            store.TRACE_HOOKS[:] = hooks
            db.close()
            shutil.rmtree(folder, ignore_errors=True)
    out["hooks"] = len(hooks)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spans", type=int, default=100_000)
    parser.add_argument("--logs", type=int, default=100_000)
    parser.add_argument("--span-batch", type=int, default=500)
    parser.add_argument("--log-batch", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=20, help="runs of each query")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args(argv)

    rnd = random.Random(42)
    now = time.time_ns()
    t0 = now - 20 * 60 * 10**9
    spans, trace_ids = span_batches(args.spans, args.span_batch, t0, rnd)
    logs = log_batches(args.logs, args.log_batch, t0, rnd)

    data_dir = Path(tempfile.mkdtemp(prefix="labkit-bench-"))
    figures: dict[str, Any] = {}
    proc, ports, startup = start_server(data_dir)
    try:
        figures["startup_s"] = startup
        # Warm up imports and the first DuckDB allocation outside the measurement.
        _post_all(ports["otlp_http"], "/v1/traces", spans[:1])
        _post_all(ports["otlp_http"], "/v1/logs", logs[:1])
        s_wall, s_cpu = _ingest(
            proc.pid, ports["otlp_http"], "/v1/traces", spans[1:], args.spans - args.span_batch
        )
        l_wall, l_cpu = _ingest(
            proc.pid, ports["otlp_http"], "/v1/logs", logs[1:], args.logs - args.log_batch
        )
        figures.update(
            spans_per_s=s_wall, spans_per_server_cpu_s=s_cpu, lines_per_s=l_wall, lines_per_server_cpu_s=l_cpu
        )
        end_ns = time.time_ns() + 60 * 10**9
        figures["tempo"] = measure_queries(
            ports["tempo"], tempo_queries(trace_ids, t0 // 10**9 - 60, end_ns // 10**9), args.repeat
        )
        figures["loki"] = measure_queries(ports["loki"], loki_queries(t0 - 60 * 10**9, end_ns), args.repeat)
        _, raw = _get(ports["otlp_http"], "/labkit/status")
        figures["rows"] = json.loads(raw)["signals"]
    except IngestFailed as exc:
        log_tail = (data_dir / "server.log").read_text(errors="replace")[-3000:]
        raise SystemExit(f"{exc}\nserver log (tail):\n{log_tail}") from None
    finally:
        proc.terminate()
        proc.wait(30)
        shutil.rmtree(data_dir, ignore_errors=True)

    def verdict(ok: bool) -> str:
        return "ok" if ok else "BELOW TARGET"

    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    print(f"startup: {startup:.2f} s (target <= {TARGET_STARTUP_S} s) {verdict(startup <= TARGET_STARTUP_S)}")
    print(
        f"spans: {s_wall:,.0f}/s wall, {s_cpu:,.0f}/s per server CPU second "
        f"(target >= {TARGET_SPANS_PER_S:,}/s) {verdict(s_cpu >= TARGET_SPANS_PER_S)}"
    )
    print(
        f"log lines: {l_wall:,.0f}/s wall, {l_cpu:,.0f}/s per server CPU second "
        f"(target >= {TARGET_LINES_PER_S:,}/s) {verdict(l_cpu >= TARGET_LINES_PER_S)}"
    )
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
        for err in q["errors"]:
            print(f"  error: {err}")
    print(f"rows stored: {figures['rows']}")
    breakdown = store_breakdown(spans, args.span_batch)
    figures["store_breakdown"] = breakdown
    print(
        f"in-process decode+store, {args.span_batch}-span batches, per CPU second: "
        f"{breakdown['store_only']:,.0f} spans/s without hooks, {breakdown['store_with_hooks']:,.0f} spans/s "
        f"with the {breakdown['hooks']:.0f} TRACE_HOOKS (span metrics)"
    )
    if args.json:
        print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
