"""The traffic generator counts honestly: every refused connection or error answer is a failure."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from labkit.k8s.load import LoadStats, TrafficGenerator


class _Handler(BaseHTTPRequestHandler):
    status = 200

    def _answer(self) -> None:
        body = b'{"status": "ok"}'
        self.send_response(type(self).status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        self._answer()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_all_answered_requests_count_as_ok(server: ThreadingHTTPServer) -> None:
    _Handler.status = 200
    with TrafficGenerator(f"http://127.0.0.1:{server.server_port}", rate_per_s=100, review_every=2) as gen:
        time.sleep(0.5)
    stats = gen.stats.as_dict()
    assert stats["sent"] > 10 and stats["failed"] == 0 and stats["ok"] == stats["sent"]
    assert 0 < stats["reviews"] < stats["sent"]


def test_error_answers_are_failures_not_retried(server: ThreadingHTTPServer) -> None:
    _Handler.status = 503
    try:
        with TrafficGenerator(f"http://127.0.0.1:{server.server_port}", rate_per_s=50) as gen:
            time.sleep(0.4)
    finally:
        _Handler.status = 200
    assert gen.stats.failed == gen.stats.sent > 0
    assert set(gen.stats.errors) == {"http 503"}


def test_refused_connections_are_failures() -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with TrafficGenerator(f"http://127.0.0.1:{port}", rate_per_s=50) as gen:
        time.sleep(0.3)
    assert gen.stats.sent > 0 and gen.stats.ok == 0
    assert set(gen.stats.errors) == {"ConnectError"}


def test_per_second_buckets_add_up() -> None:
    stats = LoadStats()
    stats.timeline = [(0.1, True), (0.9, False), (1.5, True), (2.2, True)]
    assert stats.per_second() == [(0, 1, 1), (1, 1, 0), (2, 1, 0)]


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="rate_per_s"):
        TrafficGenerator("http://127.0.0.1:1", rate_per_s=0)
