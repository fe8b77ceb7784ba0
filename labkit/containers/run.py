"""Running containers: ports on 127.0.0.1 only, wait for health, logs, exec, stop.

Containers are labelled (``org.labkit.managed``) so ``labkit containers clean`` finds
every one labkit started, even after a notebook kernel died mid-way.
"""

from __future__ import annotations

import secrets
import socket
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from labkit.containers.engine import client
from labkit.containers.errors import ContainerError, HealthcheckFailed
from labkit.containers.labels import managed_labels

if TYPE_CHECKING:  # pragma: no cover
    from docker.models.containers import Container

__all__ = ["ExecResult", "RunningContainer", "get", "health_log", "run_container", "wait_ready"]

_NS = 1_000_000_000


@dataclass(frozen=True)
class ExecResult:
    exit_code: int
    output: str

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass
class RunningContainer:
    """A started container and the host ports (on 127.0.0.1) its container ports map to."""

    container: Container
    ports: dict[int, int] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return str(self.container.id)

    @property
    def name(self) -> str:
        return str(self.container.name)

    def url(self, path: str = "/", port: int | None = None) -> str:
        if not self.ports:
            raise ContainerError(f"container {self.name} publishes no ports")
        host_port = self.ports[port] if port is not None else next(iter(self.ports.values()))
        return f"http://127.0.0.1:{host_port}{path}"

    def status(self) -> str:
        self.container.reload()
        return str(self.container.status)

    def health(self) -> str:
        """healthy | unhealthy | starting | none (the image has no HEALTHCHECK)."""
        self.container.reload()
        return str(self.container.attrs["State"].get("Health", {}).get("Status", "none"))

    def logs(self, tail: int | None = None) -> str:
        raw = self.container.logs(stdout=True, stderr=True, tail="all" if tail is None else tail)
        return raw.decode("utf-8", errors="replace")

    def exec(
        self, cmd: str | Sequence[str], *, user: str | None = None, workdir: str | None = None
    ) -> ExecResult:
        """Run a command inside the running container (``docker exec``)."""
        if self.status() != "running":
            raise ContainerError(f"cannot exec in {self.name}: it is {self.container.status}")
        result = self.container.exec_run(
            list(cmd) if not isinstance(cmd, str) else cmd, user=user or "", workdir=workdir
        )
        return ExecResult(int(result.exit_code), (result.output or b"").decode("utf-8", errors="replace"))

    def stop(self, *, timeout: int = 5, remove: bool = True) -> None:
        from docker.errors import NotFound

        try:
            self.container.stop(timeout=timeout)
            if remove:
                self.container.remove(v=True, force=True)
        except NotFound:
            pass  # already gone: stopping is idempotent

    def __enter__(self) -> RunningContainer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _seconds_to_ns(health: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(health)
    for key in ("interval", "timeout", "start_period"):
        if key in out and isinstance(out[key], int | float) and out[key] < 10_000:
            out[key] = int(out[key] * _NS)  # seconds given; the API wants nanoseconds
    return out


def _host_ports(container: Container) -> dict[int, int]:
    ports: dict[int, int] = {}
    for spec, bindings in (container.attrs["NetworkSettings"].get("Ports") or {}).items():
        for binding in bindings or []:
            if binding.get("HostIp") in ("127.0.0.1", "") and binding.get("HostPort"):
                ports[int(spec.split("/")[0])] = int(binding["HostPort"])
    return ports


def run_container(
    image: str,
    *,
    name: str | None = None,
    ports: Sequence[int] | Mapping[int, int | None] | None = None,
    env: Mapping[str, str] | None = None,
    command: str | Sequence[str] | None = None,
    healthcheck: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    network: str | None = None,
    wait: bool = True,
    timeout: float = 60.0,
) -> RunningContainer:
    """Start ``image`` detached; publish ``ports`` on 127.0.0.1 (default: the image's EXPOSE).

    ``ports`` maps container port -> host port (None: any free one). ``healthcheck``
    overrides the image's, in seconds (``{"test": [...], "interval": 2, "retries": 3}``).
    With ``wait``, returns once healthy (or, without a HEALTHCHECK, once a port accepts).
    """
    from docker.errors import ImageNotFound

    api = client()
    try:
        config = api.images.get(image).attrs.get("Config") or {}
    except ImageNotFound:
        raise ContainerError(
            f"image {image!r} is not present; build it first (labkit.containers.build)"
        ) from None
    if ports is None:
        exposed = [int(p.split("/")[0]) for p in (config.get("ExposedPorts") or {}) if p.endswith("/tcp")]
        ports = {p: None for p in exposed}
    elif not isinstance(ports, Mapping):
        ports = {int(p): None for p in ports}
    # Bind to loopback only: a lab container must never be reachable from the network.
    bindings = {f"{cport}/tcp": ("127.0.0.1", hport) for cport, hport in ports.items()}
    base = image.rsplit("/", 1)[-1].split(":")[0]
    name = name or f"labkit-{base}-{secrets.token_hex(3)}"
    container = api.containers.run(
        image,
        command=command,
        name=name,
        detach=True,
        environment=dict(env or {}),
        ports=bindings,
        labels={**managed_labels("container"), **(labels or {})},
        healthcheck=_seconds_to_ns(healthcheck) if healthcheck else None,
        network=network,
    )
    running = RunningContainer(container)
    container.reload()
    running.ports = _host_ports(container)
    if wait:
        # On failure the container is kept, so its logs and health log can still be read
        # (the exception names it); `clean()` removes it later.
        wait_ready(running, timeout=timeout)
    return running


def health_log(running: RunningContainer) -> list[str]:
    """The outputs of the last health probes, newest last."""
    running.container.reload()
    entries = running.container.attrs["State"].get("Health", {}).get("Log") or []
    return [f"exit {e.get('ExitCode')}: {(e.get('Output') or '').strip()[:300]}" for e in entries]


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_ready(running: RunningContainer, *, timeout: float = 60.0, poll: float = 0.5) -> str:
    """Block until healthy (or the port accepts, without a HEALTHCHECK); raise HealthcheckFailed."""
    deadline = time.monotonic() + timeout
    while True:
        status = running.status()
        if status in ("exited", "dead"):
            tail = running.logs(tail=20)
            code = running.container.attrs["State"].get("ExitCode")
            raise HealthcheckFailed(
                f"container {running.name} exited with code {code} before it was ready; "
                f"last log lines:\n{tail}",
                status,
                health_log(running),
            )
        health = running.health()
        if health == "healthy":
            return health
        if health == "unhealthy":
            probes = health_log(running)
            raise HealthcheckFailed(
                f"container {running.name} is unhealthy: its HEALTHCHECK failed "
                f"{len(probes)} time(s); last probe: {probes[-1] if probes else '-'}",
                health,
                probes,
            )
        if health == "none" and status == "running" and all(_port_open(p) for p in running.ports.values()):
            return "running"
        if time.monotonic() > deadline:
            raise HealthcheckFailed(
                f"container {running.name} not ready after {timeout:.0f} s "
                f"(status {status}, health {health})",
                health,
                health_log(running),
            )
        time.sleep(poll)


def get(name_or_id: str) -> RunningContainer:
    """Attach to an existing container (for logs/exec/stop from the CLI)."""
    from docker.errors import NotFound

    try:
        container = client().containers.get(name_or_id)
    except NotFound:
        raise ContainerError(f"no container named or with id {name_or_id!r}") from None
    return RunningContainer(container, _host_ports(container))
