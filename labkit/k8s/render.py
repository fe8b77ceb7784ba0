"""Kustomize rendering through the real kubectl (``kubectl kustomize``), never a re-implementation."""

from __future__ import annotations

from pathlib import Path

from labkit.k8s.errors import ManifestError
from labkit.k8s.kubectl import KubectlError, Target, kubectl
from labkit.k8s.manifests import Manifest, load_files, load_text

__all__ = ["is_kustomization", "load", "render"]

_KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def is_kustomization(path: Path) -> bool:
    return path.is_dir() and any((path / name).exists() for name in _KUSTOMIZATION_FILES)


def render(path: Path) -> str:
    """The YAML a kustomization folder renders to (kubectl's own kustomize)."""
    if not is_kustomization(path):
        raise ManifestError(f"{path}: not a kustomization folder (no kustomization.yaml)")
    try:
        # Rendering needs no cluster: a Target without kubeconfig keeps kubectl offline.
        return kubectl("kustomize", str(path), tgt=Target("render", None, None)).stdout
    except KubectlError as exc:
        raise ManifestError(f"{path}: kustomize failed: {exc.stderr}") from None


def load(paths: list[Path]) -> list[Manifest]:
    """Objects from files, folders of YAML, or kustomization folders (rendered first)."""
    out: list[Manifest] = []
    for path in paths:
        if is_kustomization(path):
            out += load_text(render(path), str(path))
        else:
            out += load_files([path])
    return out
