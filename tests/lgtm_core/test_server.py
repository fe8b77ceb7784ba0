"""EmbeddedServer lifecycle: bind errors name the port, data persists across restarts."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx
import pytest

from labkit.lgtm.server import EmbeddedServer, ServerStartError
from labkit.lgtm.testing import free_port, running_server, server_settings

from .payloads import make_traces
from .procs import spawn_server, stack_env


def test_port_in_use_names_port_and_setting(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with (
            pytest.raises(ServerStartError) as info,
            running_server(tmp_path, loki_url=f"http://127.0.0.1:{port}"),
        ):
            pass
    message = str(info.value)
    assert f"port {port} (loki)" in message and "LABKIT_LOKI_URL" in message


def test_grpc_port_in_use(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        with (
            pytest.raises(ServerStartError, match=f"port {port} \\(otlp_grpc\\)"),
            running_server(tmp_path, otlp_grpc_endpoint=f"http://127.0.0.1:{port}"),
        ):
            pass


def test_two_endpoints_on_one_port_is_refused(tmp_path: Path) -> None:
    port = free_port()
    settings = server_settings(
        tmp_path, tempo_url=f"http://127.0.0.1:{port}", loki_url=f"http://127.0.0.1:{port}"
    )
    with pytest.raises(ServerStartError, match=f"both use port {port}"), EmbeddedServer(settings):
        pass


def test_data_survives_a_clean_restart_and_settings_carry_bound_ports(tmp_path: Path) -> None:
    with running_server(tmp_path) as srv:
        assert srv.settings.otlp_http_endpoint == srv.urls["otlp_http"]
        assert srv.settings.mimir_url.endswith("/prometheus")
        assert all(port > 0 for port in srv.ports.values())
        r = httpx.post(
            srv.urls["otlp_http"] + "/v1/traces",
            content=make_traces(9).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        )
        assert r.status_code == 200
    with pytest.raises(RuntimeError, match="not running"):
        srv.db  # noqa: B018
    with running_server(tmp_path) as srv:
        assert srv.db.query("SELECT count(*) FROM spans") == [(9,)]


def test_store_held_by_another_process_is_a_clear_error(tmp_path: Path) -> None:
    env = stack_env(tmp_path / "lgtm")
    proc = spawn_server(env, tmp_path)
    try:
        # Same data dir (running_server uses tmp_path / "lgtm"), fresh ports.
        with (
            pytest.raises(ServerStartError, match=r"cannot open the store .*labkit stack status"),
            running_server(tmp_path),
        ):
            pass
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
        if proc.stdout:
            proc.stdout.close()


def test_retention_runs_at_startup(tmp_path: Path) -> None:
    import time

    now = time.time_ns()
    with running_server(tmp_path, retention_hours=1) as srv:
        for t0 in (now - 5 * 3600 * 10**9, now - 60 * 10**9):
            r = httpx.post(
                srv.urls["otlp_http"] + "/v1/traces",
                content=make_traces(10, t0=t0).SerializeToString(),
                headers={"Content-Type": "application/x-protobuf"},
            )
            assert r.status_code == 200
        assert srv.db.query("SELECT count(*) FROM spans") == [(20,)]
    with running_server(tmp_path, retention_hours=1) as srv:
        assert srv.db.query("SELECT count(*), min(start_ns) >= ? FROM spans", [now - 3600 * 10**9]) == [
            (10, True)
        ]


def test_grpc_message_over_the_limit_is_resource_exhausted(tmp_path: Path) -> None:
    import grpc

    with running_server(tmp_path, ingest_max_body_bytes=4096) as srv:
        target = srv.urls["otlp_grpc"].removeprefix("http://")
        with grpc.insecure_channel(target) as channel:
            export = channel.unary_unary(
                "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
                request_serializer=lambda m: m.SerializeToString(),
                response_deserializer=lambda b: b,
            )
            with pytest.raises(grpc.RpcError) as info:
                export(make_traces(200), timeout=10)
            assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert srv.db.query("SELECT count(*) FROM spans") == [(0,)]
