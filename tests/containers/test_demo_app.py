"""The demo app's WSGI logic in-process: routes, seeded failures, errors (no engine, no collector)."""

from __future__ import annotations

import io
import json
from typing import Any
from wsgiref.util import setup_testing_defaults

import pytest

pytest.importorskip(
    "opentelemetry.instrumentation.wsgi", reason="opentelemetry-instrumentation-wsgi not installed"
)


def call(app: Any, path: str, query: str = "") -> tuple[int, dict[str, Any]]:
    environ: dict[str, Any] = {"PATH_INFO": path, "QUERY_STRING": query, "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    seen: dict[str, str] = {}

    def start_response(status: str, headers: list[tuple[str, str]]) -> None:
        seen["status"] = status

    body = b"".join(app(environ, start_response))
    return int(seen["status"].split()[0]), json.loads(body)


def test_routes(server_module: Any) -> None:
    app = server_module.DemoApp(seed=1, fail_rate=0.0, slow_seconds=0.0)
    assert call(app, "/")[1]["service"] == "demo-app"
    assert call(app, "/healthz") == (200, {"status": "ok"})
    status, body = call(app, "/work", "n=10")
    assert status == 200 and body["n"] == 10
    assert call(app, "/work", "n=ten")[0] == 400
    assert call(app, "/nowhere")[0] == 404
    assert call(app, "/slow") == (200, {"slept": 0.0})


def test_flaky_is_seeded_and_follows_the_rate(server_module: Any) -> None:
    def statuses(seed: int, rate: float) -> list[int]:
        app = server_module.DemoApp(seed=seed, fail_rate=rate, slow_seconds=0.0)
        return [call(app, "/flaky")[0] for _ in range(200)]

    assert statuses(3, 0.3) == statuses(3, 0.3)  # same seed, same sequence
    assert set(statuses(3, 0.0)) == {200}
    assert set(statuses(3, 1.0)) == {500}
    failures = statuses(5, 0.3).count(500)
    assert 30 < failures < 90  # 200 draws at 30 %


def test_bad_fail_rate_is_rejected(server_module: Any) -> None:
    with pytest.raises(ValueError, match="DEMO_FAIL_RATE"):
        server_module.DemoApp(seed=1, fail_rate=1.5, slow_seconds=0.0)
