"""Containment: timeout kills the whole process group, no network, rlimits, no inherited secrets."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from labkit.agents.code_critic.sandbox import Limits, run_contained


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purposes (its parent, the killed child, was reaped by init).
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(") ")[1].startswith("Z"))


def test_a_hanging_forking_child_is_killed_with_its_group(tmp_path: Path) -> None:
    code = (
        "import os, time\n"
        "pid = os.fork()\n"
        "if pid == 0:\n    time.sleep(60)\n"
        "open('child.pid', 'w').write(str(pid))\n"
        "time.sleep(60)\n"
    )
    start = time.perf_counter()
    outcome = run_contained([sys.executable, "-c", code], tmp_path, limits=Limits(timeout_s=2))
    assert outcome.timed_out and outcome.returncode is None
    assert time.perf_counter() - start < 10
    child = int((tmp_path / "child.pid").read_text())
    deadline = time.time() + 5
    while _alive(child) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_forks_left_behind_after_a_normal_exit_are_killed_and_reported(tmp_path: Path) -> None:
    code = "import os, time\nif os.fork() == 0:\n    time.sleep(60)\n"
    outcome = run_contained([sys.executable, "-c", code], tmp_path, limits=Limits(timeout_s=10))
    assert not outcome.timed_out and outcome.returncode == 0 and outcome.stray_processes_killed


def test_the_network_is_unreachable(tmp_path: Path) -> None:
    code = (
        "import socket\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 9), timeout=2)\n"
        "except OSError as exc:\n"
        "    print('blocked', type(exc).__name__, exc)\n"
        "else:\n"
        "    print('connected')\n"
    )
    outcome = run_contained([sys.executable, "-c", code], tmp_path)
    assert outcome.stdout.startswith("blocked"), outcome.stdout + outcome.stderr
    assert outcome.network in ("namespace", "sitecustomize")


def test_memory_and_cpu_limits_apply(tmp_path: Path) -> None:
    memory = run_contained(
        [sys.executable, "-c", "x = bytearray(800 * 1024 * 1024)"],
        tmp_path,
        limits=Limits(memory_bytes=400 * 1024**2),
    )
    assert memory.returncode != 0 and "MemoryError" in memory.stderr
    cpu = run_contained(
        [sys.executable, "-c", "while True: pass"], tmp_path, limits=Limits(cpu_s=1, timeout_s=20)
    )
    assert not cpu.timed_out and cpu.returncode != 0  # SIGXCPU, long before the wall-clock timeout


def test_secrets_in_the_parent_environment_do_not_reach_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "not-for-the-reviewed-code")
    outcome = run_contained(
        [
            sys.executable,
            "-c",
            "import os; print(sorted(k for k in os.environ if 'KEY' in k or 'LABKIT' in k))",
        ],
        tmp_path,
    )
    assert outcome.stdout.strip() == "[]"
