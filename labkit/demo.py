"""Run the demo app (``stacks/demo-app``) as a local process and send it traffic.

The same code runs in the container; here it runs with this Python so a learner
without Docker can instrument, query and dashboard it. Its OTLP goes to the
configured endpoint (embedded server or Alloy), and HTTP server metrics use the
stable semantic conventions so they arrive as ``http_server_request_duration_seconds``.
"""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pandas as pd

from labkit.config import Settings, load_settings

__all__ = ["APP_DIR", "DEFAULT_MIX", "DemoApp", "DemoError", "start", "traffic"]

APP_DIR = Path(__file__).resolve().parents[1] / "stacks" / "demo-app"
# Request mix of the traffic generator: mostly cheap requests, some failures, a few slow ones.
DEFAULT_MIX: dict[str, float] = {"/": 0.3, "/work?n=2000": 0.3, "/flaky": 0.3, "/slow": 0.1}


class DemoError(RuntimeError):
    """The demo app could not be started; the message includes the end of its log."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class DemoApp:
    """A running demo app process; a context manager that stops it (flushing its telemetry)."""

    url: str
    process: subprocess.Popen[bytes] = field(repr=False)
    log_path: Path
    service_name: str = "demo-app"

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM (the app flushes its OTLP batches on the way out), then SIGKILL if it hangs."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        return int(self.process.returncode)

    def log(self, lines: int = 20) -> str:
        try:
            return "\n".join(
                self.log_path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
            )
        except OSError:
            return ""

    def __enter__(self) -> DemoApp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start(
    settings: Settings | None = None,
    *,
    port: int | None = None,
    service_name: str = "demo-app",
    fail_rate: float = 0.3,
    slow_seconds: float = 0.3,
    seed: int = 7,
    metric_interval_s: float = 2.0,
    instrumented: bool = True,
    app_dir: Path = APP_DIR,
    wait_s: float = 20.0,
    extra_env: Mapping[str, str] | None = None,
) -> DemoApp:
    """Start the app on 127.0.0.1 and wait until ``/healthz`` answers.

    ``instrumented=False`` disables the OpenTelemetry SDK (``OTEL_SDK_DISABLED``), the
    baseline of the overhead benchmark: the same code with no-op providers.
    """
    settings = settings or load_settings()
    if not (app_dir / "demo_app" / "server.py").is_file():
        raise DemoError(f"the demo app is not at {app_dir} (expected demo_app/server.py there)")
    if not 0 <= fail_rate <= 1:
        raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate}")
    port = port or _free_port()
    log_path = settings.state_path(f"{service_name}-{port}.log")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(app_dir), os.environ.get("PYTHONPATH", "")])),
        "PORT": str(port),
        "DEMO_HOST": "127.0.0.1",
        "DEMO_SEED": str(seed),
        "DEMO_FAIL_RATE": str(fail_rate),
        "DEMO_SLOW_SECONDS": str(slow_seconds),
        "OTEL_SERVICE_NAME": service_name,
        "OTEL_EXPORTER_OTLP_ENDPOINT": settings.otlp_http_endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": str(int(metric_interval_s * 1000)),
        # Stable HTTP semconv: http.server.request.duration in seconds (Prometheus 3 name
        # http_server_request_duration_seconds), the name the first dashboard queries.
        "OTEL_SEMCONV_STABILITY_OPT_IN": "http",
        # Export spans and logs within half a second so a notebook finds them right away.
        "OTEL_BSP_SCHEDULE_DELAY": "500",
        "OTEL_BLRP_SCHEDULE_DELAY": "500",
        "OTEL_SDK_DISABLED": "false" if instrumented else "true",
        **(extra_env or {}),
    }
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "demo_app"],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=str(app_dir),
        )
    app = DemoApp(f"http://127.0.0.1:{port}", process, log_path, service_name)
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoError(f"the demo app exited with {process.returncode}:\n{app.log()}")
        try:
            if httpx.get(f"{app.url}/healthz", timeout=1.0).status_code == 200:
                return app
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    app.stop()
    raise DemoError(f"the demo app did not answer {app.url}/healthz within {wait_s:g} s:\n{app.log()}")


def traffic(
    url: str | DemoApp,
    n: int = 200,
    *,
    mix: Mapping[str, float] | None = None,
    concurrency: int = 4,
    seed: int = 1,
    timeout_s: float = 10.0,
    progress: bool = True,
    rate_per_s: float | None = None,
) -> pd.DataFrame:
    """Send ``n`` requests drawn from ``mix`` (path -> weight); one row per request.

    ``rate_per_s`` paces the load (request ``i`` starts no earlier than ``i / rate_per_s``
    seconds after the first), so a run spans several metric export intervals: ``rate()``
    needs at least two samples of a counter, and a burst shorter than one interval gives it one.

    Columns: ``path``, ``status`` (0 when the request failed to connect), ``duration_ms``
    (float) and ``started`` (UTC). The draw is seeded, so a run is repeatable.
    """
    base = url.url if isinstance(url, DemoApp) else str(url).rstrip("/")
    if n <= 0 or concurrency <= 0:
        raise ValueError(f"n and concurrency must be > 0, got {n}, {concurrency}")
    if rate_per_s is not None and rate_per_s <= 0:
        raise ValueError(f"rate_per_s must be > 0, got {rate_per_s}")
    mix = dict(mix or DEFAULT_MIX)
    if not mix or any(w < 0 for w in mix.values()) or sum(mix.values()) <= 0:
        raise ValueError(f"mix needs non-negative weights with a positive sum, got {mix}")
    rng = random.Random(seed)
    paths = rng.choices(list(mix), weights=list(mix.values()), k=n)

    first = 0.0  # set just before the first request, once the client and pool exist

    def one(client: httpx.Client, index: int, path: str) -> dict[str, Any]:
        if rate_per_s is not None:
            delay = first + index / rate_per_s - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
        started = time.time()
        t0 = time.perf_counter()
        try:
            status = client.get(path).status_code
        except httpx.HTTPError:
            status = 0
        return {
            "path": path,
            "status": status,
            "duration_ms": (time.perf_counter() - t0) * 1000,
            "started": started,
        }

    bar: Any = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, desc=f"traffic -> {base}", unit="req")
    rows: list[dict[str, Any]] = []
    with (
        httpx.Client(base_url=base, timeout=timeout_s) as client,
        ThreadPoolExecutor(max_workers=concurrency) as pool,
    ):
        first = time.perf_counter()
        for row in pool.map(lambda item: one(client, *item), enumerate(paths)):
            rows.append(row)
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    frame = pd.DataFrame(rows, columns=["path", "status", "duration_ms", "started"])
    frame["duration_ms"] = frame["duration_ms"].astype("float64")
    frame["status"] = frame["status"].astype("int64")
    frame["started"] = pd.to_datetime(frame["started"].astype("float64"), unit="s", utc=True)
    return frame
