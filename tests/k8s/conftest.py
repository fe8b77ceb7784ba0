"""The cluster the Kubernetes tests use: a live context, the running embedded cluster, or one
they start (when this machine can run it and the binaries are built); otherwise they skip
with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.config import load_settings
from labkit.k8s.kubectl import Target, target

DEMO_IMAGE = "labkit/demo-app:k8s"
# A Deployment + Service of the demo app; format with name, replicas, image.
DEPLOYMENT = """apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}, labels: {{org.labkit.test: "true"}}}}
spec:
  replicas: {replicas}
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers:
        - name: web
          image: {image}
          imagePullPolicy: Never
          ports: [{{containerPort: 8000}}]
          env: [{{name: GREETING, value: hello}}]
          resources:
            requests: {{cpu: 20m, memory: 48Mi}}
            limits: {{cpu: 200m, memory: 96Mi}}
          readinessProbe: {{httpGet: {{path: /healthz, port: 8000}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{port: 80, targetPort: 8000, protocol: TCP}}]
"""


@pytest.fixture(scope="session")
def deployment_yaml() -> str:
    return DEPLOYMENT


@pytest.fixture(scope="session")
def k8s_target() -> Iterator[Target]:
    settings = load_settings()
    if settings.k8s_context:
        yield target(settings)
        return
    from labkit.k8s import cluster
    from labkit.k8s.build import binaries_built
    from labkit.k8s.prereq import missing_requirements

    data_dir = cluster.current_data_dir(settings.data_dir)
    if not cluster.status(data_dir).running:
        missing = missing_requirements(binaries_built=binaries_built())
        if missing:
            pytest.skip("no Kubernetes cluster can run here: " + "; ".join(missing))
        if not binaries_built():
            pytest.skip("the Kubernetes binaries are not built: run `labkit k8s up` once (about 8 minutes)")
        cluster.up(data_dir, say=lambda _line: None)
    yield target(settings.model_copy(update={"data_dir": data_dir}))


@pytest.fixture(scope="session")
def demo_image() -> str:
    """The demo app's image in the local engine, built once if missing (kubelet never pulls it)."""
    import docker

    try:
        docker.from_env().images.get(DEMO_IMAGE)
    except docker.errors.ImageNotFound:
        from labkit.containers import build_image

        root = Path(__file__).resolve().parents[2]
        build_image(root / "stacks" / "demo-app", tag=DEMO_IMAGE, progress=lambda _line: None)
    return DEMO_IMAGE


@pytest.fixture(scope="session")
def agent_image() -> str:
    """The Prompt Reviewer's image (and its next version tag) in the local engine, built once."""
    from labkit.k8s.production import AGENT_IMAGE, ensure_images

    tag = f"{AGENT_IMAGE}:0.1.0"
    ensure_images(tag, extra_tags=(f"{AGENT_IMAGE}:0.1.1",))
    return tag
