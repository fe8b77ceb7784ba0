"""Decoding kubelet log lines: Docker json-file and CRI, partial flags, and what is malformed."""

from __future__ import annotations

import pytest

from labkit.k8s.logship import Malformed, Record, parse_line, pod_labels
from labkit.k8s.logship.formats import parse_time


def test_docker_json_file_line() -> None:
    raw = b'{"log":"hello world\\n","stream":"stderr","time":"2026-12-03T14:35:13.123456789Z"}'
    assert parse_line(raw) == Record(1796308513123456789, "stderr", "hello world", False)


def test_docker_piece_without_newline_is_partial() -> None:
    rec = parse_line(b'{"log":"first half ","stream":"stdout","time":"2026-12-03T14:35:13Z"}')
    assert rec.partial and rec.text == "first half " and rec.ts_ns == 1796308513 * 10**9


def test_cri_lines_full_partial_and_empty() -> None:
    assert parse_line(b"2026-12-03T14:35:13.5Z stdout F a b  c") == Record(
        1796308513500000000, "stdout", "a b  c", False
    )
    assert parse_line(b"2026-12-03T14:35:13.5Z stderr P piece").partial
    assert parse_line(b"2026-12-03T14:35:13.5Z stdout F").text == ""


def test_time_offsets_and_precision() -> None:
    assert parse_time("2026-12-03T15:35:13.000000001+01:00") == 1796308513000000001
    assert parse_time("2026-12-03T14:35:13.1Z") == 1796308513100000000


@pytest.mark.parametrize(
    "raw",
    [
        b"not a log line",
        b"{broken json",
        b"[1, 2]",
        b'{"log":"x\\n","stream":"stdin","time":"2026-12-03T14:35:13Z"}',
        b'{"log":"x\\n","stream":"stdout"}',
        b'{"log":5,"stream":"stdout","time":"2026-12-03T14:35:13Z"}',
        b"2026-12-03T14:35:13Z stdout X tag",
        b"yesterday stdout F text",
        b"2026-13-03T14:35:13Z stdout F month 13",
        b"2026-12-03T14:35:13Z stdout",
        b"\xff\xfe not utf-8",
    ],
)
def test_malformed_lines_say_why(raw: bytes) -> None:
    with pytest.raises(Malformed):
        parse_line(raw)


def test_labels_from_the_kubelet_path(tmp_path: object) -> None:
    from pathlib import Path

    path = Path("/var/log/pods/labkit_agent-7d9f-abcde_0f6e2a3c-1111-4222-8333-444455556666/agent/0.log")
    assert pod_labels(path, "node-1") == {
        "namespace": "labkit",
        "pod": "agent-7d9f-abcde",
        "container": "agent",
        "node": "node-1",
        "job": "labkit/agent",
    }
    assert pod_labels(Path("/var/log/pods/not-a-pod-dir/agent/0.log"), "node-1") is None


def test_exported_names() -> None:
    import labkit.k8s.logship as logship
    import labkit.k8s.telemetry as telemetry

    assert set(logship.__all__) == {
        "DEFAULT_PODS_DIR",
        "LogShipError",
        "LogShipper",
        "Malformed",
        "PositionsError",
        "Record",
        "ShipStats",
        "parse_line",
        "pod_labels",
        "ship_once",
    }
    assert set(telemetry.__all__) == {
        "ALLOY_OTLP_HTTP",
        "RESOURCE_ATTRIBUTES",
        "PodNetworkError",
        "pod_bridge_address",
        "pod_otel_env",
        "pod_otlp_endpoint",
    }
    assert all(hasattr(logship, n) for n in logship.__all__) and all(
        hasattr(telemetry, n) for n in telemetry.__all__
    )
