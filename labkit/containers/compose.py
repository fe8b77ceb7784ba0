"""``docker compose`` v2, driven as a program: validate, build (offline), up with wait, down.

The compose CLI is the interface learners use, so labkit runs the real binary rather than
re-implementing compose. Before ``up``, every service that builds from a Dockerfile
gets its wheelhouse and, when ``BASE_IMAGE`` cannot be pulled, the offline base image
(passed through the environment, which the compose files interpolate).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.containers import dockerfile as dockerfile_mod
from labkit.containers.baseimage import ensure_base_image
from labkit.containers.build import needs_wheelhouse
from labkit.containers.engine import compose_command
from labkit.containers.errors import ContainerError
from labkit.containers.wheelhouse import build_wheelhouse

__all__ = [
    "ComposeProject",
    "compose",
    "compose_config",
    "compose_down",
    "compose_ps",
    "compose_up",
    "prepare_builds",
]

Progress = Callable[[str], None]
# Compose >= 2.38 builds through buildx bake by default; Debian's engine has no buildx, and
# the classic builder is what labkit's own builds use, so both behave the same.
# COMPOSE_BAKE=false alone still lets compose build with the engine's BuildKit, whose cache
# is separate from the classic builder's: a compose file building an image labkit just built
# would then install every package again. DOCKER_BUILDKIT=0 makes it reuse those layers.
_COMPOSE_ENV = {"COMPOSE_BAKE": "false", "DOCKER_BUILDKIT": "0"}


@dataclass
class ComposeProject:
    file: Path
    name: str
    profiles: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)

    def ps(self) -> list[dict[str, Any]]:
        return compose_ps(self.file, project=self.name, profiles=self.profiles, env=self.env)

    def logs(self, service: str | None = None, tail: int = 100) -> str:
        args = ["logs", "--no-color", "--tail", str(tail), *([service] if service else [])]
        return compose(self.file, *args, project=self.name, profiles=self.profiles, env=self.env).stdout

    def down(self) -> None:
        compose_down(self.file, project=self.name, profiles=self.profiles, env=self.env)


def _base_cmd(file: Path, project: str | None, profiles: Sequence[str]) -> list[str]:
    if not file.is_file():
        raise ContainerError(f"compose file not found: {file}")
    cmd = [*compose_command(), "-f", str(file)]
    if project:
        cmd += ["-p", project]
    for profile in profiles:
        cmd += ["--profile", profile]
    return cmd


def compose(
    file: Path | str,
    *args: str,
    project: str | None = None,
    profiles: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    timeout: float = 900.0,
    check: bool = True,
) -> subprocess.CompletedProcess[str]:
    """Run ``docker compose -f file [-p project] [--profile p] args...`` and capture its output."""
    cmd = [*_base_cmd(Path(file), project, profiles), *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **_COMPOSE_ENV, **(env or {})},
        check=False,
    )
    if check and proc.returncode != 0:
        raise ContainerError(
            f"`docker compose {' '.join(args)}` on {file} failed (exit {proc.returncode}):\n"
            + (proc.stderr or proc.stdout)[-4000:]
        )
    return proc


def compose_config(
    file: Path | str, *, profiles: Sequence[str] = (), env: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Validate the file the way compose does and return the resolved model."""
    proc = compose(file, "config", "--format", "json", profiles=profiles, env=env)
    return dict(json.loads(proc.stdout))


def prepare_builds(
    file: Path | str,
    *,
    profiles: Sequence[str] = (),
    allow_pull: bool = True,
    progress: Progress = print,
) -> dict[str, str]:
    """Wheelhouses and base images for every service built from a Dockerfile; returns env to pass."""
    env: dict[str, str] = {}
    model = compose_config(file, profiles=profiles, env=_COMPOSE_ENV)
    for name, service in (model.get("services") or {}).items():
        build = service.get("build")
        if not build:
            continue
        context = Path(build["context"])
        path = context / build.get("dockerfile", "Dockerfile")
        if not path.is_file():
            raise ContainerError(f"service {name!r}: Dockerfile not found at {path}")
        text = path.read_text(encoding="utf-8")
        python = None
        wanted = dockerfile_mod.global_args(text).get("BASE_IMAGE")
        if wanted:
            requested = os.environ.get("BASE_IMAGE") or wanted
            base = ensure_base_image(requested, allow_pull=allow_pull, progress=progress)
            env["BASE_IMAGE"] = base.ref
            python = base.python_version
        if needs_wheelhouse(text):
            build_wheelhouse(
                context / "requirements.txt", context / "wheels", python_version=python, progress=progress
            )
    return env


def compose_up(
    file: Path | str,
    *,
    project: str | None = None,
    profiles: Sequence[str] = (),
    services: Sequence[str] = (),
    build: bool = True,
    wait: bool = True,
    timeout: float = 180.0,
    allow_pull: bool = True,
    progress: Progress = print,
) -> ComposeProject:
    """``up -d`` (with ``--build`` and ``--wait`` for healthchecks); returns a handle for ps/logs/down."""
    file = Path(file)
    env = prepare_builds(file, profiles=profiles, allow_pull=allow_pull, progress=progress) if build else {}
    name = project or str(compose_config(file, profiles=profiles, env=env).get("name") or file.parent.name)
    args = ["up", "--detach", "--pull", "never"]
    if build:
        args.append("--build")
    if wait:
        args += ["--wait", "--wait-timeout", str(int(timeout))]
    progress(f"docker compose -p {name} {' '.join(args)} ...")
    handle = ComposeProject(file, name, tuple(profiles), env)
    try:
        proc = compose(
            file, *args, *services, project=name, profiles=profiles, env=env, timeout=timeout + 600
        )
    except ContainerError as exc:
        raise ContainerError(f"{exc}\n--- service logs ---\n{handle.logs(tail=30)}") from None
    for line in (proc.stderr or "").splitlines()[-15:]:
        progress(line)
    return handle


def compose_ps(
    file: Path | str,
    *,
    project: str | None = None,
    profiles: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    out = compose(file, "ps", "--all", "--format", "json", project=project, profiles=profiles, env=env).stdout
    out = out.strip()
    if not out:
        return []
    # compose v2 prints one JSON object per line (older v2 releases printed one array).
    if out.startswith("["):
        return list(json.loads(out))
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def compose_down(
    file: Path | str,
    *,
    project: str | None = None,
    profiles: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
    volumes: bool = True,
) -> None:
    args = ["down", "--remove-orphans", "--timeout", "5"]
    if volumes:
        args.append("--volumes")
    compose(Path(file), *args, project=project, profiles=profiles, env=env)
