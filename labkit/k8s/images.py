"""Getting locally built images (``labkit.containers``) into the cluster, without a registry.

- embedded cluster: kubelet drives the same Docker engine, so a built image is already there
  (manifests use ``imagePullPolicy: IfNotPresent`` or ``Never`` and a pinned tag);
- kind: ``kind load docker-image`` copies it into the kind node's containerd;
- minikube: ``minikube image load``.
Other clusters pull from a registry, which this workbook never pushes to.
"""

from __future__ import annotations

import shutil
import subprocess

from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import Target, target

__all__ = ["load_image"]


def _image_present(tag: str) -> bool:
    import docker

    try:
        docker.from_env().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def load_image(tag: str, tgt: Target | None = None) -> str:
    """Make ``tag`` available to the cluster's kubelet; return how."""
    tgt = tgt or target()
    if not _image_present(tag):
        raise K8sError(
            f"image {tag} is not in the local Docker engine: build it first (labkit containers build)"
        )
    if tgt.kind == "embedded":
        return "shared Docker engine (nothing to copy)"
    if tgt.is_kind:
        assert tgt.context is not None
        kind = shutil.which("kind")
        if kind is None:
            raise K8sError("kind is not installed: it is needed to load images into a kind cluster")
        cluster = tgt.context.removeprefix("kind-")
        proc = subprocess.run(
            [kind, "load", "docker-image", tag, "--name", cluster],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode != 0:
            raise K8sError(f"kind load docker-image {tag} failed: {proc.stderr.strip()}")
        return f"kind load docker-image --name {cluster}"
    if tgt.context == "minikube" and shutil.which("minikube"):
        proc = subprocess.run(["minikube", "image", "load", tag], capture_output=True, text=True, timeout=600)
        if proc.returncode != 0:
            raise K8sError(f"minikube image load {tag} failed: {proc.stderr.strip()}")
        return "minikube image load"
    raise K8sError(
        f"context {tgt.context!r} is neither the embedded cluster, kind nor minikube: "
        f"push {tag} to a registry "
        "that cluster can pull from (this workbook never pushes images)"
    )
