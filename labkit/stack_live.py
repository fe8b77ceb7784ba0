"""The live LGTM stack (``stacks/lgtm``) driven through ``docker compose`` v2.

``up()`` starts it detached and waits until every service answers its readiness
endpoint from the host, which is the truth a notebook cares about (a compose
healthcheck cannot run inside distroless images such as Mimir's). ``status()``
merges ``docker compose ps`` with those probes; ``down()`` stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from labkit.config import Settings, load_settings

__all__ = [
    "COMPOSE_DIR",
    "LiveStackError",
    "ServiceState",
    "compose_command",
    "config",
    "down",
    "probes",
    "status",
    "up",
    "wait_ready",
]

COMPOSE_DIR = Path(__file__).resolve().parents[1] / "stacks" / "lgtm"
PROJECT = "labkit-lgtm"
ALLOY_UI_PORT = 12345


class LiveStackError(RuntimeError):
    """docker compose is missing or failed; the message says what to do."""


@dataclass
class ServiceState:
    service: str
    url: str
    ready: bool
    container: str = ""
    state: str = ""
    health: str = ""
    detail: str = ""


@dataclass
class _Probe:
    service: str
    url: str
    expect: Sequence[int] = field(default=(200,))


def compose_command() -> list[str]:
    """``docker compose`` (v2 plugin) or a standalone ``docker-compose`` v2 binary."""
    docker = shutil.which("docker")
    if docker:
        probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            return [docker, "compose"]
    standalone = shutil.which("docker-compose")
    if standalone:
        probe = subprocess.run([standalone, "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0 and "v1." not in probe.stdout:
            return [standalone]
    raise LiveStackError(
        "docker compose v2 is not installed: install the Docker Compose plugin "
        "(or use the embedded backend: `labkit stack up --backend embedded`)"
    )


def _run(
    args: Sequence[str], compose_dir: Path, timeout_s: float = 600, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    if not (compose_dir / "compose.yaml").is_file():
        raise LiveStackError(f"no compose.yaml in {compose_dir}; is this a labkit checkout?")
    command = [*compose_command(), "--project-directory", str(compose_dir), "-p", PROJECT, *args]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False, env=env
        )
    except subprocess.TimeoutExpired as exc:
        raise LiveStackError(f"`{' '.join(args)}` did not finish within {timeout_s:g} s") from exc
    if done.returncode != 0:
        raise LiveStackError(
            f"`docker compose {' '.join(args)}` failed (exit {done.returncode}): "
            f"{done.stderr.strip()[-1500:]}"
        )
    return done


def config(compose_dir: Path = COMPOSE_DIR) -> str:
    """Validate the stack with ``docker compose config`` and return the resolved YAML."""
    return _run(["config"], compose_dir, timeout_s=60).stdout


def _root(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def probes(settings: Settings) -> list[_Probe]:
    """Readiness endpoints of each service, as seen from the host."""
    alloy_host = urlsplit(settings.otlp_http_endpoint).hostname or "127.0.0.1"
    return [
        _Probe("alloy", f"http://{alloy_host}:{ALLOY_UI_PORT}/-/ready"),
        _Probe("loki", f"{_root(settings.loki_url)}/ready"),
        _Probe("tempo", f"{_root(settings.tempo_url)}/ready"),
        _Probe("mimir", f"{_root(settings.mimir_url)}/ready"),
        _Probe("grafana", f"{_root(settings.grafana_url)}/api/health"),
    ]


def _probe(probe: _Probe, timeout_s: float = 2.0) -> tuple[bool, str]:
    try:
        with urllib.request.urlopen(probe.url, timeout=timeout_s) as response:
            return response.status in probe.expect, f"HTTP {response.status}"
    except urllib.error.HTTPError as exc:
        return False, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return False, str(getattr(exc, "reason", exc))


def _ps(compose_dir: Path) -> dict[str, dict[str, str]]:
    try:
        out = _run(["ps", "--all", "--format", "json"], compose_dir, timeout_s=60).stdout
    except LiveStackError:
        return {}
    rows: list[dict[str, str]] = []
    text = out.strip()
    if text.startswith("["):
        rows = json.loads(text)
    else:  # newer compose prints one JSON object per line
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return {row.get("Service", ""): row for row in rows}


def status(settings: Settings | None = None, compose_dir: Path = COMPOSE_DIR) -> list[ServiceState]:
    """Each service: container state and health from compose, readiness from the host."""
    settings = settings or load_settings()
    containers = _ps(compose_dir) if shutil.which("docker") or shutil.which("docker-compose") else {}
    states = []
    for probe in probes(settings):
        ready, detail = _probe(probe)
        row = containers.get(probe.service, {})
        states.append(
            ServiceState(
                service=probe.service,
                url=probe.url,
                ready=ready,
                container=row.get("Name", ""),
                state=row.get("State", ""),
                health=row.get("Health", ""),
                detail=detail,
            )
        )
    return states


def wait_ready(
    settings: Settings | None = None, timeout_s: float = 180.0, interval_s: float = 2.0
) -> list[ServiceState]:
    """Poll the readiness endpoints until all answer; raise naming the ones that did not."""
    settings = settings or load_settings()
    deadline = time.monotonic() + timeout_s
    pending = probes(settings)
    last: dict[str, str] = {}
    while True:
        still = []
        for probe in pending:
            ready, detail = _probe(probe)
            if not ready:
                still.append(probe)
                last[probe.service] = detail
        pending = still
        if not pending:
            return [ServiceState(p.service, p.url, True, detail="ready") for p in probes(settings)]
        if time.monotonic() >= deadline:
            names = ", ".join(f"{p.service} ({p.url}: {last.get(p.service, '?')})" for p in pending)
            raise LiveStackError(
                f"not ready after {timeout_s:g} s: {names}; see `docker compose -p {PROJECT} logs <service>`"
            )
        time.sleep(interval_s)


def up(
    settings: Settings | None = None,
    *,
    compose_dir: Path = COMPOSE_DIR,
    wait: bool = True,
    timeout_s: float = 180.0,
) -> list[ServiceState]:
    """``docker compose up -d`` and (by default) wait until every service is ready."""
    settings = settings or load_settings()
    # Grafana's admin password comes from the settings, never from a file in the repo.
    env = {**os.environ, "LABKIT_GRAFANA_PASSWORD": settings.grafana_password.get_secret_value()}
    _run(["up", "-d", "--remove-orphans"], compose_dir, timeout_s=900, env=env)
    if not wait:
        return status(settings, compose_dir)
    return wait_ready(settings, timeout_s)


def down(*, volumes: bool = False, compose_dir: Path = COMPOSE_DIR) -> None:
    """Stop and remove the containers (and the named volumes with ``volumes=True``)."""
    _run(["down", "--remove-orphans", *(["--volumes"] if volumes else [])], compose_dir, timeout_s=300)
