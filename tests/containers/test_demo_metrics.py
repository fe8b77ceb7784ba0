"""The demo app's duration histograms are in seconds with seconds-sized buckets, end to end.

In-process, an in-memory reader shows the instrument's unit and bucket boundaries. Then the
app runs as a local process (``labkit.demo.start``) against an embedded server, and the first
dashboard's p95 query finds ``http_server_request_duration_seconds_bucket`` through the
Prometheus API; with the SDK's default (millisecond) boundaries that p95 would be an
interpolation inside the first bucket, [0, 5] s.
"""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from wsgiref.util import setup_testing_defaults

import httpx
import pytest

from labkit import demo

from .conftest import DEMO_APP

pytest.importorskip(
    "opentelemetry.instrumentation.wsgi", reason="opentelemetry-instrumentation-wsgi not installed"
)

DASHBOARD = DEMO_APP.parents[1] / "stacks" / "lgtm" / "dashboards" / "first-dashboard.json"
SEMCONV_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)


def _call(app: Any, path: str) -> int:
    environ: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": "", "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    seen: list[str] = []
    b"".join(app(environ, lambda status, headers: seen.append(status)))
    return int(seen[0].split()[0])


def _dashboard_p95_query() -> str:
    """The first dashboard's own p95 query, so the test follows the dashboard if it changes."""
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    exprs = [t.get("expr", "") for panel in dashboard["panels"] for t in panel.get("targets", [])]
    p95 = [e for e in exprs if e.startswith("histogram_quantile(0.95") and "_bucket" in e]
    assert len(p95) == 1, f"expected one p95 query in {DASHBOARD.name}, found {p95}"
    assert "http_server_request_duration_seconds_bucket" in p95[0]
    return p95[0]


def test_demo_histogram_has_second_buckets(server_module: Any) -> None:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import InMemoryMetricReader

    assert tuple(server_module.DURATION_BUCKETS_S) == SEMCONV_BUCKETS
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    try:
        app = server_module.DemoApp(seed=1, fail_rate=0.0, slow_seconds=0.06, meter_provider=provider)
        assert [_call(app, p) for p in ("/", "/slow", "/slow")] == [200, 200, 200]
        data = reader.get_metrics_data()
    finally:
        provider.shutdown()
    metrics = {m.name: m for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}
    duration = metrics["demo.request.duration"]
    assert duration.unit == "s"
    points = {p.attributes["http.route"]: p for p in duration.data.data_points}
    slow = points["/slow"]
    assert tuple(slow.explicit_bounds) == SEMCONV_BUCKETS
    assert slow.count == 2 and slow.sum >= 0.12
    # Both slept 60 ms: nothing at or below the 50 ms boundary, both at most in the 10 s one.
    assert sum(slow.bucket_counts[:4]) == 0 and sum(slow.bucket_counts[:14]) == 2
    assert points["/"].count == 1


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ({}, "http"),
        ({"OTEL_SEMCONV_STABILITY_OPT_IN": " "}, "http"),
        ({"OTEL_SEMCONV_STABILITY_OPT_IN": "http/dup"}, "http/dup"),
    ],
)
def test_stable_http_semconv_unless_chosen(before: dict[str, str], after: str) -> None:
    import sys

    sys.path.insert(0, str(DEMO_APP))
    try:
        from demo_app.telemetry import stable_http_semconv
    finally:
        sys.path.remove(str(DEMO_APP))
    env = dict(before)
    assert stable_http_semconv(env) == after
    assert env["OTEL_SEMCONV_STABILITY_OPT_IN"] == after


@pytest.fixture(scope="module")
def prometheus_api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The Prometheus API of an embedded server after the local demo app served some traffic."""
    testing = pytest.importorskip("labkit.lgtm.testing", reason="the embedded LGTM server is not available")
    tmp: Path = tmp_path_factory.mktemp("demo-metrics")
    with testing.running_server(tmp) as srv:
        # Half slow (0.3 s), half fast: the p95 lies among the slow requests.
        with demo.start(srv.settings, fail_rate=0.0, slow_seconds=0.3, metric_interval_s=0.5) as app:
            traffic = demo.traffic(app, 40, mix={"/": 0.5, "/slow": 0.5}, concurrency=4, progress=False)
            assert set(traffic["status"]) == {200}
        # Leaving the block stopped the app, which flushed its last metrics.
        yield srv.urls["mimir"]


def _get(base: str, path: str, **params: Any) -> Any:
    response = httpx.get(f"{base}/api/v1/{path}", params=params, timeout=30)
    body = response.json()
    assert response.status_code == 200 and body["status"] == "success", body
    return body["data"]


def _le_values(base: str, metric: str) -> set[float]:
    series = _get(base, "series", **{"match[]": metric})
    return {float(s["le"]) for s in series}


def test_local_demo_app_exports_stable_http_semconv_in_seconds(prometheus_api: str) -> None:
    expected = {*SEMCONV_BUCKETS, math.inf}
    assert _le_values(prometheus_api, "http_server_request_duration_seconds_bucket") == expected
    assert _le_values(prometheus_api, "demo_request_duration_seconds_bucket") == expected
    # The old conventions (milliseconds) are not exported next to the stable ones.
    assert _get(prometheus_api, "series", **{"match[]": "http_server_duration_milliseconds_bucket"}) == []


def test_dashboard_p95_is_a_real_quantile(prometheus_api: str) -> None:
    result = _get(prometheus_api, "query", query=_dashboard_p95_query())["result"]
    assert len(result) == 1
    p95 = float(result[0]["value"][1])
    # The slowest 5 % are 0.3 s sleeps: the estimate falls in the (0.25, 0.5] bucket, or the
    # next one on a busy machine. Millisecond buckets would have put it near 4.75 s.
    assert 0.25 <= p95 <= 1.0, p95
    demo_p95 = _get(
        prometheus_api,
        "query",
        query="histogram_quantile(0.95, sum by (le) "
        '(rate(demo_request_duration_seconds_bucket{http_route="/slow"}[5m])))',
    )["result"]
    assert 0.25 <= float(demo_p95[0]["value"][1]) <= 1.0


@pytest.mark.docker
def test_container_exports_stable_http_semconv(demo_image: str, tmp_path: Path) -> None:
    """The image, not labkit.demo, decides the conventions: run it against an embedded server.

    Host networking lets the container reach the server on 127.0.0.1 (it binds loopback
    only); the app is told to bind 127.0.0.1 too, so nothing listens beyond loopback.
    The opt-in variable is blanked to show the app's own default, not only the image's ENV.
    """
    from labkit.containers import inspect_image, run_container

    report = inspect_image(demo_image)
    assert "OTEL_SEMCONV_STABILITY_OPT_IN=http" in report.env
    testing = pytest.importorskip("labkit.lgtm.testing", reason="the embedded LGTM server is not available")
    port = testing.free_port()
    with testing.running_server(tmp_path) as srv:
        running = run_container(
            demo_image,
            network="host",
            ports={},
            wait=False,
            env={
                "PORT": str(port),
                "DEMO_HOST": "127.0.0.1",
                "DEMO_FAIL_RATE": "0",
                "DEMO_SLOW_SECONDS": "0.05",
                "OTEL_EXPORTER_OTLP_ENDPOINT": srv.settings.otlp_http_endpoint,
                "OTEL_METRIC_EXPORT_INTERVAL": "500",
                "OTEL_SEMCONV_STABILITY_OPT_IN": "",
            },
        )
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(300):  # the app answers within a few seconds of starting
                try:
                    if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert running.status() == "running", running.logs(tail=20)
                time.sleep(0.1)
            for path in ("/", "/slow", "/work?n=100") * 4:
                assert httpx.get(url + path, timeout=10).status_code == 200
            logs_before_stop = running.logs()
        finally:
            running.stop(timeout=10)  # SIGTERM: the app flushes its metrics before it exits
        assert "semconv opt-in: http" in logs_before_stop
        base = srv.urls["mimir"]
        assert _le_values(base, "http_server_request_duration_seconds_bucket") == {*SEMCONV_BUCKETS, math.inf}
        assert _le_values(base, "demo_request_duration_seconds_bucket") == {*SEMCONV_BUCKETS, math.inf}
