"""Build, run, health, logs, exec and stop against the real engine (offline base image)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from labkit.containers import (
    BuildFailed,
    HealthcheckFailed,
    build_image,
    client,
    inspect_image,
    run_container,
)
from labkit.containers.labels import MANAGED_LABEL

pytestmark = pytest.mark.docker


def _get(url: str) -> tuple[int, dict[str, object]]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_demo_image_is_labelled_non_root_and_healthchecked(demo_image: str) -> None:
    report = inspect_image(demo_image)
    assert report.labels[MANAGED_LABEL] == "true"
    assert report.user == "10001:10001"
    assert report.healthcheck is not None and "healthz" in " ".join(report.healthcheck)
    assert report.exposed_ports == ["8000/tcp"]
    assert report.size_bytes > 50_000_000  # a python runtime is in there
    # Multi-stage: pip and the wheelhouse stayed in the build stage.
    assert not any("wheels" in step.created_by and "COPY" in step.created_by for step in report.history)


def test_run_health_logs_exec_stop(demo_image: str) -> None:
    running = run_container(
        demo_image, env={"DEMO_FAIL_RATE": "1.0", "DEMO_SLOW_SECONDS": "0.05"}, timeout=90
    )
    try:
        assert running.health() == "healthy"
        # Published on loopback only.
        bindings = running.container.attrs["NetworkSettings"]["Ports"]["8000/tcp"]
        assert {b["HostIp"] for b in bindings} == {"127.0.0.1"}
        status, body = _get(running.url("/"))
        assert status == 200 and body["service"] == "demo-app"
        status, _ = _get(running.url("/flaky"))
        assert status == 500  # fail rate 1.0: always fails, and says so in the log
        status, body = _get(running.url("/slow"))
        assert status == 200 and body["slept"] == 0.05
        logs = running.logs()
        assert "demo-app listening on 0.0.0.0:8000" in logs
        assert "flaky dependency failed" in logs and "trace_id=" in logs
        result = running.exec(["python3", "-c", "import os; print(os.getuid())"])
        assert result.ok and result.output.strip() == "10001"
        failing = running.exec(["python3", "-c", "raise SystemExit(3)"])
        assert failing.exit_code == 3
    finally:
        running.stop()
    assert not client().containers.list(all=True, filters={"name": running.name})


def test_broken_healthcheck_is_reported_then_fixed(demo_image: str) -> None:
    broken = {
        "test": [
            "CMD",
            "python3",
            "-c",
            "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9/healthz')",
        ],
        "interval": 1,
        "timeout": 2,
        "retries": 2,
        "start_period": 0,
    }
    with pytest.raises(HealthcheckFailed) as info:
        run_container(demo_image, healthcheck=broken, timeout=60)
    assert info.value.status == "unhealthy"
    assert info.value.probe_log and "exit 1" in info.value.probe_log[-1]
    name = str(info.value).split()[1]
    client().containers.get(name).remove(force=True)
    fixed = dict(
        broken,
        test=[
            "CMD",
            "python3",
            "-c",
            "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz')",
        ],
    )
    with run_container(demo_image, healthcheck=fixed, timeout=60) as running:
        assert running.health() == "healthy"


def test_build_failure_carries_the_log(base_image: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nRUN echo about-to-fail && false\n"
    )
    with pytest.raises(BuildFailed) as info:
        build_image(tmp_path, tag="labkit-test/fails:1", progress=lambda line: None)
    assert any("about-to-fail" in line for line in info.value.log)
    assert "returned a non-zero code" in str(info.value)


def test_builds_have_no_network(base_image: str, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(
        "ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\n"
        "RUN python3 -c \"import socket; socket.getaddrinfo('pypi.org', 443)\"\n"
    )
    with pytest.raises(BuildFailed) as info:
        build_image(tmp_path, tag="labkit-test/nonet:1", progress=lambda line: None)
    assert "gaierror" in "\n".join(info.value.log)


def test_missing_context_and_image_are_clear_errors(engine: None, tmp_path: Path) -> None:
    from labkit.containers import ContainerError

    with pytest.raises(ContainerError, match="not a folder"):
        build_image(tmp_path / "nope", tag="x:1")
    with pytest.raises(ContainerError, match="Dockerfile not found"):
        build_image(tmp_path, tag="x:1")
    with pytest.raises(ContainerError, match="not present"):
        run_container("labkit-test/never-built:0")
