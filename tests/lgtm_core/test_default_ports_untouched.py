"""The suite passes while a `labkit stack up` server holds the default ports, and leaves it alone.

`make run` leaves the embedded server running on the default ports (4317, 4318, 3100,
3200, 9009, 4000). The tests that start servers of their own must neither collide with
it nor stop it. This test reproduces that: it starts such a server (only if the default
ports are free; if something already holds them, that is the situation under test),
runs the tests that used to fail in a pytest subprocess, and checks the server is still
the same process, then stops it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from labkit.config import Settings

from .procs import labkit

DEFAULT_PORTS = (4317, 4318, 3100, 3200, 9009, 4000)
ROOT = Path(__file__).resolve().parents[2]
AFFECTED = [
    "tests/foundation/test_runner_unit.py::test_prepare_backends_starts_the_embedded_server_once",
    "tests/lgtm_core/test_process.py::test_ensure_up_embedded_starts_once_then_reports_nothing",
    "tests/lgtm_core/test_stack_cli.py::test_stale_pid_file_is_replaced",
]


def _free(port: int) -> bool:
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _user_env(data_dir: Path) -> dict[str, str]:
    # A developer's shell after `make run`: no LABKIT_* port settings, so the defaults.
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABKIT_")}
    return env | {"LABKIT_DATA_DIR": str(data_dir), "LABKIT_BACKEND": "embedded", "COLUMNS": "200"}


def test_suite_passes_beside_a_server_on_the_default_ports(tmp_path: Path) -> None:
    # The default settings really are the default ports (what `make run` uses).
    defaults = Settings()
    assert defaults.otlp_http_endpoint.endswith(":4318") and defaults.llm_url.endswith(":4000")
    env = _user_env(tmp_path / "user-data")
    ours = all(_free(p) for p in DEFAULT_PORTS)
    if ours:
        up = labkit(["stack", "up"], env, tmp_path)
        assert up.returncode == 0, up.stdout + up.stderr
    try:
        pid = int((tmp_path / "user-data" / "lgtm.pid").read_text()) if ours else None
        # The subprocess inherits the developer-like environment (default ports, LABKIT_DATA_DIR
        # pointing at the user's data): tests/conftest.py must keep every test off both.
        result = subprocess.run(
            # --basetemp under tmp_path: whatever the inner tests leave (even if killed at the
            # timeout) is swept by tests/conftest.py when this test ends.
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "--basetemp",
                str(tmp_path / "inner"),
                *AFFECTED,
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "3 passed" in result.stdout, result.stdout[-2000:]
        if ours:
            status = labkit(["stack", "status"], env, tmp_path)
            assert status.returncode == 0 and "healthy" in status.stdout, status.stdout
            assert int((tmp_path / "user-data" / "lgtm.pid").read_text()) == pid  # the same server
            assert not any((tmp_path / "user-data").glob("**/pytest-*"))
    finally:
        if ours:
            down = labkit(["stack", "down"], env, tmp_path)
            assert down.returncode == 0, down.stdout + down.stderr
