"""``ensure_up``: the runner's hook that starts the embedded server when the configuration needs it."""

from __future__ import annotations

import socket
from pathlib import Path

from labkit.lgtm import process
from labkit.lgtm.testing import server_settings


def test_ensure_up_embedded_starts_once_then_reports_nothing(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, port=None, backend="embedded")
    try:
        message = process.ensure_up(settings)
        assert message is not None
        assert "started the embedded LGTM server (backend=embedded" in message
        assert "labkit stack down" in message
        info = process.status(settings)
        assert info.running and info.signals["traces"] == {"spans": 0}
        assert set(info.ready) == {"otlp_grpc", "otlp_http", "tempo", "loki", "mimir", "llm"}
        assert all(info.ready.values()), info.ready
        assert process.ensure_up(settings) is None  # already running: nothing to say
    finally:
        pid = process.stop(settings)
    assert pid is not None and not process.status(settings).running
    assert process.stop(settings) is None


def test_ensure_up_auto_leaves_a_live_stack_alone(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, port=None, backend="auto")
    port = int(settings.otlp_http_endpoint.rsplit(":", 1)[1])
    with socket.socket() as live:
        live.bind(("127.0.0.1", port))
        live.listen()
        assert process.ensure_up(settings) is None
    assert not (Path(settings.data_dir) / "lgtm.pid").exists()


def test_ensure_up_live_never_starts(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, port=None, backend="live")
    assert process.ensure_up(settings) is None
    assert not process.status(settings).running


def test_ensure_up_auto_starts_when_nothing_answers(tmp_path: Path) -> None:
    settings = server_settings(tmp_path, port=None, backend="auto")
    try:
        message = process.ensure_up(settings)
        assert message is not None and "backend=auto and no live stack answered" in message
    finally:
        process.stop(settings)


def test_stop_refuses_to_kill_an_in_process_server(tmp_path: Path) -> None:
    import os

    import pytest

    from labkit.lgtm.testing import running_server

    with running_server(tmp_path) as srv:
        with pytest.raises(process.StackError, match="was not started by `labkit stack up`"):
            process.stop(srv.settings)
        info = process.start(srv.settings)  # answers already: nothing is spawned
        assert info.already_running and info.pid == os.getpid()
