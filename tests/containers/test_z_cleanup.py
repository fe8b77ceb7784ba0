"""``clean`` removes exactly the labkit-labelled objects (runs last in this folder)."""

from __future__ import annotations

import pytest

from labkit.containers import clean, client, managed_objects, offline_tag, run_container
from labkit.containers.baseimage import apt_source
from labkit.containers.labels import managed_labels

pytestmark = pytest.mark.docker


def test_clean_removes_labelled_objects_only(demo_image: str, base_image: str) -> None:
    api = client()
    running = run_container(demo_image, wait=False)
    network = api.networks.create("labkit-test-net", labels=managed_labels("network"))
    volume = api.volumes.create("labkit-test-vol", labels=managed_labels("volume"))
    bystander = api.networks.create("labkit-test-bystander")  # not labelled: must survive
    try:
        before = managed_objects()
        assert running.name in before.containers
        assert network.name in before.networks and volume.name in before.volumes
        assert demo_image in before.images

        report = clean()
        assert report.errors == []
        assert running.name in report.containers and demo_image in report.images

        after = managed_objects()
        assert (after.containers, after.networks, after.volumes, after.images) == ([], [], [], [])
        assert api.networks.list(names=["labkit-test-bystander"])
        if base_image == offline_tag(apt_source().suite):
            assert api.images.list(name=base_image), "the cached offline base image must be kept"
    finally:
        bystander.remove()
