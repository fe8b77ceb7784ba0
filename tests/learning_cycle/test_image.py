"""The learning-cycle image, built offline and run on the real engine: healthy, and it runs a cycle."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.docker, pytest.mark.timeout(1800)]


def test_image_builds_offline_and_runs_a_cycle(tmp_path: Path) -> None:
    from labkit.containers import client, engine_status, run_container

    ok, detail, fix = engine_status()
    if not ok:
        pytest.skip(f"no Docker engine: {detail} (fix: {fix})")
    from labkit.agents.learning_cycle import image

    tag = "labkit/learning-cycle:test"
    image.build(tmp_path / "context", tag, progress=lambda line: None)
    running = run_container(tag, ports={image.CONTAINER_PORT: None}, timeout=120)
    try:
        assert running.health() == "healthy"
        health = httpx.get(running.url("/health"), timeout=10).json()
        assert health["workflow"] == "learning_cycle" and health["backend"] == "embedded"
        body = {"learner": "ada"}
        headers = {"traceparent": "00-" + "ab" * 16 + "-" + "cd" * 8 + "-01"}
        result = httpx.post(running.url("/cycle"), json=body, headers=headers, timeout=180).json()
        assert result["passed"] and result["progress_id"] == 1
        assert result["trace_id"] == "ab" * 16  # the caller's W3C trace context was continued
    finally:
        running.stop()
        # Only what this test made: never clean() (other labkit images on the engine are not ours).
        client().images.remove(tag, noprune=False)
