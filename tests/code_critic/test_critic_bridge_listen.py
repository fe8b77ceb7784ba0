"""The embedded server listens on the Docker bridge gateway only when asked, never on 0.0.0.0."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from labkit.lgtm.server import docker_bridge_address
from labkit.lgtm.testing import running_server

BRIDGE = docker_bridge_address()
pytestmark = pytest.mark.skipif(BRIDGE is None, reason="this machine has no Docker bridge (docker0) address")


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_the_bridge_address_is_private_and_concrete() -> None:
    assert BRIDGE is not None and BRIDGE != "0.0.0.0" and not BRIDGE.startswith("127.")


def test_off_by_default_on_when_asked(tmp_path: Path) -> None:
    assert BRIDGE is not None
    with running_server(tmp_path / "off") as srv:
        assert not _answers(BRIDGE, srv.ports["otlp_http"])
    with running_server(tmp_path / "on", listen_docker_bridge=True) as srv:
        port = srv.ports["otlp_http"]
        assert httpx.get(f"http://{BRIDGE}:{port}/ready", timeout=5).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200
        assert _answers(BRIDGE, srv.ports["otlp_grpc"]) and _answers(BRIDGE, srv.ports["llm"])
