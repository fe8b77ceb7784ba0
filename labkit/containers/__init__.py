"""Containers for the Docker stage: engine, offline base images, build, run, compose, lint, inspect.

Everything talks to a real engine through the Docker Engine API (the ``docker`` SDK) or
the real ``docker compose`` v2 binary. Where no registry is reachable, base images are
built locally (``ensure_base_image``) and Python dependencies come from a host-built
wheelhouse, so builds need no network. Every object labkit creates is labelled
``org.labkit.managed=true`` and ``clean()`` removes exactly those.
"""

from __future__ import annotations

from labkit.containers.baseimage import (
    OFFLINE_REPOSITORY,
    AptSource,
    BaseImage,
    apt_source,
    build_offline_base,
    ensure_base_image,
    offline_tag,
    resolve_build_args,
)
from labkit.containers.build import BuildResult, build_image
from labkit.containers.cleanup import CleanReport, clean, managed_objects
from labkit.containers.compose import (
    ComposeProject,
    compose,
    compose_config,
    compose_down,
    compose_ps,
    compose_up,
    prepare_builds,
)
from labkit.containers.engine import client, compose_command, engine_status
from labkit.containers.errors import (
    BuildFailed,
    ContainerError,
    EngineUnavailable,
    HealthcheckFailed,
    ToolMissing,
)
from labkit.containers.inspect import ImageReport, ScanReport, inspect_image, scan_image
from labkit.containers.labels import MANAGED_LABEL
from labkit.containers.lint import LintFinding, lint_dockerfile, lint_text
from labkit.containers.run import ExecResult, RunningContainer, run_container, wait_ready
from labkit.containers.secrets import SecretFinding
from labkit.containers.wheelhouse import Wheelhouse, build_wheelhouse

# Short names for notebooks: `containers.build(...)`, `containers.run(...)`.
build = build_image
run = run_container
lint = lint_dockerfile

__all__ = [
    "MANAGED_LABEL",
    "OFFLINE_REPOSITORY",
    "AptSource",
    "BaseImage",
    "BuildFailed",
    "BuildResult",
    "CleanReport",
    "ComposeProject",
    "ContainerError",
    "EngineUnavailable",
    "ExecResult",
    "HealthcheckFailed",
    "ImageReport",
    "LintFinding",
    "RunningContainer",
    "ScanReport",
    "SecretFinding",
    "ToolMissing",
    "Wheelhouse",
    "apt_source",
    "build",
    "build_image",
    "build_offline_base",
    "build_wheelhouse",
    "clean",
    "client",
    "compose",
    "compose_command",
    "compose_config",
    "compose_down",
    "compose_ps",
    "compose_up",
    "engine_status",
    "ensure_base_image",
    "inspect_image",
    "lint",
    "lint_dockerfile",
    "lint_text",
    "managed_objects",
    "offline_tag",
    "prepare_builds",
    "resolve_build_args",
    "run",
    "run_container",
    "scan_image",
    "wait_ready",
]
