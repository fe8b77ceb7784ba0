"""Metrics from the real OpenTelemetry SDK exporter become the Prometheus series Prometheus 3 would make."""

from __future__ import annotations

import httpx
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource

from labkit.lgtm.server import EmbeddedServer


def test_sdk_metrics_become_prometheus_series(server: EmbeddedServer) -> None:
    exporter = OTLPMetricExporter(endpoint=server.urls["otlp_http"] + "/v1/metrics")
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    resource = Resource.create(
        {
            "service.name": "shop-api",
            "service.namespace": "lab",
            "service.instance.id": "i-1",
            "host.name": "box",
        }
    )
    provider = MeterProvider(resource=resource, metric_readers=[reader])
    meter = provider.get_meter("labkit.test")
    orders = meter.create_counter("shop.orders", unit="{order}")
    duration = meter.create_histogram("http.server.request.duration", unit="s")
    queue = meter.create_up_down_counter("queue.depth", unit="{item}")
    orders.add(3, {"payment.method": "card"})
    orders.add(2, {"payment.method": "card"})
    for x in (0.003, 0.2, 1.5):
        duration.record(x, {"http.route": "/checkout"})
    queue.add(7)
    assert provider.force_flush(10_000)
    provider.shutdown()

    api = server.urls["mimir"] + "/api/v1"
    names = httpx.get(api + "/label/__name__/values").json()["data"]
    assert {
        "shop_orders_total",
        "http_server_request_duration_seconds_bucket",
        "http_server_request_duration_seconds_sum",
        "http_server_request_duration_seconds_count",
        "queue_depth",
        "target_info",
    } <= set(names)
    series = httpx.get(api + "/series", params={"match[]": "shop_orders_total"}).json()["data"]
    assert series == [
        {"__name__": "shop_orders_total", "instance": "i-1", "job": "lab/shop-api", "payment_method": "card"}
    ]
    info = httpx.get(api + "/series", params={"match[]": "target_info"}).json()["data"]
    assert info[0]["host_name"] == "box" and info[0]["job"] == "lab/shop-api"
    assert "service_name" not in info[0]
    value = httpx.get(api + "/query", params={"query": "sum(shop_orders_total)"}).json()["data"]["result"]
    assert value[0]["value"][1] == "5"
    p50 = httpx.get(
        api + "/query",
        params={
            "query": "histogram_quantile(0.5, sum by (le) (http_server_request_duration_seconds_bucket))"
        },
    ).json()["data"]["result"]
    # The SDK's default bounds start 0, 5, 10, ...: all three land in (0, 5], so the
    # median interpolates to 5 * 1.5 / 3.
    assert p50[0]["value"][1] == "2.5"
