"""The agents' production manifests, the preflight and the Secret (no cluster needed)."""

from __future__ import annotations

import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from labkit.k8s import production
from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import Target
from labkit.k8s.manifests import Manifest
from labkit.k8s.policy import check_policy
from labkit.k8s.validate import validate_schema

ROOT = Path(__file__).resolve().parents[2]
AGENTS = ("prompt-reviewer", "code-critic")


def _deployments(objs: list[Manifest]) -> list[Manifest]:
    return [m for m in objs if m.kind == "Deployment" and m.name != "demo-app"]


@pytest.mark.parametrize("overlay", ["local", "prod"])
def test_agent_manifests_render_and_validate(overlay: str) -> None:
    objs = production.manifests(overlay, apps=None)
    assert validate_schema(objs) == []
    names = {m.name for m in _deployments(objs)}
    assert names == {"prompt-reviewer"} | {f"code-critic-{r}" for r in production.CRITIC_ROLES}


@pytest.mark.parametrize("overlay", ["local", "prod"])
def test_every_agent_has_the_production_shape(overlay: str) -> None:
    for m in _deployments(production.manifests(overlay, apps=AGENTS)):
        spec = m.obj["spec"]
        assert spec["strategy"]["rollingUpdate"]["maxUnavailable"] == 0, m.name
        (c,) = spec["template"]["spec"]["containers"]
        assert c["name"] == "agent"
        assert c["readinessProbe"]["httpGet"]["path"] == "/health" == c["livenessProbe"]["httpGet"]["path"]
        assert set(c["resources"]["requests"]) == set(c["resources"]["limits"]) == {"cpu", "memory"}
        assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "python3"
        env = {e["name"]: e for e in c["env"]}
        ref = env["ANTHROPIC_API_KEY"]["valueFrom"]["secretKeyRef"]
        assert ref["name"] == production.SECRET_NAME and not ref.get("optional")
        assert env["K8S_POD_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.name"
        assert env["K8S_NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
        attrs = env["OTEL_RESOURCE_ATTRIBUTES"]["value"]
        for key in (
            "k8s.namespace.name=$(K8S_NAMESPACE)",
            "k8s.pod.name=$(K8S_POD_NAME)",
            "k8s.node.name=$(K8S_NODE_NAME)",
            f"k8s.deployment.name={m.name}",
        ):
            assert key in attrs, (m.name, key)
        # Downward-API variables must come before the value that refers to them.
        order = [e["name"] for e in c["env"]]
        assert order.index("K8S_NODE_NAME") < order.index("OTEL_RESOURCE_ATTRIBUTES")


def test_local_overlay_has_a_pdb_and_the_offline_model() -> None:
    objs = {(m.kind, m.name): m.obj for m in production.manifests("local", apps=None)}
    assert objs[("PodDisruptionBudget", "prompt-reviewer")]["spec"]["minAvailable"] == 1
    assert objs[("ConfigMap", "prompt-reviewer-config")]["data"]["LABKIT_BACKEND"] == "embedded"
    assert objs[("Deployment", "prompt-reviewer")]["spec"]["replicas"] == 2


def test_pdb_is_lowered_to_v1beta1_only_where_the_server_lacks_policy_v1() -> None:
    old = production.manifests("local", apis={"v1", "apps/v1", "policy/v1beta1"})
    new = production.manifests("local", apis={"v1", "apps/v1", "policy/v1", "policy/v1beta1"})
    pdb = lambda objs: next(m for m in objs if m.kind == "PodDisruptionBudget")  # noqa: E731
    assert pdb(old).api_version == "policy/v1beta1"
    assert pdb(new).api_version == "policy/v1"


def test_otlp_endpoint_goes_into_the_config_and_a_change_rolls_the_pods() -> None:
    a = production.manifests("local", otlp_endpoint="http://10.244.0.1:4318")
    b = production.manifests("local", otlp_endpoint="http://10.244.0.1:4319")
    cm = next(m for m in a if m.kind == "ConfigMap")
    assert cm.obj["data"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://10.244.0.1:4318"

    def stamp(objs: list[Manifest]) -> str:
        dep = next(m for m in objs if m.kind == "Deployment")
        return dep.obj["spec"]["template"]["metadata"]["annotations"]["labkit.dev/config-hash"]

    assert stamp(a) != stamp(b)
    assert stamp(a) == stamp(production.manifests("local", otlp_endpoint="http://10.244.0.1:4318"))


def test_preflight_catches_a_missing_secret_before_apply() -> None:
    objs = production.manifests("local")
    missing = [
        f for f in check_policy(objs, secret_exists=lambda ns, name: False) if f.rule == "secret-missing"
    ]
    assert [(f.kind, f.name) for f in missing] == [("Deployment", "prompt-reviewer")]
    assert "CreateContainerConfigError" in missing[0].explanation
    asked: list[tuple[str, str]] = []

    def exists(ns: str, name: str) -> bool:
        asked.append((ns, name))
        return True

    assert [f for f in check_policy(objs, secret_exists=exists) if f.rule == "secret-missing"] == []
    assert asked == [("labkit", production.SECRET_NAME)]


def test_fake_key_says_it_is_fake_and_the_host_key_is_used_when_set() -> None:
    what, value = production.api_key_for_pods({})
    assert value.startswith(production.FAKE_KEY_PREFIX) and "fake" in what
    assert production.api_key_for_pods({})[1] != value  # fresh each time, never a fixed string
    host_key = "sk-ant-test-" + secrets.token_hex(8)
    what, value = production.api_key_for_pods({"ANTHROPIC_API_KEY": host_key})
    assert value == host_key and "host" in what


def test_secret_goes_on_stdin_and_never_into_argv_or_the_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    key = "sk-ant-test-" + secrets.token_hex(8)
    calls: list[dict[str, Any]] = []

    def fake_kubectl(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        calls.append({"args": args, **kw})
        return subprocess.CompletedProcess(args, 0, "secret/labkit-api-key created\n", "")

    monkeypatch.setattr(production, "kubectl", fake_kubectl)
    said = production.create_api_key_secret(
        environ={"ANTHROPIC_API_KEY": key}, tgt=Target("embedded", None, None)
    )
    assert key not in said and "host" in said
    (call,) = calls
    assert all(key not in a for a in call["args"])
    obj = json.loads(call["input"])
    assert obj["kind"] == "Secret" and obj["stringData"] == {"ANTHROPIC_API_KEY": key}


def test_a_failed_secret_creation_does_not_echo_the_value(monkeypatch: pytest.MonkeyPatch) -> None:
    from labkit.k8s.kubectl import KubectlError

    key = "sk-ant-test-" + secrets.token_hex(8)

    def failing(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
        raise KubectlError(list(args), 1, f"error: bad object {key}")

    monkeypatch.setattr(production, "kubectl", failing)
    with pytest.raises(K8sError) as info:
        production.create_api_key_secret(
            environ={"ANTHROPIC_API_KEY": key}, tgt=Target("embedded", None, None)
        )
    assert key not in str(info.value) and "****" in str(info.value)


def test_failure_manifests_pass_schema_and_name_what_breaks_them() -> None:
    from labkit.k8s import failures

    objs = [
        Manifest(o, "failures", 1)
        for o in (
            failures.missing_secret_deployment("labkit/prompt-reviewer:0.1.0"),
            failures.missing_image_pod("labkit/prompt-reviewer:0.1.9"),
            failures.oom_pod("labkit/prompt-reviewer:0.1.0", limit="64Mi"),
        )
    ]
    assert validate_schema(objs) == []
    rules = {(f.name, f.rule) for f in check_policy(objs)}
    assert ("needs-secret", "secret-missing") in rules
    assert objs[2].obj["spec"]["containers"][0]["resources"]["limits"]["memory"] == "64Mi"
    assert set(failures.EXPLAIN) == {"CreateContainerConfigError", "ErrImageNeverPull", "OOMKilled"}


def test_hanging_rollout_exercise_is_broken_only_by_its_readiness_path() -> None:
    from labkit.k8s.manifests import load_files

    path = ROOT / "notebooks" / "11-production" / "exercises" / "hanging-rollout.yaml"
    (m,) = load_files([path])
    probe = m.obj["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]
    assert probe["httpGet"]["path"] == "/ready"
    assert check_policy([m]) == []  # nothing a static check can see: the cluster has to show it


def test_pods_route_only_the_service_range_via_the_node() -> None:
    from labkit.k8s.configs import _cni_conflist
    from labkit.k8s.layout import NET, Layout

    conf = _cni_conflist(Layout.for_data_dir(Path("/nonexistent")), NET)
    ipam = conf["plugins"][0]["ipam"]  # type: ignore[index]
    assert ipam["routes"] == [{"dst": NET.service_cidr}]  # no default route: nothing leaves the machine
    assert conf["plugins"][0]["ipMasq"] is False  # type: ignore[index]
