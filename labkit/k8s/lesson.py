"""What notebook 02 calls: kubectl commands shown as typed, cluster readiness, images, cgroups.

Kept here (unit-tested) so the notebook stays thin; nothing in it knows which cluster runs.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from pathlib import Path

from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import KubectlError, Target, kubectl, target

__all__ = ["Readiness", "cgroup_limits", "ensure_image", "readiness", "typed"]


@dataclass(frozen=True)
class Readiness:
    ok: bool
    detail: str
    fix: str


def readiness(tgt: Target | None = None) -> Readiness:
    """Does a cluster answer? If not, what to do (start the embedded one, or the live path)."""
    from labkit.k8s.errors import LIVE_PATH

    tgt = tgt or target()
    try:
        version = kubectl("version", "-o", "json", tgt=tgt, timeout_s=20).stdout
        nodes = kubectl("get", "nodes", "-o", "name", tgt=tgt, timeout_s=20).stdout.split()
    except K8sError as exc:
        fix = "run `labkit k8s up` (Linux, root and Docker needed). " + LIVE_PATH
        return Readiness(
            False, f"no Kubernetes cluster answers ({tgt.kind}): {str(exc).splitlines()[-1]}", fix
        )
    import json

    server = json.loads(version).get("serverVersion", {}).get("gitVersion", "?")
    return Readiness(True, f"{tgt.kind} cluster, Kubernetes {server}, {len(nodes)} node(s)", "")


def typed(command: str, *, secret: str | None = None, check: bool = True, tgt: Target | None = None) -> str:
    """Run a ``kubectl ...`` line as a learner types it; print it (``secret`` masked) and its output."""
    argv = shlex.split(command)
    if not argv or argv[0] != "kubectl":
        raise ValueError(f"expected a kubectl command, got {command!r}")
    shown = command.replace(secret, "****") if secret else command
    proc = kubectl(*argv[1:], tgt=tgt, check=False, timeout_s=120)
    out = (proc.stdout + proc.stderr).strip()
    if secret:
        out = out.replace(secret, "****")
    print(f"$ {shown}\n{out}\n")
    if check and proc.returncode != 0:
        # The error repeats the command line: mask the secret there too.
        shown_argv = [a.replace(secret, "****") for a in argv[1:]] if secret else argv[1:]
        stderr = proc.stderr.replace(secret, "****") if secret else proc.stderr
        raise KubectlError(shown_argv, proc.returncode, stderr)
    return proc.stdout


def ensure_image(tag: str, *, extra_tags: tuple[str, ...] = (), context: Path | None = None) -> str:
    """The demo app's image in the local engine (built once if missing), plus extra tags of it."""
    import docker

    client = docker.from_env()
    try:
        image = client.images.get(tag)
        how = "present"
    except docker.errors.ImageNotFound:
        from labkit.containers import build_image

        root = context or Path(__file__).resolve().parents[2] / "stacks" / "demo-app"
        build_image(root, tag=tag, progress=lambda _line: None)
        image = client.images.get(tag)
        how = "built"
    for extra in extra_tags:
        repo, _, version = extra.rpartition(":")
        image.tag(repo, version)
    return how


def cgroup_limits(pod: str, *, namespace: str = "default", tgt: Target | None = None) -> dict[str, int]:
    """The container's memory limit (bytes) and CPU quota (microseconds per 100 ms period), read inside it."""
    from labkit.k8s.read import exec_in

    paths = {
        "memory_limit_bytes": ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "/sys/fs/cgroup/memory.max"),
        "cpu_quota_us": ("/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu.max"),
    }
    out: dict[str, int] = {}
    for key, (v1, v2) in paths.items():
        # cgroup v1 first; v2 (one unified file, "quota period" for cpu) otherwise.
        text = exec_in(
            f"pod/{pod}", ["sh", "-c", f"cat {v1} 2>/dev/null || cat {v2}"], namespace=namespace, tgt=tgt
        )
        out[key] = int(text.split()[0])
    return out
