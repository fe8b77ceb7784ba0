"""``docker build`` through the Engine API, with the offline base image and wheelhouse steps.

Builds run with ``network_mode=none``: dependencies come only from the wheelhouse, so a
Dockerfile that tries to reach the network fails here the same way on every machine.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labkit.containers.baseimage import BaseImage, resolve_build_args
from labkit.containers.engine import client
from labkit.containers.errors import BuildFailed, ContainerError
from labkit.containers.labels import managed_labels
from labkit.containers.wheelhouse import Wheelhouse, build_wheelhouse

__all__ = ["BuildResult", "build_image", "needs_wheelhouse", "validate_tag"]

Progress = Callable[[str], None]
_TAG = re.compile(
    r"^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?$"
)
_COPY_WHEELS = re.compile(r"^\s*(COPY|ADD)\s+(--\S+\s+)*\.?/?wheels/?\s", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class BuildResult:
    tag: str
    image_id: str
    seconds: float
    size_bytes: int
    log: list[str]
    bases: list[BaseImage] = field(default_factory=list)
    wheelhouse: Wheelhouse | None = None
    build_args: dict[str, str] = field(default_factory=dict)

    @property
    def size_mb(self) -> float:
        return self.size_bytes / 1e6

    @property
    def warnings(self) -> list[str]:
        return [w for base in self.bases for w in base.warnings]


def validate_tag(tag: str) -> str:
    if not _TAG.match(tag):
        raise ValueError(f"invalid image tag {tag!r}: use lower-case name[:tag], e.g. 'labkit/demo-app:dev'")
    return tag


def needs_wheelhouse(dockerfile_text: str) -> bool:
    """True when the Dockerfile copies a ``wheels/`` folder from the context."""
    return bool(_COPY_WHEELS.search(dockerfile_text))


def _python_for(bases: list[BaseImage]) -> str | None:
    return next((b.python_version for b in bases if b.python_version), None)


def build_image(
    context: Path | str,
    *,
    tag: str,
    dockerfile: Path | str = "Dockerfile",
    build_args: Mapping[str, str] | None = None,
    target: str | None = None,
    labels: Mapping[str, str] | None = None,
    wheelhouse: bool | None = None,
    allow_pull: bool = True,
    nocache: bool = False,
    progress: Progress = print,
) -> BuildResult:
    """Build ``context`` into ``tag`` and stream the builder's output to ``progress``.

    ``wheelhouse=None`` builds ``<context>/wheels`` from ``<context>/requirements.txt``
    when the Dockerfile copies ``wheels/``; True forces it, False skips it.
    """
    context = Path(context)
    if not context.is_dir():
        raise ContainerError(f"build context is not a folder: {context}")
    validate_tag(tag)
    dockerfile_path = Path(dockerfile)
    if not dockerfile_path.is_absolute():
        dockerfile_path = context / dockerfile_path
    if not dockerfile_path.is_file():
        raise ContainerError(f"Dockerfile not found: {dockerfile_path}")
    text = dockerfile_path.read_text(encoding="utf-8")
    started = time.monotonic()
    args, bases = resolve_build_args(text, build_args, allow_pull=allow_pull, progress=progress)
    for base in bases:
        if base.ref != base.requested:
            progress(f"base image {base.requested} -> {base.ref} ({base.source})")
        for warning in base.warnings:
            progress(f"warning: {warning}")

    house = None
    if wheelhouse or (wheelhouse is None and needs_wheelhouse(text)):
        requirements = context / "requirements.txt"
        house = build_wheelhouse(
            requirements, context / "wheels", python_version=_python_for(bases), progress=progress
        )

    # docker-py embeds a Dockerfile from outside the context into the uploaded tar, so a
    # learner's edited copy (kept outside the repo) builds against the same context.
    rel = dockerfile_path.resolve()
    try:
        dockerfile_arg = str(rel.relative_to(context.resolve()))
    except ValueError:
        dockerfile_arg = str(rel)
    all_labels = managed_labels("image", source=str(context.name))
    all_labels.update(labels or {})
    log: list[str] = []
    image_id = ""
    stream = client().api.build(
        path=str(context),
        dockerfile=dockerfile_arg,
        tag=tag,
        buildargs=args,
        target=target,
        labels=all_labels,
        network_mode="none",
        nocache=nocache,
        pull=False,
        rm=True,
        forcerm=True,
        decode=True,
    )
    error = ""
    # Read the stream to its end even after an error: an abandoned streamed response
    # keeps its socket open until garbage collection.
    for chunk in stream:
        if "error" in chunk:
            message = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            log.append(message)
            progress(message.rstrip())
            error = error or message.strip()
            continue
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
        text_out = chunk.get("stream") or chunk.get("status") or ""
        for line in text_out.splitlines():
            if line.strip():
                log.append(line)
                progress(line)
    if error:
        raise BuildFailed(f"building {tag} from {dockerfile_path} failed: {error}", log)
    image = client().images.get(tag)
    seconds = time.monotonic() - started
    return BuildResult(
        tag, image_id or image.id, seconds, int(image.attrs.get("Size", 0)), log, bases, house, args
    )
