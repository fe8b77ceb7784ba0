"""Speed of the embedded Loki: ingest over HTTP and a tutorial LogQL query set at lab scale.

    python benchmarks/loki_query.py [--lines 100000] [--repeat 20] [--batch 1000]

A real embedded server is started in a subprocess (``python -m labkit.lgtm`` on free
loopback ports, store in a temporary directory). The client then

1. sends half of the lines as OTLP/HTTP protobuf (``POST <otlp_http>/v1/logs``) and half
   as Loki push JSON (``POST <loki>/loki/api/v1/push``) in batches, and prints lines/s of
   each path, end to end (request bodies are built before the clock starts);
2. runs the query set ``--repeat`` times over the last hour and prints p50/p95 latency per
   query (after one untimed run) and the server's CPU time per run (``cpu``, Linux only):
   on a shared machine the latency includes waiting for a core, the CPU time does not.

Targets (issue 3, one core): >= 50,000 log lines/s ingest; query p95 <= 50 ms.
The data: ``--lines`` lines over the hour before now, 5 services x 2 environments;
checkout/cart/auth log logfmt, payments/frontend log JSON; about 2 % are 5xx errors.
OTLP records carry severity, observed time and (for most) trace/span ids, as the OTel SDK
sends them, so their structured metadata differs line by line.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

INGEST_TARGET = 50_000.0  # lines/s
QUERY_P95_TARGET_MS = 50.0

SERVICES = {
    "checkout": "logfmt",
    "cart": "logfmt",
    "auth": "logfmt",
    "payments": "json",
    "frontend": "json",
}
ENVS = ("prod", "staging")
PATHS = ("/api/cart", "/api/checkout", "/api/pay", "/api/login", "/", "/api/items", "/health")
METHODS = ("GET", "GET", "GET", "POST", "PUT")
PORT_FIELDS = ("otlp_grpc_endpoint", "otlp_http_endpoint", "tempo_url", "loki_url", "mimir_url")

# The tutorial query set: (name, kind, query, extra parameters). ``range`` runs over the last hour.
QUERIES: list[tuple[str, str, str, dict[str, str]]] = [
    ("selector limit 100", "range", '{service_name="checkout"}', {"limit": "100"}),
    ("line filter", "range", '{deployment_environment="prod"} |= "status=500"', {"limit": "100"}),
    ("logfmt status>=500", "range", '{service_name="checkout"} | logfmt | status>=500', {"limit": "100"}),
    ("json level=error", "range", '{service_name="payments"} | json | level="error"', {"limit": "100"}),
    (
        "sum(rate |= ) instant",
        "instant",
        'sum(rate({deployment_environment="prod"} |= "level=error" [5m]))',
        {},
    ),
    (
        "sum(rate |= ) 1h/60s",
        "range",
        'sum(rate({deployment_environment="prod"} |= "level=error" [5m]))',
        {"step": "60"},
    ),
    (
        "sum by count_over_time 1h/60s",
        "range",
        'sum by (service_name) (count_over_time({deployment_environment="prod"}[1m]))',
        {"step": "60"},
    ),
    (
        "topk logfmt [20m]",
        "instant",
        'topk(3, sum by (path) (count_over_time({service_name="checkout"} | logfmt [20m])))',
        {},
    ),
    (
        "bytes_over_time by level 1h/5m",
        "range",
        'sum by (detected_level) (bytes_over_time({service_name=~"cart|auth"}[5m]))',
        {"step": "300"},
    ),
]


@dataclass(frozen=True)
class Record:
    ts_ns: int
    service: str
    env: str
    level: str
    line: str


def make_records(n: int, end_ns: int, seed: int = 7) -> list[Record]:
    """``n`` log lines spread over the hour before ``end_ns``, in time order."""
    rng = random.Random(seed)
    span = 3600 * 10**9
    times = sorted(end_ns - span + rng.randrange(span) for _ in range(n))
    out = []
    for ts in times:
        service = rng.choice(list(SERVICES))
        env = "prod" if rng.random() < 0.7 else "staging"
        path, method = rng.choice(PATHS), rng.choice(METHODS)
        roll = rng.random()
        status = 500 if roll < 0.02 else 404 if roll < 0.06 else 200
        level = (
            "error" if status == 500 else "warn" if status == 404 else rng.choice(("info", "info", "debug"))
        )
        duration = rng.randrange(1, 900)
        if SERVICES[service] == "logfmt":
            line = (
                f"level={level} method={method} path={path} status={status} duration={duration}ms "
                f'user=u{rng.randrange(500)} msg="request handled"'
            )
        else:
            line = json.dumps(
                {
                    "level": level,
                    "method": method,
                    "path": path,
                    "status": status,
                    "duration_ms": duration,
                    "user": f"u{rng.randrange(500)}",
                    "msg": "request handled",
                },
                separators=(",", ":"),
            )
        out.append(Record(ts, service, env, level, line))
    return out


def otlp_bodies(records: list[Record], batch: int, seed: int = 11) -> list[bytes]:
    """ExportLogsServiceRequest protobuf bodies, one resource per (service, env) of a batch."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
    from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
    from opentelemetry.proto.logs.v1.logs_pb2 import SeverityNumber

    severity = {
        "debug": SeverityNumber.SEVERITY_NUMBER_DEBUG,
        "info": SeverityNumber.SEVERITY_NUMBER_INFO,
        "warn": SeverityNumber.SEVERITY_NUMBER_WARN,
        "error": SeverityNumber.SEVERITY_NUMBER_ERROR,
    }
    rng = random.Random(seed)
    bodies = []
    for i in range(0, len(records), batch):
        request = ExportLogsServiceRequest()
        groups: dict[tuple[str, str], Any] = {}
        for r in records[i : i + batch]:
            scope = groups.get((r.service, r.env))
            if scope is None:
                rl = request.resource_logs.add()
                for key, value in (("service.name", r.service), ("deployment.environment", r.env)):
                    rl.resource.attributes.append(KeyValue(key=key, value=AnyValue(string_value=value)))
                scope = groups[(r.service, r.env)] = rl.scope_logs.add()
                scope.scope.name = "app.requests"
            rec = scope.log_records.add()
            rec.time_unix_nano = r.ts_ns
            rec.observed_time_unix_nano = r.ts_ns + rng.randrange(10**6)
            rec.severity_number = severity[r.level]
            rec.severity_text = r.level.upper()
            rec.body.string_value = r.line
            if rng.random() < 0.8:
                rec.trace_id = rng.randbytes(16)
                rec.span_id = rng.randbytes(8)
        bodies.append(request.SerializeToString())
    return bodies


def push_bodies(records: list[Record], batch: int) -> list[bytes]:
    """Loki push JSON bodies, labelled like the OTLP resources (service_name, deployment_environment)."""
    bodies = []
    for i in range(0, len(records), batch):
        streams: dict[tuple[str, str], list[list[str]]] = {}
        for r in records[i : i + batch]:
            streams.setdefault((r.service, r.env), []).append([str(r.ts_ns), r.line])
        payload = {
            "streams": [
                {"stream": {"service_name": s, "deployment_environment": e}, "values": values}
                for (s, e), values in streams.items()
            ]
        }
        bodies.append(json.dumps(payload).encode())
    return bodies


# -- server -------------------------------------------------------------------------------
def _free_port() -> int:
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start_once(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]] | None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    urls: dict[str, str] = {}
    for field in PORT_FIELDS:
        suffix = "/prometheus" if field == "mimir_url" else ""
        urls[field] = f"http://127.0.0.1:{_free_port()}"
        env["LABKIT_" + field.upper()] = urls[field] + suffix
    env["LABKIT_BACKEND"] = "embedded"
    env["LABKIT_DATA_DIR"] = str(data_dir)
    with (data_dir / "server.log").open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "labkit.lgtm"], cwd=data_dir, env=env, stdout=log, stderr=log
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            ready = all(
                httpx.get(urls[name] + "/ready", timeout=1).status_code == 200
                for name in ("otlp_http_endpoint", "loki_url")
            )
        except httpx.HTTPError:
            ready = False
        if ready and proc.poll() is None:
            return proc, urls
        time.sleep(0.1)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(timeout=30)
    return None


def start_server(data_dir: Path) -> tuple[subprocess.Popen[bytes], dict[str, str]]:
    """Start ``python -m labkit.lgtm`` on free ports; retried, as a free port can be taken meanwhile."""
    for _ in range(3):
        started = _start_once(data_dir)
        if started is not None:
            return started
    log = (data_dir / "server.log").read_text(errors="replace")[-2000:]
    raise SystemExit(f"the embedded server did not start; its log ends with:\n{log}")


# -- measuring ----------------------------------------------------------------------------
def server_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of the server process (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def send_all(
    client: httpx.Client, url: str, bodies: list[bytes], content_type: str, pid: int
) -> tuple[float, float | None]:
    """POST every body in turn; returns (wall seconds, server CPU seconds) of all but the first.

    The first request warms the server up (lazy imports on the first insert) and is not timed.
    """

    def post(body: bytes) -> None:
        response = client.post(url, content=body, headers={"Content-Type": content_type})
        if response.status_code not in (200, 204):
            raise SystemExit(f"{url} answered {response.status_code}: {response.text[:300]}")

    post(bodies[0])
    cpu = server_cpu_s(pid)
    started = time.perf_counter()
    for body in bodies[1:]:
        post(body)
    wall = time.perf_counter() - started
    after = server_cpu_s(pid)
    return wall, (after - cpu if cpu is not None and after is not None else None)


def _rate_line(name: str, lines: int, wall: float, cpu: float | None) -> float:
    rate = lines / wall
    per_core = f"; {lines / cpu:10,.0f} lines per server CPU-second" if cpu else ""
    print(f"ingest {name:20} {rate:10,.0f} lines/s end to end{per_core} (target >= {INGEST_TARGET:,.0f})")
    return rate


def run_query(
    client: httpx.Client, loki: str, kind: str, query: str, extra: dict[str, str], now_ns: int
) -> Any:
    if kind == "instant":
        params = {"query": query, "time": str(now_ns), **extra}
        response = client.get(loki + "/loki/api/v1/query", params=params)
    else:
        params = {"query": query, "start": str(now_ns - 3600 * 10**9), "end": str(now_ns), **extra}
        response = client.get(loki + "/loki/api/v1/query_range", params=params)
    if response.status_code != 200:
        raise SystemExit(f"{query!r} answered {response.status_code}: {response.text[:300]}")
    return response.json()["data"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    lower = int(rank)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (rank - lower)


def _size(data: Any) -> str:
    result = data.get("result", [])
    if data.get("resultType") == "streams":
        return f"{sum(len(s['values']) for s in result)} lines"
    if data.get("resultType") == "matrix":
        return f"{len(result)} series x {max((len(s['values']) for s in result), default=0)}"
    return f"{len(result)} samples"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=100_000, help="log lines to ingest (half per path)")
    parser.add_argument("--batch", type=int, default=1000, help="lines per request")
    parser.add_argument("--repeat", type=int, default=20, help="runs per query")
    args = parser.parse_args(argv)

    now_ns = time.time_ns()
    records = make_records(args.lines, now_ns)
    otlp_records, push_records = records[0::2], records[1::2]
    otlp = otlp_bodies(otlp_records, args.batch)
    push = push_bodies(push_records, args.batch)
    print(f"data: {len(records):,} lines over 1 h; batches of {args.batch} lines")

    with tempfile.TemporaryDirectory(prefix="labkit-loki-bench-") as tmp:
        proc, urls = start_server(Path(tmp))
        try:
            with httpx.Client(timeout=120) as client:
                url = urls["otlp_http_endpoint"] + "/v1/logs"
                wall, cpu = send_all(client, url, otlp, "application/x-protobuf", proc.pid)
                otlp_rate = _rate_line("OTLP/HTTP protobuf", len(otlp_records) - args.batch, wall, cpu)
                url = urls["loki_url"] + "/loki/api/v1/push"
                wall, cpu = send_all(client, url, push, "application/json", proc.pid)
                push_rate = _rate_line("Loki push JSON", len(push_records) - args.batch, wall, cpu)

                loki = urls["loki_url"]
                check = run_query(
                    client, loki, "instant", 'sum(count_over_time({service_name=~".+"}[2h]))', {}, now_ns
                )
                stored = float(check["result"][0]["value"][1]) if check["result"] else 0.0
                if stored != len(records):
                    raise SystemExit(f"stored {stored:.0f} lines, sent {len(records)}")

                print(
                    f"\nqueries over the last hour, {args.repeat} runs each (ms; cpu = server CPU per run):"
                )
                print(f"{'query':32} {'p50':>8} {'p95':>8} {'cpu':>8}  result")
                everything: list[float] = []
                for name, kind, query, extra in QUERIES:
                    times = []
                    data = run_query(client, loki, kind, query, extra, now_ns)  # warm-up, not timed
                    cpu = server_cpu_s(proc.pid)
                    for _ in range(args.repeat):
                        started = time.perf_counter()
                        data = run_query(client, loki, kind, query, extra, now_ns)
                        times.append((time.perf_counter() - started) * 1000)
                    after = server_cpu_s(proc.pid)
                    # Server CPU per run: what the query costs on a core of its own, whatever the load.
                    cpu_ms = (
                        f"{(after - cpu) * 1000 / args.repeat:8.1f}"
                        if cpu is not None and after
                        else "       -"
                    )
                    everything += times
                    p50, p95 = _percentile(times, 0.5), _percentile(times, 0.95)
                    flag = "" if p95 <= QUERY_P95_TARGET_MS else "  (over target)"
                    print(f"{name:32} {p50:8.1f} {p95:8.1f} {cpu_ms}  {_size(data)}{flag}")
                overall = _percentile(everything, 0.95)
                print(f"{'all queries':32} {_percentile(everything, 0.5):8.1f} {overall:8.1f}")
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    ok = min(otlp_rate, push_rate) >= INGEST_TARGET and overall <= QUERY_P95_TARGET_MS
    print(
        f"\nverdict: ingest {min(otlp_rate, push_rate):,.0f} lines/s vs {INGEST_TARGET:,.0f}; "
        f"query p95 {overall:.1f} ms vs {QUERY_P95_TARGET_MS:.0f} ms -> {'met' if ok else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
