from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    with running_server(tmp_path) as srv:
        yield srv
