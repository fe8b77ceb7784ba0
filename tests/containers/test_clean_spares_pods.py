"""``clean`` leaves Kubernetes pods' containers and the images they run to the cluster (fake engine)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from labkit.containers import cleanup


@dataclass
class _Obj:
    name: str
    id: str = ""
    labels: dict[str, str] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    removed: bool = False

    def remove(self, **_kw: object) -> None:
        self.removed = True


class _Images:
    def __init__(self, images: list[_Obj]) -> None:
        self.items, self.removed = images, []

    def list(self, **_kw: object) -> list[_Obj]:
        return self.items

    def remove(self, image_id: str, **_kw: object) -> None:
        self.removed.append(image_id)


class _List:
    def __init__(self, items: list[_Obj]) -> None:
        self.items = items

    def list(self, **_kw: object) -> list[_Obj]:
        return self.items


class _Api:
    def __init__(self, containers: list[_Obj], images: list[_Obj]) -> None:
        self.containers, self.images = _List(containers), _Images(images)
        self.networks, self.volumes = _List([]), _List([])


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> _Api:
    pod = _Obj(
        "k8s_agent_prompt-reviewer-abc",
        labels={"io.kubernetes.pod.name": "prompt-reviewer-abc"},
        attrs={"Image": "sha256:pod"},
    )
    own = _Obj("labkit-demo", attrs={"Image": "sha256:own"})
    images = [
        _Obj("", id="sha256:pod", tags=["labkit/prompt-reviewer:0.1.0"]),
        _Obj("", id="sha256:own", tags=["labkit/demo-app:dev"]),
    ]
    fake = _Api([pod, own], images)
    monkeypatch.setattr(cleanup, "client", lambda: fake)
    return fake


def test_dry_run_lists_only_what_clean_may_remove(api: _Api) -> None:
    report = cleanup.managed_objects()
    assert report.containers == ["labkit-demo"]
    assert report.images == ["labkit/demo-app:dev"] and report.kept == ["labkit/prompt-reviewer:0.1.0"]


def test_clean_spares_pod_containers_and_their_images(api: _Api) -> None:
    report = cleanup.clean()
    pod, own = api.containers.items
    assert own.removed and not pod.removed
    assert api.images.removed == ["sha256:own"]
    assert report.kept == ["labkit/prompt-reviewer:0.1.0"] and report.errors == []
