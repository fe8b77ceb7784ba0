"""Build and run the Code Critic's compose stack (stacks/code-critic) offline.

``prepare_context()`` fills ``stacks/code-critic/wheels/`` (git-ignored) with a wheelhouse
of ``requirements.txt`` for the base image's Python plus a labkit wheel built from this
checkout; ``up()`` then runs ``docker compose up --build --wait`` (healthchecks gate the
supervisor's start) and returns the handle (``ps()``, ``logs()``, ``down()``).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from labkit.agents.prompt_reviewer.image import _copy_source, _pip_wheel, project_root

__all__ = ["SERVICES", "compose_file", "down", "post_review", "prepare_context", "services_in_trace", "up"]

SERVICES = ("style", "security", "complexity", "tests", "supervisor")
Progress = Callable[[str], None]


def stack_dir() -> Path:
    return project_root() / "stacks" / "code-critic"


def compose_file() -> Path:
    return stack_dir() / "compose.yaml"


def prepare_context(*, allow_pull: bool = True, progress: Progress = print) -> dict[str, str]:
    """Wheelhouse + labkit wheel in the build context; returns the env (BASE_IMAGE) for compose."""
    from labkit.containers import ensure_base_image
    from labkit.containers.wheelhouse import build_wheelhouse

    base = ensure_base_image("python:3.11-slim", allow_pull=allow_pull, progress=progress)
    wheels = stack_dir() / "wheels"
    build_wheelhouse(
        stack_dir() / "requirements.txt", wheels, python_version=base.python_version, progress=progress
    )
    for old in wheels.glob("labkit-*.whl"):
        old.unlink()
    progress("building the labkit wheel from the checkout")
    source = Path(tempfile.mkdtemp(prefix="labkit-src-"))
    try:
        _copy_source(project_root(), source)
        _pip_wheel(source, wheels)
    finally:
        shutil.rmtree(source, ignore_errors=True)
    return {"BASE_IMAGE": base.ref}


def up(
    *,
    env: Mapping[str, str] | None = None,
    project: str | None = None,
    timeout: float = 240.0,
    allow_pull: bool = True,
    progress: Progress = print,
) -> Any:
    """Build and start the five services, waiting until every healthcheck passes."""
    import os

    from labkit.containers import compose_up
    from labkit.containers.compose import compose

    build_env = prepare_context(allow_pull=allow_pull, progress=progress)
    saved = {k: os.environ.get(k) for k in [*build_env, *(env or {})]}
    # compose reads ${VARS} from the environment; set them only for this call.
    os.environ.update({**build_env, **(env or {})})
    try:
        # One image at a time: the five share their build stage, so the first build fills the
        # layer cache and the other four only add their ROLE layer (in parallel, the classic
        # builder would run five identical pip installs at once).
        for service in SERVICES:
            progress(f"building {service}")
            compose(compose_file(), "build", service, project=project, timeout=1200)
        return compose_up(
            compose_file(),
            project=project,
            build=False,
            timeout=timeout,
            allow_pull=allow_pull,
            progress=progress,
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def down(project: str | None = None) -> None:
    """Remove the stack's containers and network (what ``up`` left, healthy or not)."""
    from labkit.containers.compose import compose

    compose(
        compose_file(),
        "down",
        "--timeout",
        "5",
        "--remove-orphans",
        project=project,
        timeout=120,
        check=False,
    )


def post_review(url: str, files: Mapping[str, str], *, timeout: float = 180.0) -> tuple[dict[str, Any], str]:
    """POST files ({path: text}) to the supervisor at ``url``; returns (review JSON, trace id).

    The request carries a fresh W3C ``traceparent``, so the caller knows the trace id to
    look up in Tempo: every container's spans of this review share it.
    """
    import secrets

    import httpx

    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    body = {"files": [{"path": p, "text": t} for p, t in files.items()]}
    response = httpx.post(url.rstrip("/") + "/review", json=body, headers=headers, timeout=timeout)
    if response.status_code != 200:
        raise RuntimeError(f"the supervisor at {url} answered {response.status_code}: {response.text[:300]}")
    return response.json(), trace_id


def services_in_trace(tempo: Any, trace_id: str, *, at_least: int = 1, timeout: float = 60.0) -> list[str]:
    """The service names with spans in the trace (polls until ``at_least`` appear or the timeout)."""
    import time

    from labkit.observe.tempo import NotFound

    deadline = time.monotonic() + timeout
    names: list[str] = []
    while True:
        try:
            names = sorted(set(tempo.trace(trace_id)["service_name"]))
        except NotFound:
            names = []
        if len(names) >= at_least or time.monotonic() > deadline:
            return names
        time.sleep(1.0)
