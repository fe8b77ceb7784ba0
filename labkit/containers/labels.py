"""The labels that mark what labkit created, so cleanup removes exactly those objects."""

from __future__ import annotations

__all__ = ["BASE_LABEL", "KIND_LABEL", "MANAGED_FILTER", "MANAGED_LABEL", "managed_labels"]

MANAGED_LABEL = "org.labkit.managed"
KIND_LABEL = "org.labkit.kind"
# Offline base images carry this instead of MANAGED_LABEL: image labels are inherited by
# every image built FROM them, and a learner's own `docker build` must not become
# "labkit-managed" (and so deleted by `labkit containers clean`) just by using our base.
BASE_LABEL = "org.labkit.base"
MANAGED_FILTER = f"{MANAGED_LABEL}=true"


def managed_labels(kind: str, **extra: str) -> dict[str, str]:
    """Labels for an object labkit creates; ``kind`` is image, container, network, volume."""
    labels = {MANAGED_LABEL: "true", KIND_LABEL: kind}
    labels.update({f"org.labkit.{key.replace('_', '-')}": value for key, value in extra.items()})
    return labels
