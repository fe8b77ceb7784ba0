"""``labkit doctor``: is this machine ready for a stage of the workbook?

One row per thing a stage may need: Python, the packages, the Docker engine and
``docker compose`` v2, ``kubectl``, every configured endpoint (a live service that
answers, or the embedded implementation), the Anthropic key. Which rows are
*required* depends on the stage; the report is ok when every required row passes.

In a notebook call the module itself: ``labkit.doctor()`` or ``labkit.doctor("docker")``
returns a ``DoctorReport`` that renders as a table and has ``.ok``.
"""

from __future__ import annotations

import html
import json
import re
import sys
import types
from dataclasses import dataclass
from typing import Any

from labkit._probes import Probes, endpoint_states
from labkit.config import Backend, Settings, load_settings

__all__ = ["STAGES", "DoctorReport", "Row", "diagnose", "normalise_stage"]

# stage -> capabilities it needs. Capabilities: docker (engine + compose), kubectl,
# telemetry (OTLP + Mimir/Loki/Tempo), grafana, llm (a Messages API), ml (the [ml]
# extras), vectors (Qdrant, or its local mode).
STAGES: dict[str, frozenset[str]] = {
    "start-here": frozenset(),
    "docker": frozenset({"docker"}),
    "kubernetes": frozenset({"kubectl"}),
    "lgtm": frozenset({"telemetry", "grafana"}),
    "otel": frozenset({"telemetry"}),
    "dashboards": frozenset({"telemetry", "grafana"}),
    "agents": frozenset({"llm", "ml", "telemetry"}),
    "prompt-reviewer": frozenset({"llm", "ml", "telemetry"}),
    "code-critic": frozenset({"llm", "ml", "telemetry", "docker"}),
    "rag": frozenset({"llm", "ml", "vectors", "telemetry"}),
    "cost": frozenset({"llm", "ml", "telemetry"}),
    "production": frozenset({"kubectl", "telemetry", "llm", "ml"}),
    "all": frozenset({"docker", "kubectl", "telemetry", "grafana", "llm", "ml", "vectors"}),
}

_TELEMETRY = {"otlp_grpc_endpoint", "otlp_http_endpoint", "mimir_url", "loki_url", "tempo_url"}
_KEY_PACKAGES = (
    "papermill",
    "pandas",
    "matplotlib",
    "ipywidgets",
    "jupyterlab",
    "duckdb",
    "opentelemetry-sdk",
)
_ML_PACKAGES = ("anthropic", "langgraph", "qdrant-client")


def normalise_stage(stage: str | None) -> str | None:
    """``03-lgtm`` and ``lgtm`` name the same stage; unknown names raise ValueError listing the known ones."""
    if stage is None:
        return None
    bare = re.sub(r"^\d+[-_]", "", stage.strip().lower())
    if bare not in STAGES:
        raise ValueError(f"unknown stage {stage!r}; known stages: {', '.join(STAGES)}")
    return bare


@dataclass(frozen=True)
class Row:
    name: str
    required: bool
    ok: bool
    detail: str
    fix: str = ""

    @property
    def mark(self) -> str:
        if self.ok:
            return "\u2714"
        return "\u2718" if self.required else "!"


@dataclass
class DoctorReport:
    rows: list[Row]
    stage: str | None

    @property
    def ok(self) -> bool:
        return all(row.ok for row in self.rows if row.required)

    @property
    def failed(self) -> list[Row]:
        return [row for row in self.rows if row.required and not row.ok]

    def __str__(self) -> str:
        lines = [f"labkit doctor (stage: {self.stage or 'default'}): {'ready' if self.ok else 'NOT ready'}"]
        for row in self.rows:
            need = "required" if row.required else "optional"
            fix = f"  -> {row.fix}" if row.fix and not row.ok else ""
            lines.append(f"{row.mark} {row.name} [{need}]: {row.detail}{fix}")
        return "\n".join(lines)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(str(self))

    def _repr_html_(self) -> str:
        colour = {True: "#1e7b34", False: "#b3261e"}
        body = []
        for row in self.rows:
            shade = colour[row.ok] if (row.ok or row.required) else "#8a6d00"
            body.append(
                "<tr>"
                f'<td style="color:{shade};font-weight:bold">{row.mark}</td>'
                f"<td>{html.escape(row.name)}</td>"
                f"<td>{'required' if row.required else 'optional'}</td>"
                f"<td>{html.escape(row.detail)}</td>"
                f"<td>{'' if row.ok else html.escape(row.fix)}</td>"
                "</tr>"
            )
        verdict = "ready" if self.ok else "not ready: fix the required rows marked \u2718"
        return (
            f"<div><b>labkit doctor</b> (stage: {html.escape(self.stage or 'default')}): {verdict}"
            '<table style="border-collapse:collapse">'
            "<tr><th></th><th>check</th><th>needed</th><th>detail</th><th>fix</th></tr>"
            f"{''.join(body)}</table></div>"
        )


def _python_row() -> Row:
    version = ".".join(map(str, sys.version_info[:3]))
    ok = sys.version_info >= (3, 11)
    return Row("Python", True, ok, f"{version} ({sys.executable})", "install Python 3.11 or newer")


def _lower_bounds() -> dict[str, str]:
    """Core dependencies of the installed labkit and their lower bounds (from its metadata)."""
    import importlib.metadata

    try:
        requires = importlib.metadata.requires("labkit") or []
    except importlib.metadata.PackageNotFoundError:
        return {}
    bounds: dict[str, str] = {}
    for spec in requires:
        if "extra ==" in spec:
            continue
        match = re.match(r"^([A-Za-z0-9_.\-]+)\s*(?:\[.*?\])?\s*(?:>=\s*([0-9][^,;\s]*))?", spec)
        if match:
            bounds[match.group(1).lower()] = match.group(2) or ""
    return bounds


def _too_old(installed: str, bound: str) -> bool:
    if not bound:
        return False
    from packaging.version import InvalidVersion, Version

    try:
        return Version(installed) < Version(bound)
    except InvalidVersion:
        return False


def _packages_row(probes: Probes) -> Row:
    bounds = _lower_bounds()
    missing, old = [], []
    for name, bound in sorted(bounds.items()):
        version = probes.package_version(name)
        if version is None:
            missing.append(name)
        elif _too_old(version, bound):
            old.append(f"{name} {version} < {bound}")
    shown = ", ".join(f"{n} {probes.package_version(n) or '-'}" for n in _KEY_PACKAGES)
    if not bounds:
        return Row("packages", True, False, "labkit is not installed as a package", 'pip install -e ".[all]"')
    if missing or old:
        detail = "; ".join(
            filter(None, [f"missing: {', '.join(missing)}" if missing else "", ", ".join(old)])
        )
        return Row("packages", True, False, detail, 'pip install -e ".[all]" (or `make setup`)')
    return Row("packages", True, True, f"{len(bounds)} dependencies ok ({shown})")


def _ml_row(required: bool, probes: Probes) -> Row:
    versions = {name: probes.package_version(name) for name in _ML_PACKAGES}
    missing = [n for n, v in versions.items() if v is None]
    detail = ", ".join(f"{n} {v or '-'}" for n, v in versions.items())
    return Row("[ml] extras", required, not missing, detail, 'pip install -e ".[ml]"')


def _docker_rows(required: bool, probes: Probes) -> list[Row]:
    engine = probes.run(["docker", "info", "--format", "{{json .ServerVersion}}"], 10.0)
    if engine is None:
        engine_row = Row(
            "Docker engine", required, False, "docker CLI not found", "install Docker (engine or Desktop)"
        )
    elif engine.returncode != 0:
        reason = (engine.stderr.strip().splitlines() or ["no answer"])[-1][:160]
        engine_row = Row(
            "Docker engine",
            required,
            False,
            reason,
            "start the Docker daemon and check access to its socket (docker group / DOCKER_HOST)",
        )
    else:
        engine_row = Row("Docker engine", required, True, f"server {engine.stdout.strip().strip(chr(34))}")

    compose = probes.run(["docker", "compose", "version", "--short"], 10.0) if engine is not None else None
    fix = "install the docker compose v2 CLI plugin (~/.docker/cli-plugins/docker-compose)"
    if compose is None:
        compose_row = Row("docker compose v2", required, False, "docker CLI not found", fix)
    elif compose.returncode != 0:
        compose_row = Row("docker compose v2", required, False, "`docker compose` is not available", fix)
    else:
        version = compose.stdout.strip().lstrip("v")
        major = re.match(r"(\d+)", version)
        ok = major is not None and int(major.group(1)) >= 2
        compose_row = Row("docker compose v2", required, ok, f"version {version or '?'}", fix)
    return [engine_row, compose_row]


def _kubectl_rows(required: bool, probes: Probes) -> list[Row]:
    client = probes.run(["kubectl", "version", "--client", "-o", "json"], 10.0)
    fix = "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
    if client is None:
        return [Row("kubectl", required, False, "kubectl not found", fix)]
    try:
        version = json.loads(client.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        version = None
    if client.returncode != 0 or version is None:
        return [Row("kubectl", required, False, client.stderr.strip()[:160] or "no version", fix)]
    rows = [Row("kubectl", required, True, f"client {version}")]
    context = probes.run(["kubectl", "config", "current-context"], 5.0)
    if context is not None and context.returncode == 0 and context.stdout.strip():
        rows.append(Row("Kubernetes context", False, True, context.stdout.strip()))
    else:
        rows.append(
            Row(
                "Kubernetes context",
                False,
                False,
                "no current context: steps that need a cluster are skipped",
                "create a local cluster (kind create cluster) or set a kubeconfig context",
            )
        )
    return rows


def _endpoint_rows(settings: Settings, needs: frozenset[str], probes: Probes) -> list[Row]:
    rows = []
    for state in endpoint_states(settings, probes):
        setting = state.endpoint.setting
        required = (
            ("telemetry" in needs and setting in _TELEMETRY)
            or ("grafana" in needs and setting == "grafana_url")
            or ("vectors" in needs and setting == "qdrant_url")
            or ("llm" in needs and setting == "llm_url" and settings.backend != Backend.LIVE)
        )
        ok = state.state != "down"
        if settings.backend == Backend.LIVE:
            fix = f"start the live stack (stacks/) or point LABKIT_{setting.upper()} at it"
        else:
            fix = (
                f"pip install -e '.[all]' for the embedded backend, or start the live service at {state.url}"
            )
        rows.append(
            Row(f"{state.endpoint.name} {state.url}", required, ok, f"{state.state}: {state.detail}", fix)
        )
    return rows


def _key_row(settings: Settings, needs: frozenset[str]) -> Row:
    required = "llm" in needs and settings.backend == Backend.LIVE
    if settings.has_api_key:
        return Row("Anthropic API key", required, True, "set (value hidden)")
    detail = "not set: the embedded offline model answers instead"
    return Row(
        "Anthropic API key",
        required,
        False,
        detail,
        "export ANTHROPIC_API_KEY=... (or LABKIT_ANTHROPIC_API_KEY)",
    )


def diagnose(
    stage: str | None = None, settings: Settings | None = None, probes: Probes | None = None
) -> DoctorReport:
    """Check this machine for ``stage`` (default: only Python and the packages are required)."""
    stage = normalise_stage(stage)
    needs = STAGES[stage] if stage else frozenset()
    settings = settings or load_settings()
    probes = probes or Probes()
    rows = [_python_row(), _packages_row(probes), _ml_row("ml" in needs, probes)]
    rows += _docker_rows("docker" in needs, probes)
    rows += _kubectl_rows("kubectl" in needs, probes)
    rows += _endpoint_rows(settings, needs, probes)
    rows.append(_key_row(settings, needs))
    return DoctorReport(rows, stage)


class _CallableModule(types.ModuleType):
    """Lets notebooks write ``labkit.doctor()`` although ``labkit.doctor`` is this module."""

    def __call__(
        self, stage: str | None = None, settings: Settings | None = None, probes: Probes | None = None
    ) -> DoctorReport:
        return diagnose(stage, settings, probes)


sys.modules[__name__].__class__ = _CallableModule
