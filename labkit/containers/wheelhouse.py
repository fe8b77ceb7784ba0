"""Wheelhouses: Python dependencies enter images as wheels built on the host.

A Dockerfile then installs with ``pip install --no-index --find-links /wheels``, so the
build needs no network (labkit builds with ``network_mode=none``). The wheels must fit
the *image's* interpreter, which on an offline stand-in base is Debian's python3 and may
differ from the host's: for another version, labkit downloads wheels for that version's
tags instead of building them with the host interpreter.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from labkit.containers.errors import ContainerError

__all__ = ["STAMP", "Wheelhouse", "build_wheelhouse", "is_pure", "wheel_tags"]

STAMP = ".labkit-wheelhouse.json"
Progress = Callable[[str], None]


@dataclass(frozen=True)
class Wheelhouse:
    path: Path
    wheels: list[str]
    python_version: str
    seconds: float
    cached: bool
    binary_wheels: list[str] = field(default_factory=list)  # not py*-none-any


def wheel_tags(filename: str) -> tuple[str, str, str]:
    """(python tag, abi tag, platform tag) of a wheel file name (PEP 427)."""
    if not filename.endswith(".whl"):
        raise ValueError(f"not a wheel file name: {filename!r}")
    parts = filename[:-4].split("-")
    if len(parts) not in (5, 6):
        raise ValueError(f"malformed wheel file name: {filename!r}")
    return parts[-3], parts[-2], parts[-1]


def is_pure(filename: str) -> bool:
    """True for wheels any interpreter of the right major version can install."""
    _, abi, plat = wheel_tags(filename)
    return abi == "none" and plat == "any"


def _host_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def _key(requirements: str, python_version: str, platform_tag: str) -> str:
    return hashlib.sha256(f"{python_version}\n{platform_tag}\n{requirements}".encode()).hexdigest()[:16]


def build_wheelhouse(
    requirements: Path,
    dest: Path,
    *,
    python_version: str | None = None,
    pure_only: bool = False,
    progress: Progress = print,
) -> Wheelhouse:
    """Fill ``dest`` with wheels for ``requirements`` (a requirements.txt) and their dependencies.

    Reuses ``dest`` when it was built from the same requirements for the same interpreter,
    so a second build works offline. ``pure_only`` rejects compiled wheels, for images
    whose interpreter version is not known in advance.
    """
    if not requirements.is_file():
        raise ContainerError(f"requirements file not found: {requirements}")
    target = python_version or _host_version()
    if not target.count(".") == 1 or not all(p.isdigit() for p in target.split(".")):
        raise ValueError(f"python_version must look like '3.11', got {target!r}")
    machine = platform.machine()
    text = requirements.read_text(encoding="utf-8")
    key = _key(text, target, machine)
    stamp = dest / STAMP
    started = time.monotonic()
    if stamp.is_file():
        recorded = json.loads(stamp.read_text(encoding="utf-8"))
        wheels = recorded.get("wheels", [])
        if recorded.get("key") == key and all((dest / w).is_file() for w in wheels):
            binary = [w for w in wheels if not is_pure(w)]
            return Wheelhouse(dest, wheels, target, time.monotonic() - started, True, binary)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.whl"):
        old.unlink()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check"]
    nodot = target.replace(".", "")
    download = [*pip, "download", "--dest", str(dest), "-r", str(requirements), "--only-binary=:all:"]
    download += ["--python-version", target]
    # Pure-Python wheels first: they fit any interpreter of that version, so the same
    # wheelhouse serves the official image and the offline stand-in alike.
    pure = [*download, "--implementation", "py", "--abi", "none", "--platform", "any"]
    if target == _host_version():
        # Same interpreter version: `pip wheel` also turns sdist-only packages into wheels.
        fallback = [*pip, "wheel", "--wheel-dir", str(dest), "-r", str(requirements)]
    else:
        # Another version: only ready-made wheels carry the right tags, so download them.
        fallback = [*download, "--implementation", "cp"]
        for abi in (f"cp{nodot}", "abi3", "none"):
            fallback += ["--abi", abi]
        for plat in ("manylinux2014", "manylinux_2_28", "manylinux_2_34"):
            fallback += ["--platform", f"{plat}_{machine}"]
    progress(f"wheelhouse for python {target} from {requirements.name} (pure-Python wheels first) ...")
    proc = subprocess.run(pure, capture_output=True, text=True, check=False)
    if proc.returncode != 0 and not pure_only:
        for old in dest.glob("*.whl"):
            old.unlink()
        progress("some dependencies have no pure-Python wheel; building wheels for this interpreter instead")
        proc = subprocess.run(fallback, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise ContainerError(
            f"building the wheelhouse from {requirements} failed (exit {proc.returncode}); pip said:\n"
            + (proc.stderr or proc.stdout)[-3000:]
        )
    wheels = sorted(p.name for p in dest.glob("*.whl"))
    others = [p.name for p in dest.iterdir() if p.is_file() and p.suffix != ".whl" and p.name != STAMP]
    if others:
        raise ContainerError(f"the wheelhouse got non-wheel files (sdists cannot install offline): {others}")
    binary = [w for w in wheels if not is_pure(w)]
    if pure_only and binary:
        raise ContainerError(
            "pure_only was asked but these dependencies have compiled wheels, which only fit one "
            f"interpreter version: {', '.join(binary)}"
        )
    stamp.write_text(json.dumps({"key": key, "python_version": target, "wheels": wheels}, indent=1))
    seconds = time.monotonic() - started
    progress(f"wheelhouse ready: {len(wheels)} wheels in {seconds:.1f} s ({len(binary)} compiled)")
    return Wheelhouse(dest, wheels, target, seconds, False, binary)
