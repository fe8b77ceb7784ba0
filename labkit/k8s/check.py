"""``labkit k8s check``: read, validate (schema, optionally server) and policy-check manifests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from labkit.k8s.errors import ManifestError
from labkit.k8s.findings import Finding
from labkit.k8s.kubectl import KubectlError, Target, kubectl
from labkit.k8s.manifests import Manifest, yaml_files
from labkit.k8s.policy import check_policy
from labkit.k8s.render import is_kustomization, load
from labkit.k8s.validate import validate_schema, validate_server

__all__ = ["check_manifests", "check_paths", "cluster_secret_lookup"]


def cluster_secret_lookup(tgt: Target | None = None) -> Callable[[str, str], bool]:
    def exists(namespace: str, name: str) -> bool:
        try:
            kubectl("get", "secret", name, "-n", namespace, "-o", "name", tgt=tgt, timeout_s=15)
            return True
        except KubectlError:
            return False

    return exists


def check_manifests(manifests: list[Manifest], *, server: Target | None = None) -> list[Finding]:
    findings = validate_schema(manifests)
    lookup = cluster_secret_lookup(server) if server is not None else None
    if server is not None:
        findings += validate_server(manifests, server)
    findings += check_policy(manifests, secret_exists=lookup)
    return findings


def check_paths(paths: list[Path], *, server: Target | None = None) -> list[Finding]:
    """All findings for files/folders/kustomizations; unreadable YAML becomes a ``yaml-invalid`` finding."""
    findings: list[Finding] = []
    manifests: list[Manifest] = []
    expanded: list[Path] = []
    for path in paths:
        if path.suffix == ".alloy":
            continue  # an Alloy config, not YAML: checked below
        # One bad file must not hide the findings of its neighbours: load folders file by file.
        expanded += [path] if is_kustomization(path) or not path.is_dir() else yaml_files(path)
    for path in expanded:
        try:
            manifests += load([path])
        except ManifestError as exc:
            text = str(exc)
            source, line = _location(text, str(path))
            findings.append(
                Finding(
                    "yaml-invalid",
                    source,
                    line,
                    "",
                    "",
                    "",
                    text,
                    "The file is not valid YAML (or not a Kubernetes object), so nothing in "
                    "it can be applied. Look at the line and column named: usually a tab, "
                    "a wrong indentation, or a missing ':' or '-'.",
                    "yaml",
                )
            )
    return findings + check_manifests(manifests, server=server) + _check_alloy_files(paths)


def _check_alloy_files(paths: list[Path]) -> list[Finding]:
    """Alloy configs (``*.alloy``) given or inside the folders: the structural check of ``alloycfg``."""
    from labkit.k8s.alloycfg import AlloyConfigError, check_alloy_file

    files: list[Path] = []
    for path in paths:
        files += sorted(path.glob("*.alloy")) if path.is_dir() else [path] if path.suffix == ".alloy" else []
    findings = []
    for file in files:
        try:
            check_alloy_file(file)
        except AlloyConfigError as exc:
            source, line = _location(str(exc), str(file))
            findings.append(
                Finding(
                    "alloy-invalid",
                    source,
                    line,
                    "",
                    "",
                    "",
                    str(exc),
                    "Alloy refuses to start with this configuration (or a component is wired to one "
                    "that does not exist), so nothing is collected. Fix the place named.",
                    "alloy",
                )
            )
    return findings


def _location(message: str, fallback: str) -> tuple[str, int]:
    head = message.split(": ", 1)[0]
    parts = head.rsplit(":", 2)
    if len(parts) == 3 and parts[1].isdigit():
        return parts[0], int(parts[1])
    if len(parts) >= 2 and parts[-1].isdigit():
        return parts[0], int(parts[-1])
    return fallback, 0
