"""docker compose v2: the stacks validate; the two-service demo comes up healthy and goes away."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml

from labkit.containers import ContainerError, client, compose_config, compose_up

from .conftest import REPO

AI_SYSTEM = REPO / "stacks" / "ai-system" / "compose.yaml"
DEMO_COMPOSE = REPO / "stacks" / "demo-app" / "compose.yaml"


@pytest.fixture(scope="module")
def compose_available() -> None:
    """`docker compose config` needs the compose binary only, not an engine."""
    from labkit.containers import ToolMissing, compose_command

    try:
        compose_command()
    except ToolMissing as exc:
        pytest.skip(str(exc))


@pytest.mark.parametrize("profiles", [(), ("agents",), ("llm-agents",), ("observability",), ("full",)])
def test_ai_system_validates(compose_available: None, profiles: tuple[str, ...]) -> None:
    model = compose_config(AI_SYSTEM, profiles=profiles)
    for name, service in model["services"].items():
        for port in service.get("ports", []):
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {port} beyond loopback"
        image = service.get("image", "")
        assert not image.endswith(":latest") and ":" in image, f"{name} image is not pinned: {image}"


def test_ai_system_profiles_and_dependencies(compose_available: None) -> None:
    agents = compose_config(AI_SYSTEM, profiles=("agents",))["services"]
    assert set(agents) == {"demo-app", "traffic"}
    full = compose_config(AI_SYSTEM, profiles=("full",))["services"]
    assert {"prompt-reviewer", "code-critic", "qdrant", "alloy", "loki", "tempo", "mimir", "grafana"} <= set(
        full
    )
    assert full["grafana"]["depends_on"]["loki"]["condition"] == "service_healthy"
    assert full["code-critic"]["depends_on"]["prompt-reviewer"]["condition"] == "service_healthy"
    for name in ("demo-app", "qdrant", "loki", "tempo", "grafana", "prompt-reviewer"):
        assert "healthcheck" in full[name], name


def test_ai_system_pins_the_same_lgtm_versions_as_the_live_stack() -> None:
    lgtm = REPO / "stacks" / "lgtm" / "compose.yaml"
    if not lgtm.is_file():
        pytest.skip("stacks/lgtm/compose.yaml not present")
    ours = yaml.safe_load(AI_SYSTEM.read_text())["x-versions"]
    theirs = yaml.safe_load(lgtm.read_text())["x-versions"]
    for key, image in theirs.items():
        assert ours.get(key) == image, f"{key}: ai-system has {ours.get(key)}, stacks/lgtm has {image}"


@pytest.mark.docker
def test_demo_compose_up_and_down(base_image: str) -> None:
    project = compose_up(DEMO_COMPOSE, progress=lambda line: None, timeout=180)
    try:
        states = {row["Service"]: (row["State"], row.get("Health")) for row in project.ps()}
        assert states == {"demo-app": ("running", "healthy"), "loadgen": ("running", "healthy")}
        with urllib.request.urlopen("http://127.0.0.1:18000/", timeout=10) as response:
            assert json.loads(response.read())["service"] == "demo-app"
        containers = client().containers.list(filters={"label": f"com.docker.compose.project={project.name}"})
        assert all(c.labels.get("org.labkit.managed") == "true" for c in containers)
    finally:
        project.down()
    left = client().containers.list(all=True, filters={"label": f"com.docker.compose.project={project.name}"})
    assert left == []
    assert not client().networks.list(names=[f"{project.name}_default"])


def test_compose_errors_name_the_file(compose_available: None, tmp_path: Path) -> None:
    with pytest.raises(ContainerError, match="compose file not found"):
        compose_config(tmp_path / "missing.yaml")
    bad = tmp_path / "compose.yaml"
    bad.write_text("services:\n  web:\n    image: x:1\n    ports: [notaport]\n")
    with pytest.raises(ContainerError, match=str(bad)):
        compose_config(bad)
