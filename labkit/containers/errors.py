"""Errors raised by ``labkit.containers``; every message says what failed and how to fix it."""

from __future__ import annotations

__all__ = [
    "BuildFailed",
    "ContainerError",
    "EngineUnavailable",
    "HealthcheckFailed",
    "ToolMissing",
]


class ContainerError(RuntimeError):
    """Base class: something about images, containers or compose went wrong."""


class EngineUnavailable(ContainerError):
    """No Docker engine answers; the message carries the reason and the fix."""


class ToolMissing(ContainerError):
    """A helper program (debootstrap, hadolint, docker compose) is not installed."""


class BuildFailed(ContainerError):
    """``docker build`` stopped with an error; ``log`` holds the streamed output."""

    def __init__(self, message: str, log: list[str]) -> None:
        super().__init__(message)
        self.log = log


class HealthcheckFailed(ContainerError):
    """A container became unhealthy, exited, or did not become healthy in time."""

    def __init__(self, message: str, status: str, probe_log: list[str]) -> None:
        super().__init__(message)
        self.status = status
        self.probe_log = probe_log
