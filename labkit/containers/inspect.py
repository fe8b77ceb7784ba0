"""Image inspection: size, layers, history, and a secret scan of history and files.

The file scan reads every layer of ``docker save`` rather than the final filesystem:
a key deleted in a later layer is still shipped in the earlier one, which is exactly the
mistake the lesson is about.
"""

from __future__ import annotations

import io
import json
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from labkit.containers.engine import client
from labkit.containers.errors import ContainerError
from labkit.containers.secrets import SecretFinding, scan_bytes

__all__ = ["ImageReport", "Layer", "ScanReport", "inspect_image", "scan_image"]

_MAX_FILE = 4 * 1024 * 1024  # larger files are archives or data, not where keys get pasted
# Literal fragments every pattern in SECRET_PATTERNS contains (case variants included).
_MARKERS = (
    b"sk-ant-",
    b"AKIA",
    b"ASIA",
    b"ABIA",
    b"ACCA",
    b"ghp_",
    b"gho_",
    b"ghu_",
    b"ghs_",
    b"ghr_",
    b"github_pat_",
    b"PRIVATE KEY",
    b"ecret_access_key",
    b"ECRET_ACCESS_KEY",
    b"ecret-access-key",
    b"ecretAccessKey",
    b"ecretaccesskey",
)


@dataclass(frozen=True)
class Layer:
    created_by: str
    size_bytes: int
    created: int


@dataclass(frozen=True)
class ImageReport:
    ref: str
    id: str
    size_bytes: int
    layer_count: int  # filesystem layers (RootFS), not history steps
    history: list[Layer]
    labels: dict[str, str]
    env: list[str]
    user: str
    exposed_ports: list[str]
    healthcheck: list[str] | None

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    def history_frame(self) -> Any:
        """History as a pandas DataFrame, newest step first (as ``docker history`` shows)."""
        import pandas as pd

        return pd.DataFrame(
            [{"step": h.created_by[:90], "size_mb": round(h.size_bytes / 1e6, 3)} for h in self.history]
        )


@dataclass
class ScanReport:
    ref: str
    findings: list[SecretFinding] = field(default_factory=list)
    files_scanned: int = 0
    layers_scanned: int = 0

    @property
    def clean(self) -> bool:
        return not self.findings


def _image(ref: str) -> Any:
    from docker.errors import ImageNotFound

    try:
        return client().images.get(ref)
    except ImageNotFound:
        raise ContainerError(f"image {ref!r} is not present; build it first") from None


def inspect_image(ref: str) -> ImageReport:
    image = _image(ref)
    attrs = image.attrs
    config = attrs.get("Config") or {}
    history = [
        Layer(
            str(h.get("CreatedBy", "")).replace("/bin/sh -c #(nop) ", "").strip(),
            int(h.get("Size", 0)),
            int(h.get("Created", 0)),
        )
        for h in image.history()
    ]
    health = (config.get("Healthcheck") or {}).get("Test")
    return ImageReport(
        ref=ref,
        id=str(image.id),
        size_bytes=int(attrs.get("Size", 0)),
        layer_count=len((attrs.get("RootFS") or {}).get("Layers") or []),
        history=history,
        labels=dict(config.get("Labels") or {}),
        env=list(config.get("Env") or []),
        user=str(config.get("User") or "root"),
        exposed_ports=sorted(config.get("ExposedPorts") or {}),
        healthcheck=list(health) if health else None,
    )


def _layer_paths(archive: tarfile.TarFile) -> list[str]:
    manifest = archive.extractfile("manifest.json")
    if manifest is None:
        raise ContainerError("docker save produced no manifest.json")
    entries = json.load(manifest)
    return list(entries[0]["Layers"])


def _shared_layers(image: Any, base: str | None) -> int:
    if not base:
        return 0
    ours = (image.attrs.get("RootFS") or {}).get("Layers") or []
    theirs = (_image(base).attrs.get("RootFS") or {}).get("Layers") or []
    shared = 0
    for a, b in zip(ours, theirs, strict=False):
        if a != b:
            break
        shared += 1
    return shared


def scan_image(ref: str, *, scan_files: bool = True, skip_layers_of: str | None = None) -> ScanReport:
    """Look for keys in the image's build history, env, labels and (optionally) every layer's files.

    ``skip_layers_of`` names a base image whose layers are not re-read (they are shared
    byte for byte), which makes scanning an app image several times faster.
    """
    image = _image(ref)
    skip = _shared_layers(image, skip_layers_of)
    report = ScanReport(ref)
    config = image.attrs.get("Config") or {}
    for index, step in enumerate(reversed(image.history())):
        report.findings += scan_bytes(str(step.get("CreatedBy", "")).encode(), f"history step {index + 1}")
    for entry in config.get("Env") or []:
        report.findings += scan_bytes(entry.encode(), "env", entry.split("=", 1)[0])
    for key, value in (config.get("Labels") or {}).items():
        report.findings += scan_bytes(str(value).encode(), f"label {key}")
    if not scan_files:
        return report
    with tempfile.TemporaryFile() as spool:
        for chunk in image.save(named=False):
            spool.write(chunk)
        spool.seek(0)
        with tarfile.open(fileobj=spool) as outer:
            layers = _layer_paths(outer)
            deleted_later: dict[int, set[str]] = {}
            contents: list[tuple[int, str, bytes]] = []
            for number, layer_path in enumerate(layers, start=1):
                if number <= skip:
                    continue
                member = outer.extractfile(layer_path)
                if member is None:
                    continue
                report.layers_scanned += 1
                with tarfile.open(fileobj=io.BytesIO(member.read())) as layer:
                    for item in layer:
                        name = "/" + item.name.lstrip("./")
                        path = PurePosixPath(name)
                        if path.name.startswith(".wh."):
                            deleted_later.setdefault(number, set()).add(str(path.parent / path.name[4:]))
                            continue
                        if not item.isfile() or item.size > _MAX_FILE:
                            continue
                        handle = layer.extractfile(item)
                        data = handle.read() if handle else b""
                        report.files_scanned += 1
                        if data[:4] == b"\x7fELF":
                            continue
                        if _maybe_secret(data):
                            contents.append((number, name, data))
            for number, name, data in contents:
                removed = any(name in paths for later, paths in deleted_later.items() if later > number)
                note = "deleted in a later layer, but still shipped in this one" if removed else ""
                report.findings += scan_bytes(data, f"layer {number}: {name}", note)
    return report


def _maybe_secret(data: bytes) -> bool:
    # Cheap substring tests first: the full regex only runs on the few files that could match.
    return any(marker in data for marker in _MARKERS)
