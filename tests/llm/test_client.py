"""Backend choice, the in-process server, the live path and key masking."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import pytest

from labkit.config import ConfigError, load_settings
from labkit.llm import LocalServer, TrackedClient, choose_backend, client, default_model
from labkit.llm.client import stop_local_server
from labkit.llm.server import ServerError
from labkit.llm.tracked import close_shared_clients

from .conftest import Telemetry

LIVE_KEY = "sk-" + "ant-test-live-key-0000000042"  # split: no key-shaped literal in the repo


def _settings(**overrides: object):
    return load_settings(environ={}, config_file=None, cwd=Path("/"), **overrides)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_backend_choice() -> None:
    assert choose_backend(_settings(backend="embedded")).backend == "embedded"
    auto = choose_backend(_settings(backend="auto"))
    assert auto.backend == "embedded" and "no API key" in auto.reason and auto.model == "labkit-offline-1"
    live = choose_backend(_settings(backend="auto", anthropic_api_key=LIVE_KEY))
    assert live.backend == "live" and live.model == "claude-sonnet-5-5"
    assert default_model(_settings(backend="embedded", anthropic_api_key=LIVE_KEY)) == "labkit-offline-1"
    with pytest.raises(ConfigError, match="backend=live needs an Anthropic API key"):
        choose_backend(_settings(backend="live"))


def test_client_starts_the_server_in_process() -> None:
    port = _free_port()
    settings = _settings(backend="embedded", llm_url=f"http://127.0.0.1:{port}")
    try:
        sdk = client(settings, max_retries=0)
        message = sdk.messages.create(
            model=default_model(settings), max_tokens=50, messages=[{"role": "user", "content": "hi"}]
        )
        assert message.model == "labkit-offline-1"
        second = client(settings)  # reuses the running server
        assert second.base_url == sdk.base_url
        second.close()
        sdk.close()
    finally:
        stop_local_server()


def test_client_refuses_a_foreign_server_on_the_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(1)
        port = sock.getsockname()[1]
        with pytest.raises(ServerError, match="not labkit's LLM server"):
            client(_settings(backend="embedded", llm_url=f"http://127.0.0.1:{port}"))


def test_live_path_uses_anthropic_url_and_key(telemetry: Telemetry, caplog: pytest.LogCaptureFixture) -> None:
    # The "live" backend pointed at a local server that insists on the key: no code changes.
    with LocalServer(0, api_key=LIVE_KEY) as fake_anthropic:
        # Pin a model explicitly: the test must not depend on the settings default.
        settings = _settings(
            backend="live",
            anthropic_url=fake_anthropic.url,
            anthropic_api_key=LIVE_KEY,
            llm_url="http://127.0.0.1:9",
            model="claude-sonnet-5",
        )
        with caplog.at_level(logging.DEBUG):
            llm = TrackedClient(client(settings, max_retries=0), telemetry=telemetry.llm, settings=settings)
            message = llm.messages.create(
                model=default_model(settings), max_tokens=50, messages=[{"role": "user", "content": "hi"}]
            )
        assert message.content
        log = fake_anthropic.request_log()
        assert len(log) == 1 and log[0]["model"] == "claude-sonnet-5"
        assert log[0]["api_key"] == "****42"
        assert LIVE_KEY not in caplog.text
        assert LIVE_KEY not in repr(llm) and LIVE_KEY not in repr(fake_anthropic)
        assert LIVE_KEY not in repr(settings)
        llm.client.close()
        spans = telemetry.finished()
        assert all(LIVE_KEY not in str(dict(s.attributes)) for s in spans)


def test_module_level_call_uses_the_environment(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import labkit.llm

    monkeypatch.setenv("LABKIT_LLM_URL", server.url)
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    labkit.llm.reset_run_budget(labkit.llm.Budget(max_tokens_total=10_000))
    try:
        result = labkit.llm.call("Say hello in one sentence.", agent="notebook", max_tokens=100)
    finally:
        close_shared_clients()
    assert result.text.startswith("[offline labkit-offline-1]")
    assert result.record.agent == "notebook" and result.record.cost.usd == 0.0
    assert labkit.llm.run_budget().used_tokens == result.record.usage.total
    assert len(server.request_log()) == 1


def test_dockerfile_follows_the_container_rules() -> None:
    text = (Path(__file__).parents[2] / "stacks" / "prompt-reviewer" / "Dockerfile").read_text()
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]
    assert lines[0] == "ARG BASE_IMAGE=python:3.11-slim"
    froms = [line for line in lines if line.startswith("FROM ")]
    assert len(froms) == 2 and all(line.startswith("FROM ${BASE_IMAGE}") for line in froms)  # multi-stage
    assert "--no-index --find-links ./wheels -r requirements.txt" in text  # wheelhouse only, no network
    assert "COPY wheels/" in text
    users = [line for line in lines if line.startswith("USER ")]
    assert users and users[-1] != "USER root" and not users[-1].startswith("USER 0")
    assert any(line.startswith("HEALTHCHECK") for line in lines)
    assert "/health" in text and "labkit.agents.prompt_reviewer.service" in text
