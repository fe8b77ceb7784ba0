"""Base images without a registry: pull the real one when possible, else build a local equivalent.

Dockerfiles stay standard (``ARG BASE_IMAGE=python:3.11-slim`` / ``FROM ${BASE_IMAGE}``).
When the named image is neither present nor pullable, labkit debootstraps a minimal
Debian with python3 from the same mirror and suite this machine's apt uses (read at run
time, so a mirror or snapshot configured for apt is honoured), imports it with
``docker import``, caches it under a labkit tag and passes that tag as ``BASE_IMAGE``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from labkit.containers import dockerfile
from labkit.containers.engine import client, find_tool
from labkit.containers.errors import ContainerError, ToolMissing
from labkit.containers.labels import BASE_LABEL

__all__ = [
    "OFFLINE_REPOSITORY",
    "AptSource",
    "BaseImage",
    "apt_source",
    "build_offline_base",
    "ensure_base_image",
    "offline_tag",
    "parse_apt_sources",
    "resolve_build_args",
]

OFFLINE_REPOSITORY = "labkit-base/python3"
# What the offline image must provide to stand in for python:*-slim: an interpreter,
# venv + ensurepip (so Dockerfiles can `python3 -m venv` and pip-install a wheelhouse),
# and CA certificates for an app that calls HTTPS.
_PACKAGES = ("python3", "python3-venv", "ca-certificates")
# Images the Debian+python3 base may stand in for; anything else must really be pulled.
_STANDS_IN_FOR = re.compile(r"^(docker\.io/)?(library/)?(python|debian)(:|$)")
_PULL_FAILED: set[str] = set()  # refs that failed to pull in this process: do not retry per build

Progress = Callable[[str], None]


@dataclass(frozen=True)
class AptSource:
    mirror: str
    suite: str
    components: tuple[str, ...] = ("main",)


@dataclass(frozen=True)
class BaseImage:
    requested: str
    ref: str  # what to pass as BASE_IMAGE
    source: str  # present | pulled | offline-cached | offline-built
    python_version: str | None = None
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)


def _deb822_paragraphs(text: str) -> Iterator[dict[str, str]]:
    para: dict[str, str] = {}
    key = ""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if not line.strip():
            if para:
                yield para
            para, key = {}, ""
            continue
        if line[0] in " \t" and key:
            para[key] += " " + line.strip()
            continue
        key, _, value = line.partition(":")
        key = key.strip().lower()
        para[key] = value.strip()
    if para:
        yield para


def _is_main_archive(uri: str, suite: str) -> bool:
    # The security archive and -updates/-backports suites cannot bootstrap a system alone.
    return "security" not in uri and "-" not in suite and suite not in ("stable-security",)


def parse_apt_sources(text: str, deb822: bool) -> AptSource | None:
    """The first main Debian archive (``deb``, not security/updates) in one sources file."""
    if deb822:
        for para in _deb822_paragraphs(text):
            if para.get("enabled", "yes").lower() == "no" or "deb" not in para.get("types", "").split():
                continue
            for uri in para.get("uris", "").split():
                for suite in para.get("suites", "").split():
                    if _is_main_archive(uri, suite):
                        comps = tuple(para.get("components", "main").split()) or ("main",)
                        return AptSource(uri.rstrip("/"), suite, comps)
        return None
    for line in text.splitlines():
        body = re.sub(r"\[[^\]]*\]", " ", line.split("#", 1)[0])  # drop [arch=... signed-by=...]
        words = body.split()
        if not words or words[0] != "deb":
            continue
        words = words[1:]
        if len(words) >= 2 and _is_main_archive(words[0], words[1]):
            return AptSource(words[0].rstrip("/"), words[1], tuple(words[2:]) or ("main",))
    return None


def apt_source(etc: Path = Path("/etc/apt")) -> AptSource:
    """This machine's Debian mirror and suite, as apt is configured (deb822 or one-line files)."""
    candidates: list[tuple[Path, bool]] = [(etc / "sources.list", False)]
    folder = etc / "sources.list.d"
    if folder.is_dir():
        for path in sorted(folder.iterdir()):
            if path.suffix in (".sources", ".list"):
                candidates.append((path, path.suffix == ".sources"))
    for path, deb822 in candidates:
        if path.is_file():
            found = parse_apt_sources(path.read_text(encoding="utf-8", errors="replace"), deb822)
            if found and "debian" in found.mirror:
                return found
    raise ContainerError(
        f"no Debian archive found in {etc}/sources.list or {etc}/sources.list.d; the offline base image is "
        "built with debootstrap from this machine's Debian mirror, so it needs a Debian apt configuration"
    )


def offline_tag(suite: str) -> str:
    return f"{OFFLINE_REPOSITORY}:{suite}"


def _image_exists(ref: str) -> bool:
    from docker.errors import ImageNotFound

    try:
        client().images.get(ref)
    except ImageNotFound:
        return False
    return True


def _try_pull(ref: str, progress: Progress) -> bool:
    from docker.errors import APIError, DockerException

    if ref in _PULL_FAILED:
        return False
    try:
        progress(f"pulling {ref} ...")
        client().images.pull(ref)
    except (APIError, DockerException) as exc:
        progress(f"cannot pull {ref}: {str(exc).splitlines()[0][:160]}")
        _PULL_FAILED.add(ref)
        return False
    return True


@contextlib.contextmanager
def _lock(name: str) -> Iterator[None]:
    # Tests, a notebook kernel and a benchmark may all ask for the base image at once;
    # only one may debootstrap, the others wait and then find it cached.
    path = Path(tempfile.gettempdir()) / f"labkit-{name}.lock"
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _python_version(root: Path) -> str | None:
    versions = sorted(
        (p.name.removeprefix("python") for p in (root / "usr/bin").glob("python3.*")),
        key=lambda v: [int(x) for x in v.split(".") if x.isdigit()],
    )
    versions = [v for v in versions if re.fullmatch(r"3\.\d+", v)]
    return versions[-1] if versions else None


def _run(cmd: list[str], progress: Progress, what: str) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    tail: list[str] = []
    for line in proc.stdout:
        line = line.rstrip()
        tail = [*tail[-30:], line]
        if line.startswith(("I: Retrieving", "I: Validating")):
            continue  # hundreds of per-package lines; keep progress readable
        progress(line)
    if proc.wait() != 0:
        raise ContainerError(f"{what} failed (exit {proc.returncode}):\n" + "\n".join(tail))


def build_offline_base(
    source: AptSource | None = None,
    *,
    tag: str | None = None,
    progress: Progress = print,
    workdir: Path | None = None,
) -> BaseImage:
    """debootstrap a minimal Debian with python3 and ``docker import`` it as ``tag`` (needs root)."""
    source = source or apt_source()
    tag = tag or offline_tag(source.suite)
    debootstrap = find_tool("debootstrap", "apt-get install debootstrap")
    tar = find_tool("tar", "apt-get install tar")
    if os.geteuid() != 0:
        raise ToolMissing(
            "building the offline base image runs debootstrap, which needs root; run "
            f"`sudo labkit containers base-image` once (it is cached as {tag})"
        )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="labkit-base-", dir=workdir) as tmp:
        root = Path(tmp) / "rootfs"
        progress(f"debootstrap {source.suite} from {source.mirror} with {', '.join(_PACKAGES)} ...")
        _run(
            [
                debootstrap,
                "--variant=minbase",
                f"--include={','.join(_PACKAGES)}",
                f"--components={','.join(source.components)}",
                source.suite,
                str(root),
                source.mirror,
            ],
            progress,
            "debootstrap",
        )
        # Drop what an image never needs: downloaded .debs, apt indexes, docs. python:*-slim
        # does the same; it also keeps the image small enough to cache cheaply.
        for rel in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
            "usr/share/info",
        ):
            target = root / rel
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    elif child.name not in ("lock", "partial"):
                        child.unlink(missing_ok=True)
        python = _python_version(root)
        if python is None:
            raise ContainerError("debootstrap finished but the root filesystem has no python3.X interpreter")
        # python:*-slim answers to `python` as well as `python3`; Dockerfiles written for it may use either.
        local_bin = root / "usr/local/bin"
        local_bin.mkdir(parents=True, exist_ok=True)
        (local_bin / "python").unlink(missing_ok=True)
        (local_bin / "python").symlink_to("/usr/bin/python3")
        archive = Path(tmp) / "rootfs.tar"
        _run([tar, "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(archive), "."], progress, "tar")
        repository, _, version = tag.rpartition(":")
        changes = [
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "ENV LANG=C.UTF-8",
            'CMD ["python3"]',
            f'LABEL {BASE_LABEL}="true" org.labkit.base.suite="{source.suite}" '
            f'org.labkit.base.mirror="{source.mirror}" org.labkit.base.python-version="{python}"',
        ]
        progress(f"docker import as {tag} ...")
        client().api.import_image_from_file(str(archive), repository=repository, tag=version, changes=changes)
    seconds = time.monotonic() - started
    progress(f"built {tag} (Debian {source.suite}, python {python}) in {seconds:.0f} s")
    return BaseImage(tag, tag, "offline-built", python, seconds)


def _stand_in_warnings(requested: str, python: str | None) -> list[str]:
    wanted = re.match(r"^(?:docker\.io/)?(?:library/)?python:(\d+\.\d+)", requested)
    if wanted and python and wanted.group(1) != python:
        return [
            f"{requested} is not available; the offline stand-in has Debian's python {python}, "
            f"not {wanted.group(1)} (wheels are built for {python})"
        ]
    return []


def ensure_base_image(requested: str, *, allow_pull: bool = True, progress: Progress = print) -> BaseImage:
    """Make ``requested`` usable as a base: present, pulled, or replaced by the offline image."""
    if not requested or any(ch.isspace() for ch in requested):
        raise ValueError(f"invalid image reference: {requested!r}")
    if _image_exists(requested):
        return BaseImage(requested, requested, "present", _labelled_python(requested))
    if allow_pull and _try_pull(requested, progress):
        return BaseImage(requested, requested, "pulled", _labelled_python(requested))
    if not _STANDS_IN_FOR.match(requested):
        raise ContainerError(
            f"base image {requested!r} is not present and cannot be pulled, and labkit can only build "
            "offline stand-ins for python:* and debian:* images; load it with `docker load -i <file>.tar`"
        )
    source = apt_source()
    tag = offline_tag(source.suite)
    with _lock(tag.replace("/", "_").replace(":", "_")):
        if _image_exists(tag):
            python = _labelled_python(tag)
            return BaseImage(
                requested, tag, "offline-cached", python, 0.0, _stand_in_warnings(requested, python)
            )
        built = build_offline_base(source, tag=tag, progress=progress)
    return BaseImage(
        requested,
        tag,
        "offline-built",
        built.python_version,
        built.seconds,
        _stand_in_warnings(requested, built.python_version),
    )


def _labelled_python(ref: str) -> str | None:
    image = client().images.get(ref)
    labels = image.labels or {}
    if "org.labkit.base.python-version" in labels:
        return labels["org.labkit.base.python-version"]
    for entry in image.attrs.get("Config", {}).get("Env") or []:
        if entry.startswith("PYTHON_VERSION="):  # set by the official python images
            return ".".join(entry.split("=", 1)[1].split(".")[:2])
    return None


def resolve_build_args(
    dockerfile_text: str,
    build_args: Mapping[str, str] | None = None,
    *,
    allow_pull: bool = True,
    progress: Progress = print,
) -> tuple[dict[str, str], list[BaseImage]]:
    """Build args with every ARG-named base image replaced by a usable one, and what was done.

    Base images written literally (``FROM debian:bookworm``) cannot be swapped: they must
    be present or pullable, and the error says to turn them into an ``ARG``.
    """
    args = dict(build_args or {})
    declared = dockerfile.global_args(dockerfile_text)
    bases: list[BaseImage] = []
    for stage in dockerfile.stages(dockerfile_text, args):
        if stage.from_stage or stage.resolved == "scratch":
            continue
        if any(b.requested == stage.resolved for b in bases):
            continue
        arg = re.fullmatch(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", stage.image)
        if arg and arg.group(1) in declared:
            base = ensure_base_image(stage.resolved, allow_pull=allow_pull, progress=progress)
            args[arg.group(1)] = base.ref
            bases.append(base)
        elif _image_exists(stage.resolved) or (allow_pull and _try_pull(stage.resolved, progress)):
            bases.append(BaseImage(stage.resolved, stage.resolved, "present"))
        else:
            raise ContainerError(
                f"line FROM {stage.image}: image {stage.resolved!r} is not present and cannot be pulled; "
                "declare it as `ARG BASE_IMAGE=...` / `FROM ${BASE_IMAGE}` so labkit can pass "
                "an offline stand-in"
            )
    return args, bases
