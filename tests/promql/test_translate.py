"""OTLP -> Prometheus translation (Prometheus 3, UnderscoreEscapingWithSuffixes)."""

from __future__ import annotations

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue

from labkit.lgtm.db import Database
from labkit.lgtm.metrics.index import index_for
from labkit.lgtm.metrics.promql import instant_query
from labkit.lgtm.metrics.store import store_otlp_metrics
from labkit.lgtm.metrics.translate import format_bound, metric_name, normalize_label, translate_request

T_NS = 1_700_000_000_000_000_000


@pytest.mark.parametrize(
    ("name", "unit", "kind", "expected"),
    [
        ("http.server.request.duration", "s", "histogram", "http_server_request_duration_seconds"),
        ("http.server.active_requests", "{request}", "updowncounter", "http_server_active_requests"),
        ("requests", "1", "counter", "requests_total"),
        ("system.cpu.utilization", "1", "gauge", "system_cpu_utilization_ratio"),
        ("memory.usage", "By", "gauge", "memory_usage_bytes"),
        ("network.io", "By/s", "counter", "network_io_bytes_per_second_total"),
        ("speed", "m/h", "gauge", "speed_meters_per_hour"),
        ("queue.latency", "ms", "histogram", "queue_latency_milliseconds"),
        ("jobs.total", "", "counter", "jobs_total"),
        ("latency.seconds", "s", "gauge", "latency_seconds"),
        ("gen_ai.client.token.usage", "{token}", "histogram", "gen_ai_client_token_usage"),
        ("temp", "Cel", "gauge", "temp_celsius"),
        ("disk..free__space", "GiBy", "gauge", "disk_free_space_gibibytes"),
        ("2xx.responses", "", "counter", "_2xx_responses_total"),
        ("ratio.value", "1", "gauge", "value_ratio"),  # every "ratio" token moves to the end
        ("odd", "foo/bar", "gauge", "odd_foo_per_bar"),
        ("rate", "/s", "gauge", "rate_per_second"),
    ],
)
def test_metric_names(name: str, unit: str, kind: str, expected: str) -> None:
    assert metric_name(name, unit, kind) == expected


def test_empty_name_is_an_error() -> None:
    with pytest.raises(ValueError, match="empty"):
        metric_name("...", "", "gauge")


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("http.method", "http_method"),
        ("2fa", "key_2fa"),
        ("_private", "key_private"),
        ("__meta", "__meta"),
        ("k8s.pod.name", "k8s_pod_name"),
        ("ümlaut", "key_mlaut"),
    ],
)
def test_label_names(key: str, expected: str) -> None:
    assert normalize_label(key) == expected


def test_bound_formatting() -> None:
    assert [format_bound(x) for x in (0.005, 1.0, 10.0, 2.5e-7, float("inf"))] == [
        "0.005",
        "1",
        "10",
        "0.00000025",
        "+Inf",
    ]


def _kv(key: str, value: str | int) -> KeyValue:
    v = AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    return KeyValue(key=key, value=v)


def _request(delta: bool = False) -> ExportMetricsServiceRequest:
    req = ExportMetricsServiceRequest()
    rm = req.resource_metrics.add()
    rm.resource.attributes.extend(
        [
            _kv("service.name", "checkout"),
            _kv("service.namespace", "shop"),
            _kv("service.instance.id", "pod-1"),
            _kv("deployment.environment", "lab"),
        ]
    )
    sm = rm.scope_metrics.add()
    counter = sm.metrics.add(name="orders.placed", unit="{order}")
    counter.sum.is_monotonic = True
    counter.sum.aggregation_temporality = 1 if delta else 2
    for i, v in enumerate((3, 2, 5)):
        dp = counter.sum.data_points.add(time_unix_nano=T_NS + i * 15_000_000_000, as_int=v)
        dp.attributes.append(_kv("http.method", "GET"))
    hist = sm.metrics.add(name="http.server.request.duration", unit="s")
    hist.histogram.aggregation_temporality = 2
    dp = hist.histogram.data_points.add(time_unix_nano=T_NS, count=6, sum=1.25)
    dp.explicit_bounds.extend([0.1, 0.5])
    dp.bucket_counts.extend([1, 3, 2])
    return req


def test_translation_of_a_request() -> None:
    points = {(p.labels["__name__"], p.labels.get("le", "")): p for p in translate_request(_request())}
    counter = points[("orders_placed_total", "")]
    assert counter.labels == {
        "__name__": "orders_placed_total",
        "http_method": "GET",
        "job": "shop/checkout",
        "instance": "pod-1",
    }
    buckets = {
        le: points[("http_server_request_duration_seconds_bucket", le)].value for le in ("0.1", "0.5", "+Inf")
    }
    assert buckets == {"0.1": 1.0, "0.5": 4.0, "+Inf": 6.0}
    assert points[("http_server_request_duration_seconds_sum", "")].value == 1.25
    assert points[("http_server_request_duration_seconds_count", "")].value == 6.0
    info = points[("target_info", "")]
    assert info.labels == {
        "__name__": "target_info",
        "deployment_environment": "lab",
        "job": "shop/checkout",
        "instance": "pod-1",
    }


def test_delta_sums_become_cumulative_across_batches() -> None:
    db = Database(None)
    for _ in range(2):
        with db.transaction() as con:
            store_otlp_metrics(db, con, _request(delta=True))
    # The second batch repeats the same timestamps; the latest write wins per timestamp,
    # continuing from the first batch's total (10): 13, 15, 20.
    result = instant_query(index_for(db), "orders_placed_total", T_NS // 1_000_000 + 30_000)
    assert result["result"][0]["value"][1] == "20"
    raw = db.query("SELECT count(*), min(type), max(temporality) FROM otlp_metric_points")
    assert raw == [(8, "histogram", "delta")]
