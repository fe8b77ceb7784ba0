"""What a notebook needs from the machine, and whether this machine has it.

A notebook declares its needs in its metadata, ``metadata.labkit.requires``: a list of
``"docker"`` (a Docker engine answering), ``"kubernetes"`` (a reachable cluster from the
kubeconfig) and ``"api_key"`` (an Anthropic API key). ``labkit run`` probes each need once
per run and skips a notebook whose needs are missing, with the fix, instead of running it
into a failing checkpoint: the workbook finishes anywhere (Codespaces without Docker, a
laptop without a cluster), and ``--strict`` turns a skip into a failure for CI.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from labkit._probes import Probes
from labkit.config import Settings

__all__ = [
    "NEEDS",
    "Availability",
    "NeedError",
    "NeedProbe",
    "Needs",
    "declared_needs",
    "probe_api_key",
    "probe_docker",
    "probe_kubernetes",
]

NEEDS = ("docker", "kubernetes", "api_key")


class NeedError(ValueError):
    """A notebook's ``metadata.labkit.requires`` is malformed; the message names the file."""


@dataclass(frozen=True)
class Availability:
    need: str
    ok: bool
    detail: str  # what was found, or what is missing
    fix: str = ""  # what the learner does about it


NeedProbe = Callable[[Settings], Availability]


def declared_needs(source: Path) -> list[str]:
    """The needs a notebook declares; [] when it declares none. Raises NeedError for bad metadata."""
    try:
        meta = json.loads(source.read_text(encoding="utf-8")).get("metadata", {})
    except (OSError, json.JSONDecodeError, AttributeError):
        return []  # an unreadable notebook is papermill's to report, with its own error
    labkit_meta = meta.get("labkit", {}) if isinstance(meta, dict) else {}
    requires = labkit_meta.get("requires", []) if isinstance(labkit_meta, dict) else []
    if not isinstance(requires, list) or not all(isinstance(n, str) for n in requires):
        raise NeedError(f"{source}: metadata.labkit.requires must be a list of strings, got {requires!r}")
    unknown = [n for n in requires if n not in NEEDS]
    if unknown:
        raise NeedError(
            f"{source}: metadata.labkit.requires has unknown need(s) {unknown}; known: {', '.join(NEEDS)}"
        )
    return list(dict.fromkeys(requires))


def probe_docker(settings: Settings) -> Availability:
    """The same probe notebook 01 checks first: the Docker SDK reaches an engine."""
    from labkit.containers.engine import engine_status

    ok, detail, fix = engine_status()
    if not ok:
        fix = f"start a Docker engine / Docker Desktop ({fix}), then re-run" if fix else "start Docker"
    return Availability("docker", ok, detail, fix)


_K8S_FIX = (
    "start a cluster (`labkit k8s up`, kind, minikube or Docker Desktop's Kubernetes) "
    "or select a kubeconfig context (setting k8s_context), then re-run"
)


def probe_kubernetes(settings: Settings, probes: Probes | None = None) -> Availability:
    """A cluster answers on the kubeconfig context (`kubectl cluster-info`-level, short timeout)."""
    probes = probes or Probes()
    context = getattr(settings, "k8s_context", None)  # a setting another stage adds; optional here
    argv = ["kubectl", "cluster-info", "--request-timeout=3s"]
    if context:
        argv += ["--context", str(context)]
    else:
        argv = _embedded_cluster_argv(settings, argv)
    result = probes.run(argv, 6.0)
    if result is not None:
        if result.returncode == 0:
            first = (result.stdout.strip().splitlines() or ["cluster answers"])[0]
            return Availability("kubernetes", True, _plain(first))
        reason = (result.stderr.strip().splitlines() or ["no answer"])[-1][:200]
        return Availability("kubernetes", False, f"no cluster answers: {reason}", _K8S_FIX)
    return _probe_kubernetes_client(context)


def _embedded_cluster_argv(settings: Settings, argv: list[str]) -> list[str]:
    """Without k8s_context, ask the embedded cluster of `labkit k8s up` (its own kubeconfig), with
    the kubectl of labkit's environment when none is on PATH."""
    import shutil

    try:
        from labkit.k8s.kubectl import kubectl_path, target

        tgt = target(settings)
        if shutil.which("kubectl") is None:
            argv = [str(kubectl_path()), *argv[1:]]
    except Exception:  # labkit.k8s unavailable or no kubectl: keep the plain probe
        return argv
    if tgt.kubeconfig is not None and tgt.kubeconfig.exists():
        argv += ["--kubeconfig", str(tgt.kubeconfig)]
    return argv


def _probe_kubernetes_client(context: str | None) -> Availability:
    # No kubectl on PATH: the Python client, if installed, reads the same kubeconfig.
    try:
        from kubernetes import client, config  # type: ignore[import-not-found]
    except ImportError:
        return Availability(
            "kubernetes", False, "neither kubectl nor the kubernetes Python client is installed", _K8S_FIX
        )
    try:
        config.load_kube_config(context=context)
        version = client.VersionApi().get_code(_request_timeout=3)
    except Exception as exc:  # any failure means: no usable cluster
        return Availability("kubernetes", False, f"no cluster answers: {str(exc)[:200]}", _K8S_FIX)
    return Availability("kubernetes", True, f"cluster {getattr(version, 'git_version', '?')}")


def _plain(text: str) -> str:
    import re

    return re.sub(r"\x1b\[[0-9;]*m", "", text)  # kubectl colours its output


def probe_api_key(settings: Settings) -> Availability:
    if settings.has_api_key:
        return Availability("api_key", True, "an Anthropic API key is set (value hidden)")
    return Availability(
        "api_key",
        False,
        "no Anthropic API key is set",
        "export ANTHROPIC_API_KEY=... (or LABKIT_ANTHROPIC_API_KEY), then re-run",
    )


_DEFAULT_PROBES: dict[str, NeedProbe] = {
    "docker": probe_docker,
    "kubernetes": probe_kubernetes,
    "api_key": probe_api_key,
}


class Needs:
    """Probes each need at most once (a run asks for docker once, however many notebooks need it)."""

    def __init__(self, settings: Settings, probes: Mapping[str, NeedProbe] | None = None) -> None:
        self.settings = settings
        self._probes = {**_DEFAULT_PROBES, **(probes or {})}
        self._seen: dict[str, Availability] = {}

    def check(self, need: str) -> Availability:
        if need not in self._seen:
            probe = self._probes.get(need)
            if probe is None:
                raise NeedError(f"unknown need {need!r}; known: {', '.join(NEEDS)}")
            try:
                self._seen[need] = probe(self.settings)
            except Exception as exc:  # a probe that breaks means the need is not there
                self._seen[need] = Availability(need, False, f"probe failed: {type(exc).__name__}: {exc}")
        return self._seen[need]

    def missing(self, needs: Iterable[str]) -> list[Availability]:
        return [a for a in (self.check(n) for n in needs) if not a.ok]

    def as_dict(self) -> dict[str, Any]:
        return {n: {"ok": a.ok, "detail": a.detail} for n, a in self._seen.items()}
