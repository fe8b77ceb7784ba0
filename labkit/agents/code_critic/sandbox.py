"""Run untrusted code (the reviewed project's tests) contained in a subprocess.

What contains it:

* **A subprocess, never this process**: reviewed code is never imported by the kernel
  or a service; only a child Python runs it.
* **A new session** (``start_new_session``): the child leads its own process group, and
  at the timeout (or when it exits leaving forks behind) the *whole group* is killed.
* **rlimits**, set by a small launcher before it ``exec``\\s the command: CPU seconds,
  address space, file size, no core dumps and (for non-root users) a process count.
* **No network**: when ``unshare -n`` works (root, or user namespaces enabled) the child
  runs in an empty network namespace (only a down loopback). Otherwise a
  ``sitecustomize`` put first on ``PYTHONPATH`` makes every non-Unix socket ``connect``,
  ``bind`` or name lookup fail. The sitecustomize is installed in both cases, so the
  error a test sees says why. (A C extension could bypass the sitecustomize; the
  namespace it cannot.)
* **A temporary working folder**, and an environment with no inherited secrets: only
  ``PATH``, ``LANG`` and the variables the caller passes.
"""

from __future__ import annotations

import functools
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Limits", "Outcome", "network_isolation", "run_contained"]

_LAUNCHER = textwrap.dedent(
    """
    import os, resource, sys
    cpu, mem, fsize, nproc = (int(v) for v in sys.argv[1:5])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    if mem:
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if nproc and os.geteuid() != 0:
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    os.execvp(sys.argv[5], sys.argv[5:])
    """
)

_SITECUSTOMIZE = textwrap.dedent(
    '''
    """Installed by labkit's code critic: the code under review gets no network."""
    import socket as _socket

    _MSG = "network access is disabled while the code critic runs these tests"

    def _blocked(*args, **kwargs):
        raise PermissionError(_MSG)

    _orig_connect = _socket.socket.connect
    _orig_connect_ex = _socket.socket.connect_ex
    _orig_bind = _socket.socket.bind

    def _guard(orig):
        def method(self, *args, **kwargs):
            if self.family != getattr(_socket, "AF_UNIX", object()):
                raise PermissionError(_MSG)
            return orig(self, *args, **kwargs)
        return method

    _socket.socket.connect = _guard(_orig_connect)
    _socket.socket.connect_ex = _guard(_orig_connect_ex)
    _socket.socket.bind = _guard(_orig_bind)
    _socket.getaddrinfo = _blocked
    _socket.gethostbyname = _blocked
    _socket.create_connection = _blocked
    '''
)


@dataclass(frozen=True)
class Limits:
    timeout_s: float = 30.0
    cpu_s: int = 30
    memory_bytes: int = 1536 * 1024 * 1024  # address space; pytest + coverage need ~300 MB
    file_bytes: int = 64 * 1024 * 1024
    processes: int = 256  # RLIMIT_NPROC is per user and ignored for root: the group kill covers root


@dataclass
class Outcome:
    returncode: int | None
    stdout: str
    stderr: str
    timed_out: bool
    duration_s: float
    network: str  # "namespace" | "sitecustomize"
    stray_processes_killed: bool = False


@functools.cache
def network_isolation() -> str:
    """``namespace`` when ``unshare -n`` works here, else ``sitecustomize``."""
    tool = shutil.which("unshare")
    if tool is None or sys.platform != "linux":
        return "sitecustomize"
    try:
        done = subprocess.run([tool, "-n", "true"], capture_output=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "sitecustomize"
    return "namespace" if done.returncode == 0 else "sitecustomize"


def _kill_group(pgid: int) -> bool:
    """SIGKILL the process group; True when something was still alive in it."""
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def run_contained(
    argv: list[str],
    cwd: Path,
    *,
    limits: Limits | None = None,
    env: dict[str, str] | None = None,
    python_path: list[str] | None = None,
) -> Outcome:
    """Run ``argv`` in ``cwd`` contained; never raises on the child's behaviour."""
    limits = limits or Limits()
    isolation = network_isolation()
    guard_dir = Path(tempfile.mkdtemp(prefix="labkit-critic-site-"))
    try:
        (guard_dir / "sitecustomize.py").write_text(_SITECUSTOMIZE, encoding="utf-8")
        child_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "LANG": "C.UTF-8",
            "HOME": str(cwd),
            "TMPDIR": str(cwd),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": os.pathsep.join([str(guard_dir), *(python_path or [])]),
            **(env or {}),
        }
        launcher = [
            sys.executable,
            "-c",
            _LAUNCHER,
            str(limits.cpu_s),
            str(limits.memory_bytes),
            str(limits.file_bytes),
            str(limits.processes),
        ]
        prefix = ["unshare", "-n", "--"] if isolation == "namespace" else []
        out_path, err_path = cwd / ".labkit-stdout", cwd / ".labkit-stderr"
        start = time.perf_counter()
        # Files, not pipes: a forked grandchild holding a pipe open cannot hang the reader.
        with out_path.open("wb") as out, err_path.open("wb") as err:
            proc = subprocess.Popen(
                [*prefix, *launcher, *argv],
                cwd=cwd,
                env=child_env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                proc.wait(timeout=limits.timeout_s)
            except subprocess.TimeoutExpired:
                timed_out = True
                _kill_group(proc.pid)
                proc.wait()
            stray = False if timed_out else _kill_group(proc.pid)
        duration = time.perf_counter() - start
        return Outcome(
            returncode=None if timed_out else proc.returncode,
            stdout=out_path.read_text(encoding="utf-8", errors="replace")[-200_000:],
            stderr=err_path.read_text(encoding="utf-8", errors="replace")[-200_000:],
            timed_out=timed_out,
            duration_s=duration,
            network=isolation,
            stray_processes_killed=stray,
        )
    finally:
        shutil.rmtree(guard_dir, ignore_errors=True)
