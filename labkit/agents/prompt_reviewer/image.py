"""Build the Prompt Reviewer image offline: context = Dockerfile + requirements + wheelhouse.

The service's code is labkit itself, which is not on an index, so the build context is
assembled in a folder of its own: ``stacks/prompt-reviewer/{Dockerfile,requirements.txt}``,
a wheelhouse of the requirements for the base image's Python (``labkit.containers``), and
a labkit wheel built from this checkout (``pip wheel --no-deps``). The Docker build then
runs with no network at all.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["DEFAULT_TAG", "build", "prepare_context", "project_root", "stack_dir"]

DEFAULT_TAG = "labkit/prompt-reviewer:dev"
Progress = Callable[[str], None]


def project_root() -> Path:
    """The checkout labkit is installed from (editable installs only)."""
    root = Path(__file__).resolve().parents[3]
    if not (root / "pyproject.toml").is_file():
        raise FileNotFoundError(
            f"labkit is not installed from a checkout ({root} has no pyproject.toml); "
            "the image is built from the source"
        )
    return root


def stack_dir() -> Path:
    return project_root() / "stacks" / "prompt-reviewer"


def prepare_context(
    dest: Path,
    *,
    python_version: str | None = None,
    progress: Progress = print,
    source: Path | None = None,
) -> Path:
    """Fill ``dest`` with the Dockerfile, requirements.txt and ``wheels/`` (deps + labkit).

    ``source`` is the stack folder (default ``stacks/prompt-reviewer``); other agents whose
    image follows the same pattern (e.g. ``stacks/learning-cycle``) pass theirs."""
    from labkit.containers.wheelhouse import build_wheelhouse

    source = source or stack_dir()
    dest.mkdir(parents=True, exist_ok=True)
    for name in ("Dockerfile", "requirements.txt", ".dockerignore"):
        shutil.copy2(source / name, dest / name)
    wheels = dest / "wheels"
    build_wheelhouse(dest / "requirements.txt", wheels, python_version=python_version, progress=progress)
    for old in wheels.glob("labkit-*.whl"):
        old.unlink()
    progress("building the labkit wheel from the checkout")
    # Build from a copy: an in-tree build would leave build/ and egg-info in the checkout.
    source_copy = Path(tempfile.mkdtemp(prefix="labkit-src-"))
    try:
        _copy_source(project_root(), source_copy)
        _pip_wheel(source_copy, wheels)
    finally:
        shutil.rmtree(source_copy, ignore_errors=True)
    return dest


def _copy_source(root: Path, dest: Path) -> None:
    shutil.copytree(root / "labkit", dest / "labkit", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        if (root / name).is_file():
            shutil.copy2(root / name, dest / name)


def _pip_wheel(source: Path, wheels: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--quiet",
            "--wheel-dir",
            str(wheels),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"pip wheel of labkit failed: {result.stderr.strip()[-2000:]}")


def build(
    dest: Path,
    tag: str = DEFAULT_TAG,
    *,
    allow_pull: bool = True,
    progress: Progress = print,
    source: Path | None = None,
) -> object:
    """Assemble the context in ``dest`` and build ``tag`` (returns ``labkit.containers.BuildResult``)."""
    from labkit.containers import build_image, resolve_build_args

    source = source or stack_dir()
    text = (source / "Dockerfile").read_text(encoding="utf-8")
    args, bases = resolve_build_args(text, allow_pull=allow_pull, progress=progress)
    python_version = next((b.python_version for b in bases if b.python_version), None)
    prepare_context(dest, python_version=python_version, progress=progress, source=source)
    return build_image(dest, tag=tag, build_args=args, wheelhouse=False, allow_pull=False, progress=progress)
