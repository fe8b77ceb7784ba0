"""Remove exactly what labkit created: objects carrying ``org.labkit.managed=true``.

Order matters: containers first (they hold images, networks and volumes), then networks
and volumes, then images. Offline base images are kept unless asked for, because
rebuilding one means another debootstrap.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from labkit.containers.baseimage import OFFLINE_REPOSITORY
from labkit.containers.engine import client
from labkit.containers.labels import BASE_LABEL, MANAGED_FILTER

__all__ = ["CleanReport", "clean", "managed_objects"]

# Set by kubelet (dockershim) on the containers of Kubernetes pods, which inherit the image's
# labels: they belong to the cluster, and removing them (or their images) kills pods behind
# its back. ``clean`` leaves them, and the images they run, to the cluster.
_KUBELET_LABEL = "io.kubernetes.pod.name"


@dataclass
class CleanReport:
    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    volumes: list[str] = field(default_factory=list)
    images: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # in use by Kubernetes pods
    dry_run: bool = False

    @property
    def total(self) -> int:
        return len(self.containers) + len(self.networks) + len(self.volumes) + len(self.images)


def _image_name(image: object) -> str:
    tags = getattr(image, "tags", None) or []
    return str(tags[0] if tags else getattr(image, "short_id", "?"))


def _pod_containers(api: object) -> tuple[list[object], set[str]]:
    """Labelled containers that are not Kubernetes pods', and the image ids pods run."""
    own, pod_images = [], set()
    for container in api.containers.list(all=True, filters={"label": MANAGED_FILTER}):  # type: ignore[attr-defined]
        if _KUBELET_LABEL in (getattr(container, "labels", None) or {}):
            pod_images.add(str((getattr(container, "attrs", None) or {}).get("Image", "")))
        else:
            own.append(container)
    return own, pod_images


def managed_objects(*, base_images: bool = False) -> CleanReport:
    """What ``clean`` would remove (a dry run)."""
    api = client()
    flt = {"label": MANAGED_FILTER}
    report = CleanReport(dry_run=True)
    own, pod_images = _pod_containers(api)
    report.containers = [c.name for c in own]  # type: ignore[attr-defined]
    report.networks = [n.name for n in api.networks.list(filters=flt)]
    report.volumes = [v.name for v in api.volumes.list(filters=flt)]
    report.images = [_image_name(i) for i in api.images.list(filters=flt) if i.id not in pod_images]
    report.kept = [_image_name(i) for i in api.images.list(filters=flt) if i.id in pod_images]
    if base_images:
        report.images += [
            _image_name(i)
            for i in api.images.list(name=OFFLINE_REPOSITORY, filters={"label": f"{BASE_LABEL}=true"})
        ]
    return report


def clean(*, base_images: bool = False, dry_run: bool = False) -> CleanReport:
    """Remove every labkit-labelled container, network, volume and image (and base images if asked)."""
    from docker.errors import APIError, NotFound

    if dry_run:
        return managed_objects(base_images=base_images)
    api = client()
    flt = {"label": MANAGED_FILTER}
    report = CleanReport()

    def attempt(kind: str, name: str, action: object) -> None:
        try:
            action()  # type: ignore[operator]
            getattr(report, kind).append(name)
        except NotFound:
            pass  # removed meanwhile (compose down, a parallel clean): the goal is reached
        except APIError as exc:
            report.errors.append(f"{kind[:-1]} {name}: {exc.explanation or exc}")

    own, pod_images = _pod_containers(api)
    for container in own:
        attempt("containers", container.name, lambda c=container: c.remove(force=True, v=True))  # type: ignore[attr-defined]
    for network in api.networks.list(filters=flt):
        attempt("networks", network.name, network.remove)
    for volume in api.volumes.list(filters=flt):
        attempt("volumes", volume.name, lambda v=volume: v.remove(force=True))
    images = list(api.images.list(filters=flt))
    if base_images:
        images += api.images.list(name=OFFLINE_REPOSITORY, filters={"label": f"{BASE_LABEL}=true"})
    # Children before parents: an image another one was built FROM cannot go first.
    images.sort(key=lambda i: i.attrs.get("Created", ""), reverse=True)
    for image in images:
        if image.id in pod_images:
            report.kept.append(_image_name(image))
            continue
        attempt("images", _image_name(image), lambda i=image: api.images.remove(i.id, force=True))
    return report
