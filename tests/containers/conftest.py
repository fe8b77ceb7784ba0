"""Fixtures for the Docker stage tests: a real engine or a skip that says why."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


@pytest.fixture(scope="module")
def server_module() -> Iterator[Any]:
    """``demo_app.server`` imported from the stack's folder (it is not part of the labkit package)."""
    pytest.importorskip(
        "opentelemetry.instrumentation.wsgi", reason="opentelemetry-instrumentation-wsgi not installed"
    )
    sys.path.insert(0, str(DEMO_APP))
    try:
        from demo_app import server

        yield server
    finally:
        sys.path.remove(str(DEMO_APP))
