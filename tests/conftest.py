"""Suite-wide guard: a test that (through `labkit run` or a notebook) started a background
embedded server under its temporary folder stops it when it ends, pass or fail."""

from __future__ import annotations

from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _stop_servers_started_under_tmp_path(request: pytest.FixtureRequest) -> Iterator[None]:
    # Resolve tmp_path at setup so it is torn down after this fixture, not before.
    tmp_path = request.getfixturevalue("tmp_path") if "tmp_path" in request.fixturenames else None
    yield
    if tmp_path is not None:
        from labkit.lgtm.testing import stop_background_servers

        stop_background_servers(tmp_path)


@pytest.fixture(autouse=True, scope="session")
def _stop_servers_started_under_basetemp(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Module-scoped fixtures use tmp_path_factory folders; sweep them once at the end.
    yield
    from labkit.lgtm.testing import stop_background_servers

    stop_background_servers(tmp_path_factory.getbasetemp())
