"""``labkit stack up|status|down`` as real subprocesses with a private data dir and ports."""

from __future__ import annotations

import os
import re
import socket
import time
from pathlib import Path

import httpx

from labkit.lgtm.server import PORT_SETTINGS

from .payloads import make_traces
from .procs import get_status, labkit, otlp_url, stack_env


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_up_twice_status_down(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = stack_env(data)
    first = labkit(["stack", "up"], env, tmp_path)
    try:
        assert first.returncode == 0, first.stdout + first.stderr
        assert "embedded LGTM server started" in first.stdout
        assert otlp_url(env) in first.stdout
        pid = int((data / "lgtm.pid").read_text())
        assert get_status(env)["pid"] == pid  # type: ignore[index]

        second = labkit(["stack", "up"], env, tmp_path)
        assert second.returncode == 0, second.stdout + second.stderr
        assert f"already running (pid {pid})" in second.stdout
        assert int((data / "lgtm.pid").read_text()) == pid

        r = httpx.post(
            otlp_url(env) + "/v1/traces",
            content=make_traces(12).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert r.status_code == 200
        status = labkit(["stack", "status"], env, tmp_path)
        assert status.returncode == 0, status.stdout + status.stderr
        assert "healthy" in status.stdout
        assert status.stdout.count(" ready") == len(PORT_SETTINGS), status.stdout
        assert re.search(r"traces\W+spans\W+12\b", status.stdout), status.stdout
    finally:
        down = labkit(["stack", "down"], env, tmp_path)
    assert down.returncode == 0, down.stdout + down.stderr
    assert f"stopped (pid {pid})" in down.stdout
    assert _wait_gone(pid)
    assert not (data / "lgtm.pid").exists()
    assert "stopped" in (data / "lgtm.log").read_text()

    after = labkit(["stack", "status"], env, tmp_path)
    assert after.returncode == 1 and "not running" in after.stdout
    again = labkit(["stack", "down"], env, tmp_path)
    assert again.returncode == 0 and "was not running" in again.stdout


def test_port_in_use_names_the_port(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "data")
    port = int(env["LABKIT_TEMPO_URL"].rsplit(":", 1)[1])
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        result = labkit(["stack", "up"], env, tmp_path)
    assert result.returncode == 1
    text = " ".join(result.stdout.split())
    assert f"port {port} (tempo, setting tempo_url)" in text
    assert "LABKIT_TEMPO_URL" in text
    assert not (tmp_path / "data" / "lgtm.pid").exists()


def test_stale_pid_file_is_replaced(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "lgtm.pid").write_text("999999\n")  # no such process
    env = stack_env(data)
    up = labkit(["stack", "up"], env, tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        assert int((data / "lgtm.pid").read_text()) != 999999
    finally:
        assert labkit(["stack", "down"], env, tmp_path).returncode == 0


def test_live_status_reports_each_service_not_ready(tmp_path: Path) -> None:
    # Nothing listens on the private ports: every live service must be reported, none ready.
    env = stack_env(tmp_path / "data")
    result = labkit(["stack", "status", "--backend", "live"], env, tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    rows = [line for line in result.stdout.splitlines() if "http://127.0.0.1:" in line]
    services = {row.split("│")[1].strip() for row in rows}
    assert {"alloy", "tempo", "loki", "mimir", "grafana"} <= services
    assert all("not ready" in row for row in rows), rows
