"""The compose stack on the real Docker engine: five healthy containers, one trace across them."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lgtm.server import docker_bridge_address
from labkit.lgtm.testing import free_port, running_server

# The first build installs the wheelhouse into the image: minutes on a busy 2-core machine.
pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]

PLANTED = "def collect(item, seen=[]):\n    seen.append(item)\n    return eval(item)\n"


@pytest.fixture(scope="module")
def engine() -> None:
    from labkit.containers import engine_status

    ok, detail, fix = engine_status()
    if not ok:
        pytest.skip(f"no Docker engine: {detail} (fix: {fix})")
    if docker_bridge_address() is None:
        pytest.skip(
            "the engine has no docker0 bridge on this host: containers cannot reach the embedded server"
        )


def test_stack_comes_up_healthy_and_one_trace_spans_the_containers(engine: None, tmp_path: Path) -> None:
    from labkit.agents.code_critic import stack
    from labkit.observe.tempo import Tempo

    project = "labkit-critic-test"
    with running_server(tmp_path, listen_docker_bridge=True) as srv:
        port = free_port()
        env = {
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://host.docker.internal:{srv.ports['otlp_http']}",
            "CODE_CRITIC_PORT": str(port),
        }
        try:
            handle = stack.up(env=env, project=project, timeout=400, progress=lambda line: None)
        except Exception:
            stack.down(project)  # a stack that never got healthy still leaves containers behind
            raise
        try:
            states = {row.get("Service"): row.get("Health") for row in handle.ps()}
            assert states == {name: "healthy" for name in stack.SERVICES}, states
            review, trace_id = stack.post_review(f"http://127.0.0.1:{port}", {"planted.py": PLANTED})
            found = {(f["rule_id"], f["line_start"]) for f in review["review"]["findings"]}
            assert {("B006", 1), ("B307", 3)} <= found
            services = stack.services_in_trace(Tempo(srv.urls["tempo"]), trace_id, at_least=5, timeout=60)
            assert len(services) >= 3, services
            assert "code-critic-supervisor" in services
        finally:
            handle.down()
