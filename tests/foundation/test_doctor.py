"""labkit doctor with faked probes: required rows per stage, exit codes, the key never shown."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from typer.testing import CliRunner

import labkit
from labkit import doctor as doctor_module
from labkit._probes import CommandResult, Probes
from labkit.cli import app
from labkit.config import load_settings
from labkit.doctor import STAGES, diagnose, normalise_stage


def fake_probes(
    docker: bool = True,
    compose: str = "2.29.1",
    kubectl: bool = True,
    answering: bool = False,
    modules: bool = True,
) -> Probes:
    def run(argv: Sequence[str], timeout: float) -> CommandResult | None:
        if argv[0] == "docker":
            if not docker:
                return None
            if argv[1] == "info":
                return CommandResult(0, '"27.1.0"\n', "")
            return CommandResult(0, compose + "\n", "")
        if argv[0] == "kubectl":
            if not kubectl:
                return None
            if argv[1] == "version":
                return CommandResult(0, json.dumps({"clientVersion": {"gitVersion": "v1.31.0"}}), "")
            return CommandResult(1, "", "error: current-context is not set")
        raise AssertionError(f"unexpected command {argv}")

    return Probes(
        run=run,
        http_get=lambda url, timeout: 200 if answering else None,
        tcp_connect=lambda url, timeout: answering,
        module_available=lambda name: modules,
        embedded_status=lambda settings: None,
    )


def settings(**overrides: Any) -> Any:
    return load_settings(environ={}, config_file=None, cwd=None, **overrides)


def row(report: Any, prefix: str) -> Any:
    return next(r for r in report.rows if r.name.startswith(prefix))


def test_default_stage_requires_only_python_and_packages() -> None:
    report = diagnose(None, settings(), fake_probes(docker=False, kubectl=False, modules=False))
    required = [r.name for r in report.rows if r.required]
    assert required == ["Python", "packages"]
    assert report.ok
    assert not row(report, "Docker engine").ok and row(report, "Docker engine").fix


def test_docker_stage_fails_without_docker_and_passes_with_it() -> None:
    absent = diagnose("docker", settings(), fake_probes(docker=False))
    engine = row(absent, "Docker engine")
    assert engine.required and not engine.ok and engine.detail == "docker CLI not found"
    assert "install Docker" in engine.fix
    assert not absent.ok and [r.name for r in absent.failed] == ["Docker engine", "docker compose v2"]
    present = diagnose("01-docker", settings(), fake_probes())
    assert present.ok and row(present, "Docker engine").detail == "server 27.1.0"
    assert row(present, "docker compose v2").detail == "version 2.29.1"


def test_compose_v1_is_not_enough() -> None:
    report = diagnose("docker", settings(), fake_probes(compose="1.29.2"))
    assert not row(report, "docker compose v2").ok and not report.ok


def test_engine_that_does_not_answer() -> None:
    probes = fake_probes()
    original = probes.run

    def run(argv: Sequence[str], timeout: float) -> CommandResult | None:
        if argv[:2] == ["docker", "info"]:
            return CommandResult(1, "", "Cannot connect to the Docker daemon at unix:///var/run/docker.sock.")
        return original(argv, timeout)

    probes.run = run
    engine = row(diagnose("docker", settings(), probes), "Docker engine")
    assert not engine.ok and "Cannot connect" in engine.detail and "start the Docker daemon" in engine.fix


def test_lgtm_stage_accepts_embedded_or_live_endpoints_but_not_neither() -> None:
    embedded = diagnose("lgtm", settings(backend="embedded"), fake_probes(modules=True))
    assert embedded.ok and row(embedded, "Tempo").detail.endswith("embedded labkit.lgtm available")
    live = diagnose("lgtm", settings(backend="live"), fake_probes(answering=True, modules=False))
    assert live.ok and row(live, "Loki").detail.startswith("live")
    neither = diagnose("lgtm", settings(backend="live"), fake_probes(answering=False, modules=True))
    assert not neither.ok
    assert {r.name.split()[0] for r in neither.failed} >= {"OTLP/gRPC", "Tempo", "Loki", "Grafana"}


def test_kubernetes_stage_requires_kubectl() -> None:
    assert not diagnose("kubernetes", settings(), fake_probes(kubectl=False)).ok
    report = diagnose("kubernetes", settings(), fake_probes())
    assert report.ok and row(report, "kubectl").detail == "client v1.31.0"
    context = row(report, "Kubernetes context")
    assert not context.required and not context.ok


def test_api_key_is_never_shown_and_required_only_for_live_llm_stages() -> None:
    secret = "sk-" + "ant-very-secret-value-123"  # split: no key-shaped literal in the repo
    report = diagnose(
        "agents", settings(backend="live", anthropic_api_key=secret), fake_probes(answering=True)
    )
    key = row(report, "Anthropic API key")
    assert key.ok and key.required
    assert secret not in str(report) and secret not in report._repr_html_()
    missing = diagnose("agents", settings(backend="live"), fake_probes(answering=True))
    assert not row(missing, "Anthropic API key").ok and not missing.ok
    offline = row(diagnose("agents", settings(backend="embedded"), fake_probes()), "Anthropic API key")
    assert not offline.required


def test_stage_names() -> None:
    assert normalise_stage("03-lgtm") == "lgtm" and normalise_stage(None) is None
    with pytest.raises(ValueError, match="unknown stage 'nope'; known stages: start-here"):
        normalise_stage("nope")
    assert set(STAGES["all"]) >= set().union(*STAGES.values())


def test_report_renders_for_notebooks_and_labkit_doctor_is_callable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor_module, "Probes", lambda: fake_probes(docker=False))
    report = labkit.doctor("docker", settings())
    assert report.ok is False
    page = report._repr_html_()
    assert "<table" in page and "Docker engine" in page and "not ready" in page
    assert "\u2718 Docker engine [required]: docker CLI not found" in str(report)


@pytest.mark.parametrize(("docker", "code"), [(True, 0), (False, 1)])
def test_cli_exit_code_follows_required_rows(
    monkeypatch: pytest.MonkeyPatch, docker: bool, code: int
) -> None:
    monkeypatch.setattr(doctor_module, "Probes", lambda: fake_probes(docker=docker))
    monkeypatch.setenv("COLUMNS", "200")
    result = CliRunner().invoke(app, ["doctor", "--stage", "docker"])
    assert result.exit_code == code, result.output
    assert "Docker engine" in result.output and "[ml] extras" in result.output


def test_cli_unknown_stage() -> None:
    result = CliRunner().invoke(app, ["doctor", "--stage", "nope"])
    assert result.exit_code == 2 and "unknown stage" in result.output
