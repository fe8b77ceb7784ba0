from __future__ import annotations

import socket
from pathlib import Path

import pytest

import labkit.dashboards
import labkit.demo
import labkit.observe
import labkit.stack_live
import labkit.telemetry
from labkit.config import load_settings
from labkit.stack_live import LiveStackError, status, wait_ready


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wait_ready_names_what_is_not_ready() -> None:
    port = _closed_port()
    settings = load_settings(
        environ={},
        cwd=Path("/"),
        loki_url=f"http://127.0.0.1:{port}",
        tempo_url=f"http://127.0.0.1:{port}",
        mimir_url=f"http://127.0.0.1:{port}/prometheus",
        grafana_url=f"http://127.0.0.1:{port}",
    )
    with pytest.raises(
        LiveStackError, match=rf"not ready after 0 s: .*loki \(http://127\.0\.0\.1:{port}/ready"
    ):
        wait_ready(settings, timeout_s=0, interval_s=0)
    rows = {row.service: row for row in status(settings, compose_dir=Path("/nonexistent"))}
    assert set(rows) == {"alloy", "loki", "tempo", "mimir", "grafana"}
    assert rows["mimir"].url == f"http://127.0.0.1:{port}/ready" and rows["mimir"].ready is False


def test_compose_needs_a_stack_folder(tmp_path: Path) -> None:
    try:
        labkit.stack_live.compose_command()
    except LiveStackError:
        pytest.skip("docker compose not available")
    with pytest.raises(LiveStackError, match=r"no compose\.yaml"):
        labkit.stack_live.config(tmp_path)


@pytest.mark.parametrize(
    ("module", "names"),
    [
        (labkit.telemetry, {"setup", "flush", "shutdown", "current", "genai", "make_resource", "Telemetry"}),
        (labkit.observe, {"Mimir", "Loki", "Tempo", "Grafana", "logs_of_trace", "slowest_spans", "explorer"}),
        (labkit.dashboards, {"render", "push", "export", "load", "new", "add"}),
        (labkit.demo, {"start", "traffic", "DemoApp"}),
    ],
)
def test_public_names(module, names) -> None:
    assert names <= set(module.__all__)
    for name in module.__all__:
        assert hasattr(module, name), f"{module.__name__}.__all__ lists missing {name}"
