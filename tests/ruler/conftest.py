from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labkit.lgtm.metrics.store import append_samples
from labkit.lgtm.rules import Ruler
from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server

# A fixed "now" for rules evaluated by hand: minute-aligned, recent enough for the stores.
T0_MS = (int(time.time() * 1000) // 60_000) * 60_000 - 30 * 60_000


class Clock:
    """A clock the test moves by hand (seconds, like time.time)."""

    def __init__(self, start_ms: int) -> None:
        self.now_ms = start_ms

    def __call__(self) -> float:
        return self.now_ms / 1000

    def advance(self, seconds: float) -> int:
        self.now_ms += int(seconds * 1000)
        return self.now_ms


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with running_server(tmp_path / "srv") as srv:
        yield srv


def add_samples(srv: EmbeddedServer, samples: list[tuple[dict[str, str], int, float]]) -> None:
    with srv.db.transaction() as con:
        append_samples(srv.db, con, samples)


def push_logs(srv: EmbeddedServer, labels: dict[str, str], lines: list[tuple[int, str]]) -> None:
    body = {
        "streams": [{"stream": labels, "values": [[str(ts_ms * 1_000_000), line] for ts_ms, line in lines]}]
    }
    httpx.post(srv.urls["loki"] + "/loki/api/v1/push", json=body, timeout=10).raise_for_status()


def manual_ruler(
    srv: EmbeddedServer,
    clock: Clock,
    *,
    rules: tuple[Path, ...] | list[Path] = (),
    loki: tuple[Path, ...] | list[Path] = (),
) -> Ruler:
    """A ruler over the server's store that only runs when the test says so."""
    ruler = Ruler(
        srv.db,
        rule_files=[str(p) for p in rules],
        loki_rule_files=[str(p) for p in loki],
        default_interval_s=10,
        clock=clock,
    )
    assert ruler.reload() == []
    return ruler
