"""Fixtures for the Docker stage tests: a real engine or a skip that says why."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DEMO_APP = REPO / "stacks" / "demo-app"
TEST_TAG = "labkit-test/demo-app:test"


def _engine_or_skip() -> None:
    from labkit.containers import engine_status

    ok, detail, fix = engine_status()
    if not ok:
        pytest.skip(f"no Docker engine: {detail} (fix: {fix})")


@pytest.fixture(scope="session")
def engine() -> None:
    _engine_or_skip()


@pytest.fixture(scope="session")
def base_image(engine: None) -> str:
    """The base image the demo Dockerfile names, or its offline stand-in (built once, cached)."""
    from labkit.containers import ensure_base_image

    return ensure_base_image("python:3.11-slim", progress=lambda line: None).ref


@pytest.fixture(scope="session")
def demo_image(base_image: str) -> Iterator[str]:
    from labkit.containers import build_image

    result = build_image(DEMO_APP, tag=TEST_TAG, progress=lambda line: None)
    yield result.tag
