"""Reading manifests: YAML files, folders and rendered kustomizations into located objects.

Each object remembers its file and the line its document starts on, so a finding can say
where to look. Bad YAML fails with the file, line and column; a document that is not a
Kubernetes object (no ``apiVersion``/``kind``) fails naming what is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from labkit.k8s.errors import ManifestError

__all__ = ["Manifest", "load_files", "load_text", "pod_spec", "yaml_files"]

# kind -> path from the object to its pod spec
_POD_SPEC_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "Deployment": ("spec", "template", "spec"),
    "ReplicaSet": ("spec", "template", "spec"),
    "StatefulSet": ("spec", "template", "spec"),
    "DaemonSet": ("spec", "template", "spec"),
    "ReplicationController": ("spec", "template", "spec"),
    "Job": ("spec", "template", "spec"),
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}


@dataclass(frozen=True)
class Manifest:
    obj: dict[str, Any]
    source: str  # file path (or "<text>")
    line: int  # 1-based line where the document starts

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def api_version(self) -> str:
        return str(self.obj.get("apiVersion", ""))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name", ""))

    @property
    def namespace(self) -> str:
        return str((self.obj.get("metadata") or {}).get("namespace", "") or "default")

    @property
    def where(self) -> str:
        return f"{self.source}:{self.line}"


def pod_spec(manifest: Manifest) -> dict[str, Any] | None:
    path = _POD_SPEC_PATHS.get(manifest.kind)
    if path is None:
        return None
    node: Any = manifest.obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
        if node is None:
            return None
    return node if isinstance(node, dict) else None


def load_text(text: str, source: str = "<text>") -> list[Manifest]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        docs = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"{source}:{mark.line + 1}:{mark.column + 1}" if mark else source
        raise ManifestError(f"{where}: invalid YAML: {exc.problem or exc}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{source}: invalid YAML: {exc}") from None
    out = []
    for node, doc in zip(nodes, docs, strict=True):
        if doc is None:
            continue  # an empty document between `---` separators
        line = node.start_mark.line + 1 if node is not None else 1
        if not isinstance(doc, dict):
            raise ManifestError(
                f"{source}:{line}: a Kubernetes manifest is a mapping with apiVersion and kind, "
                f"got a {type(doc).__name__}"
            )
        if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
            out += [Manifest(item, source, line) for item in doc["items"] if isinstance(item, dict)]
            continue
        absent = [key for key in ("apiVersion", "kind") if not doc.get(key)]
        if absent:
            raise ManifestError(
                f"{source}:{line}: not a Kubernetes object: missing {' and '.join(absent)} "
                "(every object says which API it belongs to and what it is, e.g. apiVersion: apps/v1, "
                "kind: Deployment)"
            )
        out.append(Manifest(doc, source, line))
    return out


def yaml_files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
    return [path]


def load_files(paths: list[Path]) -> list[Manifest]:
    out: list[Manifest] = []
    for path in paths:
        if not path.exists():
            raise ManifestError(f"{path}: no such file or folder")
        for file in yaml_files(path):
            try:
                text = file.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise ManifestError(f"{file}: cannot read: {exc}") from None
            out += load_text(text, str(file))
    return out
