from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from promql_reference import SeriesData, generate, prometheus_binary, push, running_prometheus

from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server

MINUTES = 90


@dataclass
class Pair:
    prometheus: str  # base URL of real Prometheus
    embedded: str  # base URL of the embedded Prometheus API (Mimir prefix)
    t0_ms: int
    data: SeriesData


@pytest.fixture(scope="session")
def promql_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    if prometheus_binary() is None:
        pytest.skip("the prometheus binary is not installed (Debian: apt-get install prometheus)")
    # Recent data (the last 90 minutes, minute-aligned) stays inside Prometheus's head block.
    t0 = (int(time.time() * 1000) // 60_000) * 60_000 - MINUTES * 60_000
    data = generate(t0, MINUTES)
    with (
        running_prometheus(tmp_path_factory.mktemp("prometheus")) as prom_url,
        running_server(tmp_path_factory.mktemp("embedded")) as srv,
    ):
        mimir = srv.urls["mimir"]
        push(prom_url + "/api/v1/write", data)
        push(mimir.removesuffix("/prometheus") + "/api/v1/push", data)
        yield Pair(prom_url, mimir, t0, data)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with running_server(tmp_path) as srv:
        yield srv
