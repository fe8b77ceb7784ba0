"""Suite-wide guards: the tests never touch the user's workbook.

1. Before anything is collected, every ``LABKIT_*`` variable the developer has set (and
   ``ANTHROPIC_API_KEY``) is replaced by a private environment: a data dir under a fresh
   temporary folder and a distinct free loopback port per endpoint. So a test that forgets
   to isolate itself still never talks to, or stops, the server that ``make run`` left on
   the default ports, and never writes into the user's ``.labkit/``.
2. A test that (through `labkit run` or a notebook) started a background embedded server
   under its temporary folder stops it when it ends, pass or fail.
3. Every test module, and every test, starts with a fresh run budget: the budget is one per
   process, and a suite of thousands of offline LLM calls in one process would otherwise
   exhaust it and make later tests fail with BudgetExceeded.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Every endpoint setting, as its LABKIT_* variable. Listed here (not imported from labkit)
# so the guard is in place before any labkit module reads the environment.
_ENDPOINT_VARS = (
    "LABKIT_OTLP_GRPC_ENDPOINT",
    "LABKIT_OTLP_HTTP_ENDPOINT",
    "LABKIT_TEMPO_URL",
    "LABKIT_LOKI_URL",
    "LABKIT_MIMIR_URL",
    "LABKIT_LLM_URL",
    "LABKIT_GRAFANA_URL",
    "LABKIT_QDRANT_URL",
)
_saved_environ: dict[str, str] = {}
_private_root: Path | None = None


def _free_ports(n: int) -> list[int]:
    import socket

    # Hold all sockets until every port is chosen, so the n ports are distinct.
    sockets = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            sockets.append(s)
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def private_environ(data_dir: Path) -> dict[str, str]:
    """The LABKIT_* variables of the guard: a private data dir and a free port per endpoint."""
    env = {"LABKIT_DATA_DIR": str(data_dir)}
    for var, port in zip(_ENDPOINT_VARS, _free_ports(len(_ENDPOINT_VARS)), strict=True):
        env[var] = f"http://127.0.0.1:{port}" + ("/prometheus" if var == "LABKIT_MIMIR_URL" else "")
    return env


def pytest_configure(config: pytest.Config) -> None:
    global _private_root
    _saved_environ.update(os.environ)
    for name in list(os.environ):
        if name.startswith("LABKIT_") or name == "ANTHROPIC_API_KEY":
            del os.environ[name]
    _private_root = Path(tempfile.mkdtemp(prefix="labkit-tests-"))
    os.environ.update(private_environ(_private_root / "data"))


def pytest_unconfigure(config: pytest.Config) -> None:
    if _private_root is not None:
        from labkit.lgtm.testing import stop_background_servers

        stop_background_servers(_private_root)
        shutil.rmtree(_private_root, ignore_errors=True)
    os.environ.clear()
    os.environ.update(_saved_environ)


def _fresh_run_budget() -> None:
    from labkit.llm.tracked import reset_run_budget

    reset_run_budget()


@pytest.fixture(autouse=True, scope="module")
def _fresh_run_budget_per_module() -> None:
    # Module fixtures (services built once per module) take the budget when they start:
    # an autouse fixture of their scope runs before them.
    _fresh_run_budget()


@pytest.fixture(autouse=True)
def _fresh_run_budget_per_test() -> None:
    _fresh_run_budget()


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
