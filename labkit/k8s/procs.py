"""Background processes with a pid file and a log each.

Components start in their own session, so neither a Ctrl-C in the terminal that ran
``labkit k8s up`` nor a kernel restart takes the cluster down. A pid file is trusted only
while /proc says the pid still runs the same program (pids get reused).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

__all__ = ["alive_pid", "start", "stop"]

# Components this process started: kept referenced so Popen never warns "still running" when
# collected (they are meant to outlive us), and waited for by ``stop`` so none stays a zombie.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def alive_pid(pid_file: Path, program: str) -> int | None:
    """The pid recorded in ``pid_file`` if that process still runs ``program``."""
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    argv = _cmdline(pid)
    if not argv or os.path.basename(argv[0]) != program:
        return None
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None
    return None if state == "Z" else pid


def start(argv: list[str], *, log: Path, pid_file: Path, env: dict[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        out.write(f"\n==== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        out.flush()
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, **(env or {})},
            close_fds=True,
        )
    pid_file.write_text(f"{proc.pid}\n")
    _CHILDREN[proc.pid] = proc
    # Until exec() completes /proc shows our own command line; wait for the program's.
    program = os.path.basename(argv[0])
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and proc.poll() is None and alive_pid(pid_file, program) is None:
        time.sleep(0.01)
    return proc.pid


def stop(pid_file: Path, program: str, *, grace_s: float = 10.0) -> bool:
    """SIGTERM, then SIGKILL after ``grace_s``; True if a process was stopped."""
    pid = alive_pid(pid_file, program)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline and alive_pid(pid_file, program) is not None:
        _reap(pid)
        time.sleep(0.1)
    if alive_pid(pid_file, program) is not None:
        os.kill(pid, signal.SIGKILL)
        while alive_pid(pid_file, program) is not None:
            _reap(pid)
            time.sleep(0.05)
    _reap(pid)
    pid_file.unlink(missing_ok=True)
    return True


def _reap(pid: int) -> None:
    # A component started by this very process is our child: collect it so it is not a zombie.
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
