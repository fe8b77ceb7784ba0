"""On the cluster: deploy the Prompt Reviewer, roll it under load with zero failed requests,
and refuse to apply when the Secret is missing."""

from __future__ import annotations

import secrets

import pytest

from labkit.k8s import production
from labkit.k8s.errors import K8sError
from labkit.k8s.kubectl import Target
from labkit.k8s.load import service_url
from labkit.k8s.read import get_json

pytestmark = [pytest.mark.kubernetes, pytest.mark.docker]


def test_rolling_update_under_load_loses_no_request(k8s_target: Target, agent_image: str) -> None:
    production.deploy("local", tgt=k8s_target, timeout_s=120)
    url = service_url("prompt-reviewer", tgt=k8s_target)
    assert url, "the Service's ClusterIP is not reachable from the host"
    update = production.rolling_update_under_load(
        url, image=production.AGENT_IMAGE + ":0.1.1", rate_per_s=30, tgt=k8s_target
    )
    assert update.load["failed"] == 0, (update.load, update.failures[:10])
    assert update.load["sent"] >= 300 and update.load["reviews"] > 0
    assert not set(update.pods_before) & set(update.pods_after)
    back = production.rolling_update_under_load(url, undo=True, rate_per_s=30, tgt=k8s_target)
    assert back.load["failed"] == 0, (back.load, back.failures[:10])
    assert back.image == agent_image


def test_pod_gets_the_secret_but_no_output_shows_it(k8s_target: Target, agent_image: str) -> None:
    from labkit.k8s.read import exec_in

    key = "sk-ant-test-" + secrets.token_hex(16)  # a sentinel made per run, never a real key
    said = production.create_api_key_secret(environ={"ANTHROPIC_API_KEY": key}, tgt=k8s_target)
    assert key not in said
    production.deploy(
        "local", tgt=k8s_target, timeout_s=120
    )  # same Secret name: re-applied with the host key
    production.create_api_key_secret(environ={"ANTHROPIC_API_KEY": key}, tgt=k8s_target)
    # Env from a Secret is read at container start: restart to pick this value up.
    from labkit.k8s.kubectl import kubectl

    kubectl("rollout", "restart", "deployment/prompt-reviewer", "-n", "labkit", tgt=k8s_target)
    from labkit.k8s.apply import wait_rollout

    wait_rollout("Deployment", "prompt-reviewer", "labkit", timeout_s=120, tgt=k8s_target)
    pods = production.serving_pods(tgt=k8s_target)
    seen = exec_in(
        f"pod/{pods['name'].iloc[0]}", ["printenv", "ANTHROPIC_API_KEY"], namespace="labkit", tgt=k8s_target
    )
    assert seen.strip() == key  # compared here, never printed
    described = get_json("deployment", "prompt-reviewer", namespace="labkit", tgt=k8s_target)
    assert key not in str(described)  # the Deployment refers to the Secret, never holds the value
    production.create_api_key_secret(environ={}, tgt=k8s_target)  # back to a fake key


def test_deploy_refuses_when_a_referenced_secret_is_missing(
    k8s_target: Target, agent_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = production.manifests

    def with_extra_secret(*args: object, **kw: object) -> list:
        objs = real(*args, **kw)  # type: ignore[arg-type]
        for m in objs:
            if m.kind == "Deployment":
                env = m.obj["spec"]["template"]["spec"]["containers"][0]["env"]
                env.append(
                    {"name": "DB", "valueFrom": {"secretKeyRef": {"name": "nobody-made-me", "key": "k"}}}
                )
        return objs

    monkeypatch.setattr(production, "manifests", with_extra_secret)
    with pytest.raises(K8sError, match="nobody-made-me"):
        production.deploy("local", tgt=k8s_target, timeout_s=30)


def test_code_critic_reviews_through_its_specialists_on_the_cluster(k8s_target: Target) -> None:
    import httpx

    production.ensure_images(critic=True, tgt=k8s_target)
    production.deploy("local", apps=("code-critic",), tgt=k8s_target, timeout_s=240)
    url = service_url("code-critic-supervisor", tgt=k8s_target)
    assert url, "the supervisor's ClusterIP is not reachable from the host"
    body = {"files": [{"path": "app.py", "text": "import os\ndef f(x):\n    return eval(x)\n"}]}
    result = httpx.post(url + "/review", json=body, timeout=180).json()
    # The supervisor reached each specialist through its Service (pod -> ClusterIP).
    errors = {name: s["errors"] for name, s in result["specialists"].items() if s["errors"]}
    assert errors == {}, errors
    security = result["specialists"]["security"]["findings"]
    assert any(f["rule_id"] == "B307" for f in security), result["review"]
