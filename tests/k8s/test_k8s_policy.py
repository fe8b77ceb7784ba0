"""Policy checks, manifest reading and validation details (no cluster needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.k8s.check import check_paths
from labkit.k8s.errors import ManifestError
from labkit.k8s.manifests import load_text
from labkit.k8s.policy import EXPLANATIONS, RULES, check_policy
from labkit.k8s.validate import explain_server_message, validate_schema

ROOT = Path(__file__).resolve().parents[2]

POD = """apiVersion: v1
kind: Pod
metadata: {{name: p, labels: {{app: p}}}}
spec:
  securityContext: {{runAsNonRoot: true, runAsUser: 1000}}
  containers:
    - name: c
      image: {image}
      ports: [{{containerPort: 8000, name: http}}]
      resources: {{requests: {{cpu: 10m, memory: 8Mi}}, limits: {{cpu: 10m, memory: 8Mi}}}}
      readinessProbe: {{httpGet: {{path: /, port: {port}}}}}
      livenessProbe: {{tcpSocket: {{port: http}}}}
      securityContext: {{readOnlyRootFilesystem: true}}
"""


def _rules(text: str) -> set[str]:
    return {f.rule for f in check_policy(load_text(text))}


def test_every_rule_has_a_plain_words_explanation() -> None:
    assert set(RULES) == set(EXPLANATIONS)
    assert len(RULES) == 10
    assert all(len(text) > 60 for text in EXPLANATIONS.values())


@pytest.mark.parametrize(
    ("image", "flagged"),
    [
        ("demo:1.0", False),
        ("demo", True),
        ("demo:latest", True),
        ("host:5000/demo", True),
        ("host:5000/demo:2", False),
        ("demo@sha256:" + "a" * 64, False),
    ],
)
def test_image_tags(image: str, flagged: bool) -> None:
    assert ("image-tag" in _rules(POD.format(image=image, port=8000))) is flagged


@pytest.mark.parametrize(("port", "flagged"), [(8000, False), ("http", False), (9000, True), ("web", True)])
def test_probe_ports_by_number_and_name(port: object, flagged: bool) -> None:
    assert ("probe-port-mismatch" in _rules(POD.format(image="d:1", port=port))) is flagged


def test_inline_secret_finding_never_shows_the_value() -> None:
    value = "s3cr3t-" + "x" * 12
    text = POD.format(image="d:1", port=8000).replace(
        "      ports:", f"      env: [{{name: DB_PASSWORD, value: {value}}}]\n      ports:"
    )
    findings = [f for f in check_policy(load_text(text)) if f.rule == "inline-secret"]
    assert findings and value not in findings[0].message


def test_secret_known_in_the_set_or_in_the_cluster_is_not_missing() -> None:
    pod = POD.format(image="d:1", port=8000).replace(
        "      ports:", "      env: [{name: K, valueFrom: {secretKeyRef: {name: s, key: k}}}]\n      ports:"
    )
    assert "secret-missing" in _rules(pod)
    secret = "---\napiVersion: v1\nkind: Secret\nmetadata: {name: s}\n"
    assert "secret-missing" not in _rules(pod + secret)
    asked: list[tuple[str, str]] = []
    found = check_policy(load_text(pod), secret_exists=lambda ns, name: asked.append((ns, name)) or True)
    assert asked == [("default", "s")] and not [f for f in found if f.rule == "secret-missing"]


def test_invalid_yaml_names_file_line_and_column() -> None:
    with pytest.raises(ManifestError, match=r"f\.yaml:2:5: invalid YAML: mapping values are not allowed"):
        load_text("a: 1\nb: c: d\n", "f.yaml")


def test_unknown_kind_and_api_version_are_named_and_explained() -> None:
    [finding] = validate_schema(
        load_text("apiVersion: policy/v1beta1\nkind: PodDisruptionBudget\nmetadata: {name: x}\n")
    )
    assert finding.rule == "unknown-kind"
    assert "PodDisruptionBudget" in finding.message and "policy/v1beta1" in finding.message
    assert "api-resources" in finding.explanation


def test_server_messages_get_explanations() -> None:
    msg = (
        'resource mapping not found for name: "x": no matches for kind "PodDisruptionBudget" in version "v1"'
    )
    assert "1.20" in explain_server_message(msg)
    assert "apply it first" in explain_server_message('namespaces "labkit" not found')


@pytest.mark.parametrize("overlay", ["local", "prod"])
def test_project_overlays_are_clean_but_for_the_secret_made_at_deploy_time(overlay: str) -> None:
    # The API-key Secret is never in a file (it is created from memory at deploy time), so a
    # bare check names exactly it, once per agent Deployment, and nothing else.
    findings = check_paths([ROOT / "k8s" / "overlays" / overlay])
    assert {f.rule for f in findings} == {"secret-missing"}
    assert all("'labkit-api-key'" in f.message and f.kind == "Deployment" for f in findings)
    assert {f.name for f in findings} >= {"prompt-reviewer", "code-critic-supervisor"}


def test_prod_overlay_has_the_production_shape() -> None:
    from labkit.k8s.render import load

    objs = {(m.kind, m.name): m.obj for m in load([ROOT / "k8s" / "overlays" / "prod"])}
    deploy = objs[("Deployment", "prompt-reviewer")]
    assert deploy["spec"]["replicas"] >= 2
    assert deploy["spec"]["strategy"]["type"] == "RollingUpdate"
    assert objs[("PodDisruptionBudget", "prompt-reviewer")]["apiVersion"] == "policy/v1"
    assert objs[("HorizontalPodAutoscaler", "prompt-reviewer")]["apiVersion"] == "autoscaling/v2"
    env = deploy["spec"]["template"]["spec"]["containers"][0]["env"]
    assert env[0]["valueFrom"]["secretKeyRef"]["name"] == "labkit-api-key"


def test_local_overlay_uses_local_images_and_one_replica() -> None:
    from labkit.k8s.render import load

    for m in load([ROOT / "k8s" / "overlays" / "local"]):
        if m.kind == "Deployment":
            # The Prompt Reviewer runs 2, so a rolling update always has one serving.
            assert m.obj["spec"]["replicas"] == (2 if m.name == "prompt-reviewer" else 1)
            container = m.obj["spec"]["template"]["spec"]["containers"][0]
            assert container["imagePullPolicy"] == "Never"
            assert m.namespace == "labkit"
