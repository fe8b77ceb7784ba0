"""The agents in production shape on Kubernetes: images, the API-key Secret, deploy, rollouts.

What notebook 11 and ``benchmarks/k8s_rollout.py`` call, kept here so they stay thin:

- ``ensure_images``: the agents' images built once by ``labkit.containers`` (offline) and
  made available to the cluster (``labkit.k8s.images.load_image``);
- ``create_api_key_secret``: the Secret ``labkit-api-key`` from the host's
  ``ANTHROPIC_API_KEY``, or a clearly fake offline key; the value goes from memory to the
  API server on kubectl's stdin, never into argv, a file, a manifest or an output;
- ``manifests`` / ``preflight`` / ``deploy``: the ``k8s/`` overlay rendered, the OTLP address
  pods use filled in, checked (policy + the cluster's Secrets) and applied, with the
  rollout waited for;
- ``pod_otlp_endpoint``: where pods send OTLP (``labkit.k8s.telemetry`` when present).
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.config import Settings, load_settings
from labkit.k8s.apply import apply, wait_rollout
from labkit.k8s.check import cluster_secret_lookup
from labkit.k8s.errors import K8sError
from labkit.k8s.findings import Finding
from labkit.k8s.kubectl import KubectlError, Target, kubectl, target
from labkit.k8s.manifests import Manifest
from labkit.k8s.policy import check_policy
from labkit.k8s.render import load

__all__ = [
    "AGENT_IMAGE",
    "NAMESPACE",
    "SECRET_KEY",
    "SECRET_NAME",
    "Deployed",
    "api_key_for_pods",
    "create_api_key_secret",
    "deploy",
    "ensure_images",
    "k8s_root",
    "manifests",
    "pod_otlp_endpoint",
    "preflight",
    "served_apis",
]

NAMESPACE = "labkit"
SECRET_NAME = "labkit-api-key"
SECRET_KEY = "ANTHROPIC_API_KEY"
AGENT_IMAGE = "labkit/prompt-reviewer"
# A fake key says so in its own text: nobody mistakes it for a leaked real one.
FAKE_KEY_PREFIX = "offline-fake-key-"
CRITIC_ROLES = ("style", "security", "complexity", "tests", "supervisor")


def k8s_root() -> Path:
    """The project's ``k8s/`` folder (base + overlays)."""
    return Path(__file__).resolve().parents[2] / "k8s"


# --- images ------------------------------------------------------------------------------


def _image_present(tag: str) -> bool:
    import docker

    try:
        docker.from_env().images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


def ensure_images(
    tag: str = f"{AGENT_IMAGE}:0.1.0",
    *,
    extra_tags: tuple[str, ...] = (),
    critic: bool = False,
    tgt: Target | None = None,
    progress: Any = None,
) -> dict[str, str]:
    """Build the Prompt Reviewer image once if missing (and the Code Critic's with ``critic``),
    tag it under ``extra_tags`` too, load each into the cluster; return ``{tag: how}``."""
    import tempfile

    import docker

    from labkit.k8s.images import load_image

    say = progress or (lambda _line: None)
    how: dict[str, str] = {}
    if _image_present(tag):
        how[tag] = "present"
    else:
        from labkit.agents.prompt_reviewer import image

        with tempfile.TemporaryDirectory(prefix="labkit-pr-image-") as tmp:
            image.build(Path(tmp) / "context", tag, progress=say)
        how[tag] = "built"
    built = docker.from_env().images.get(tag)
    for extra in extra_tags:
        # Same bits under a new version tag: enough for Kubernetes to see a new template.
        repo, _, version = extra.rpartition(":")
        built.tag(repo, version)
        how[extra] = f"tagged from {tag}"
    if critic:
        how.update(_ensure_critic_images(tag.rpartition(":")[2], say))
    for name in list(how):
        how[name] += f"; {load_image(name, tgt)}"
    return how


def _ensure_critic_images(version: str, say: Any) -> dict[str, str]:
    """The five Code Critic images (one Dockerfile, ROLE as build argument) under ``version``."""
    from labkit.agents.code_critic.stack import prepare_context, stack_dir
    from labkit.containers import build_image

    tags = {role: f"labkit/code-critic-{role}:{version}" for role in CRITIC_ROLES}
    if all(_image_present(t) for t in tags.values()):
        return dict.fromkeys(tags.values(), "present")
    args = prepare_context(progress=say)
    out = {}
    for role, tag in tags.items():
        if _image_present(tag):
            out[tag] = "present"
            continue
        build_image(
            stack_dir(),
            tag=tag,
            build_args={**args, "ROLE": role},
            wheelhouse=False,
            allow_pull=False,
            progress=say,
        )
        out[tag] = "built"
    return out


# --- the Secret --------------------------------------------------------------------------


def api_key_for_pods(environ: dict[str, str] | None = None) -> tuple[str, str]:
    """(what it is, value): the host's ANTHROPIC_API_KEY, else a fresh, clearly fake key."""
    env = os.environ if environ is None else environ
    key = env.get("ANTHROPIC_API_KEY") or env.get("LABKIT_ANTHROPIC_API_KEY") or ""
    if key:
        return "the host's ANTHROPIC_API_KEY", key
    return "a fake offline key (no ANTHROPIC_API_KEY on the host)", FAKE_KEY_PREFIX + secrets.token_hex(8)


def create_api_key_secret(
    namespace: str = NAMESPACE,
    *,
    name: str = SECRET_NAME,
    environ: dict[str, str] | None = None,
    tgt: Target | None = None,
) -> str:
    """Create or update the Secret from memory; return a description that never holds the value.

    The object goes to ``kubectl apply -f -`` on stdin: a ``--from-literal`` would put the key
    in the process list, a file would leave it on disk.
    """
    what, value = api_key_for_pods(environ)
    obj = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app.kubernetes.io/part-of": "labkit"},
        },
        "type": "Opaque",
        "stringData": {SECRET_KEY: value},
    }
    try:
        kubectl("apply", "-f", "-", tgt=tgt, input=json.dumps(obj))
    except KubectlError as exc:
        # kubectl never echoes stdin, but be sure: the message must not carry the value.
        raise K8sError(
            f"creating secret/{name} in {namespace} failed: {exc.stderr.replace(value, '****')}"
        ) from None
    return f"secret/{name} in namespace {namespace}: {what} ({len(value)} characters, value not shown)"


# --- telemetry address -------------------------------------------------------------------


def pod_otlp_endpoint(settings: Settings | None = None, tgt: Target | None = None) -> str | None:
    """The OTLP/HTTP URL pods reach the embedded server at, or None where labkit cannot say.

    A server started with ``listen_pod_network`` listens on the bridge address itself
    (``labkit.k8s.telemetry``). One started without it (the default, e.g. by ``labkit run``) is
    reached through a relay bound to the bridge address only (``labkit.k8s._relay``), so a
    notebook never needs the server restarted. A live cluster sends to its Alloy DaemonSet
    instead: None here.
    """
    from labkit.k8s import telemetry

    settings = settings or load_settings()
    if (tgt or target(settings)).kind != "embedded":
        return None
    if settings.listen_pod_network:
        return telemetry.pod_otlp_endpoint(settings)
    from labkit.k8s._relay import relay_endpoint
    from labkit.k8s.layout import Net

    return relay_endpoint(settings.otlp_http_endpoint, Net().node_ip)


# --- manifests, checks, deploy -----------------------------------------------------------


def served_apis(tgt: Target | None = None) -> set[str]:
    """``group/version`` strings the server serves (``kubectl api-versions``)."""
    return set(kubectl("api-versions", tgt=tgt, timeout_s=30).stdout.split())


def _adapt(obj: dict[str, Any], apis: set[str] | None) -> dict[str, Any]:
    """Current API versions the server lacks, lowered to the older one it serves (same fields)."""
    if apis is None:
        return obj
    if (
        obj.get("kind") == "PodDisruptionBudget"
        and obj.get("apiVersion") == "policy/v1"
        and "policy/v1" not in apis
        and "policy/v1beta1" in apis
    ):
        return {**obj, "apiVersion": "policy/v1beta1"}
    return obj


def manifests(
    overlay: str = "local",
    *,
    apps: tuple[str, ...] | None = ("prompt-reviewer",),
    otlp_endpoint: str | None = None,
    apis: set[str] | None = None,
) -> list[Manifest]:
    """The overlay rendered; only ``apps`` (by ``app.kubernetes.io/name``) plus the Namespace;
    ``OTEL_EXPORTER_OTLP_ENDPOINT`` filled into the agents' ConfigMaps when given."""
    out: list[Manifest] = []
    for m in load([k8s_root() / "overlays" / overlay]):
        labels = (m.obj.get("metadata") or {}).get("labels") or {}
        name = labels.get("app.kubernetes.io/name", "")
        if apps is not None and m.kind != "Namespace" and not any(name.startswith(a) for a in apps):
            continue
        obj = _adapt(m.obj, apis)
        if otlp_endpoint and m.kind == "ConfigMap" and name != "demo-app":
            obj = {**obj, "data": {**(obj.get("data") or {}), "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint}}
        out.append(Manifest(obj, m.source, m.line))
    return _hash_configs(out)


def _hash_configs(objs: list[Manifest]) -> list[Manifest]:
    """Stamp each Deployment's pod template with a hash of the ConfigMaps it reads.

    Env from a ConfigMap is read when the container starts: a changed ConfigMap alone restarts
    nothing. A changed hash changes the template, so the Deployment rolls out (the usual
    ``checksum/config`` annotation).
    """
    import hashlib

    configs = {m.name: m.obj.get("data") or {} for m in objs if m.kind == "ConfigMap"}
    out = []
    for m in objs:
        if m.kind != "Deployment":
            out.append(m)
            continue
        template = m.obj["spec"]["template"]
        refs = sorted(
            {
                src["configMapRef"]["name"]
                for c in template["spec"].get("containers", [])
                for src in c.get("envFrom") or []
                if "configMapRef" in src
            }
        )
        digest = hashlib.sha256(
            json.dumps({r: configs.get(r) for r in refs}, sort_keys=True).encode()
        ).hexdigest()[:16]
        meta = template.get("metadata") or {}
        annotations = {**(meta.get("annotations") or {}), "labkit.dev/config-hash": digest}
        stamped = {**template, "metadata": {**meta, "annotations": annotations}}
        obj = {**m.obj, "spec": {**m.obj["spec"], "template": stamped}}
        out.append(Manifest(obj, m.source, m.line))
    return out


def preflight(objs: list[Manifest], *, tgt: Target | None = None) -> list[Finding]:
    """Policy findings of ``objs`` with the cluster asked about Secrets the files do not hold."""
    return check_policy(objs, secret_exists=cluster_secret_lookup(tgt or target()))


@dataclass
class Deployed:
    lines: list[str]
    secret: str
    otlp_endpoint: str | None
    rollout_s: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0


def deploy(
    overlay: str = "local",
    *,
    apps: tuple[str, ...] = ("prompt-reviewer",),
    settings: Settings | None = None,
    tgt: Target | None = None,
    timeout_s: float = 90.0,
) -> Deployed:
    """Namespace, Secret, then the rest of the overlay after the preflight; wait for rollouts.

    Refuses to apply (K8sError listing them) when the preflight finds a Secret missing: such
    pods would sit in CreateContainerConfigError.
    """
    started = time.monotonic()
    settings = settings or load_settings()
    tgt = tgt or target(settings)
    endpoint = pod_otlp_endpoint(settings, tgt)
    objs = manifests(overlay, apps=apps, otlp_endpoint=endpoint, apis=served_apis(tgt))
    namespaces = [m for m in objs if m.kind == "Namespace"]
    lines = apply(namespaces, tgt=tgt).lines if namespaces else []
    secret = create_api_key_secret(NAMESPACE, tgt=tgt)
    missing = [f for f in preflight(objs, tgt=tgt) if f.rule == "secret-missing"]
    if missing:
        raise K8sError("not applied: " + "; ".join(f"{f.kind}/{f.name}: {f.message}" for f in missing))
    rest = [m for m in objs if m.kind != "Namespace"]
    lines += apply(rest, tgt=tgt).lines
    rollouts: dict[str, float] = {}
    deadline = time.monotonic() + timeout_s
    for m in rest:
        if m.kind == "Deployment":
            rollouts[m.name] = wait_rollout(
                "Deployment", m.name, m.namespace, timeout_s=max(1.0, deadline - time.monotonic()), tgt=tgt
            )
    _wait_services_answer([m for m in rest if m.kind == "Service"], deadline, tgt)
    return Deployed(lines, secret, endpoint, rollouts, time.monotonic() - started)


def _wait_services_answer(services: list[Manifest], deadline: float, tgt: Target) -> None:
    """Wait until each Service answers on its ClusterIP (where the host reaches ClusterIPs).

    A finished rollout is not yet a reachable Service: the endpoints controller and then
    kube-proxy must catch up, and until they do a call from one agent to another through the
    Service is refused.
    """
    from labkit.k8s.load import service_url

    if tgt.kind != "embedded":
        return  # a live cluster's ClusterIPs are rarely routable from the host
    for svc in services:
        while service_url(svc.name, namespace=svc.namespace or NAMESPACE, tgt=tgt) is None:
            if time.monotonic() > deadline:
                raise K8sError(f"service/{svc.name} does not answer on its ClusterIP after the rollout")
            time.sleep(0.5)


# --- rollouts under load -----------------------------------------------------------------


@dataclass
class RolloutUnderLoad:
    image: str
    rollout_s: float
    load: dict[str, Any]
    failures: list[tuple[float, str]] = field(repr=False)
    pods_before: list[str]
    pods_after: list[str]
    per_second: list[tuple[int, int, int]] = field(repr=False)
    rollout_window_s: tuple[float, float] = (0.0, 0.0)  # since the load started


def _pod_names(selector: str, namespace: str, tgt: Target | None) -> list[str]:
    from labkit.k8s.read import get_json

    pods = get_json("pods", namespace=namespace, selector=selector, tgt=tgt)["items"]
    return sorted(p["metadata"]["name"] for p in pods if not p["metadata"].get("deletionTimestamp"))


def rolling_update_under_load(
    url: str,
    *,
    image: str | None = None,
    undo: bool = False,
    deployment: str = "prompt-reviewer",
    container: str = "agent",
    namespace: str = NAMESPACE,
    rate_per_s: float = 40.0,
    settle_s: float = 1.0,
    timeout_s: float = 120.0,
    tgt: Target | None = None,
) -> RolloutUnderLoad:
    """``kubectl set image`` (or ``rollout undo``) while a TrafficGenerator sends to ``url``
    from ``settle_s`` before until ``settle_s`` after the rollout; every failure is counted."""
    from labkit.k8s.load import TrafficGenerator

    if (image is None) == (not undo):
        raise ValueError("give either image=... or undo=True")
    selector = f"app.kubernetes.io/name={deployment}"
    before = _pod_names(selector, namespace, tgt)
    with TrafficGenerator(url, rate_per_s=rate_per_s) as gen:
        time.sleep(settle_s)
        window_start = time.monotonic() - gen._started
        if undo:
            kubectl("rollout", "undo", f"deployment/{deployment}", "-n", namespace, tgt=tgt)
        else:
            kubectl(
                "set", "image", f"deployment/{deployment}", f"{container}={image}", "-n", namespace, tgt=tgt
            )
        seconds = wait_rollout("Deployment", deployment, namespace, timeout_s=timeout_s, tgt=tgt)
        window = (window_start, window_start + seconds)
        # Old pods are still draining (preStop, then SIGTERM): keep the load on until they are gone.
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and len(_pod_names(selector, namespace, tgt)) > len(before):
            time.sleep(0.5)
        _wait_terminated(selector, namespace, tgt, deadline)
        time.sleep(settle_s)
    current = json.loads(
        kubectl("get", "deployment", deployment, "-n", namespace, "-o", "json", tgt=tgt).stdout
    )["spec"]["template"]["spec"]["containers"][0]["image"]
    return RolloutUnderLoad(
        current,
        seconds,
        gen.stats.as_dict(),
        list(gen.stats.failures),
        before,
        _pod_names(selector, namespace, tgt),
        gen.stats.per_second(),
        window,
    )


def serving_pods(
    deployment: str = "prompt-reviewer",
    namespace: str = NAMESPACE,
    *,
    timeout_s: float = 90.0,
    tgt: Target | None = None,
) -> Any:
    """``kubectl get pods`` of the Deployment, without pods already Terminating (they left the
    Service's endpoints), once only its desired, ready pods remain; the last table at the deadline."""
    from labkit.k8s.read import get, get_json

    selector = f"app.kubernetes.io/name={deployment}"
    want = get_json("deployment", deployment, namespace=namespace, tgt=tgt)["spec"].get("replicas", 1)
    deadline = time.monotonic() + timeout_s
    while True:
        pods = get("pods", namespace=namespace, selector=selector, tgt=tgt)
        if not pods.empty:
            pods = pods[pods["status"] != "Terminating"].reset_index(drop=True)
        if (len(pods) == want and (pods["ready"] == "1/1").all()) or time.monotonic() > deadline:
            return pods
        time.sleep(1.0)


def rollout_stuck(
    name: str, namespace: str = NAMESPACE, *, wait_s: float = 8.0, tgt: Target | None = None
) -> list[str]:
    """Wait up to ``wait_s`` for Deployment ``name``'s rollout: [] when done, else why it is stuck."""
    from labkit.k8s.errors import RolloutTimeout

    try:
        wait_rollout("Deployment", name, namespace, timeout_s=wait_s, tgt=tgt)
    except RolloutTimeout as exc:
        return [str(exc).splitlines()[0], *exc.events]
    return []


def _wait_terminated(selector: str, namespace: str, tgt: Target | None, deadline: float) -> None:
    from labkit.k8s.read import get_json

    while time.monotonic() < deadline:
        pods = get_json("pods", namespace=namespace, selector=selector, tgt=tgt)["items"]
        if not any(p["metadata"].get("deletionTimestamp") for p in pods):
            return
        time.sleep(0.5)
