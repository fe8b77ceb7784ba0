"""Policy checks on manifests, each finding explained in plain words.

Schema validation says whether the cluster will *accept* an object; these checks say
whether it will *behave*: a pod without limits can starve its node, a probe on the wrong
port restarts a healthy app forever, a Service whose selector matches nothing has no
endpoints. Checks look at the whole set of objects, so cross-object mistakes (a selector
that matches no pod template, a secret that is never created) are found before applying.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from labkit.k8s.findings import Finding
from labkit.k8s.manifests import Manifest, pod_spec

__all__ = ["EXPLANATIONS", "RULES", "check_policy"]

RULES = {
    "resources-missing": "container without CPU/memory requests and limits",
    "probe-missing": "container without a liveness or readiness probe",
    "probe-port-mismatch": "probe port matches no container port",
    "image-tag": "image is ':latest' or has no tag",
    "inline-secret": "secret value written inline in env",
    "secret-missing": "secretKeyRef to a secret that does not exist",
    "runs-as-root": "container may run as root",
    "writable-root-fs": "root filesystem is writable",
    "selector-mismatch": "selector does not match the pod template's labels",
    "service-target-port": "Service targetPort matches no container port",
}

EXPLANATIONS = {
    "resources-missing": "Without requests the scheduler cannot know how much room the pod needs, and "
    "without limits one leaking pod can take all the node's memory or CPU and starve the others. Set "
    "resources.requests and resources.limits for cpu and memory.",
    "probe-missing": "Without a readinessProbe a pod gets traffic before it can answer; without a "
    "livenessProbe a hung app is never restarted. Add both, e.g. httpGet on /health.",
    "probe-port-mismatch": "The probe asks a port the container does not listen on, so it always fails: "
    "liveness then restarts a healthy app over and over (CrashLoopBackOff) and readiness keeps it out "
    "of the Service. Point the probe at one of the container's ports.",
    "image-tag": "':latest' (or no tag, which means latest) changes under you: two pods of the same "
    "Deployment can run different code, a rollback goes nowhere, and Kubernetes always tries to pull it. "
    "Pin a version tag or a digest.",
    "inline-secret": "The value is in the manifest, so it lands in git, in `kubectl get -o yaml` and in "
    "every copy of the file. Store it in a Secret and use valueFrom.secretKeyRef.",
    "secret-missing": "The pod refers to a Secret nobody creates, so its container never starts "
    "(CreateContainerConfigError). Create the Secret first (kubectl create secret ...) or fix the name.",
    "runs-as-root": "Nothing stops the process from running as root (uid 0): a bug in the app then has "
    "root's powers inside the container. Set securityContext.runAsNonRoot: true and a runAsUser.",
    "writable-root-fs": "An attacker (or a bug) can change the program's own files. Set "
    "securityContext.readOnlyRootFilesystem: true and mount an emptyDir where the app must write.",
    "selector-mismatch": "The selector decides which pods belong to the object. If it matches no pod "
    "template's labels, a Deployment is rejected (or owns no pods) and a Service has no endpoints, so "
    "traffic goes nowhere. Make the selector's labels a subset of spec.template.metadata.labels.",
    "service-target-port": "The Service forwards traffic to targetPort on the pods; no container there "
    "listens on it, so every connection is refused. Use one of the containers' ports (number or name).",
}

_SECRET_NAME = re.compile(r"(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_?KEY|CREDENTIAL)", re.I)
_WORKLOADS = ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "ReplicationController")
_LONG_RUNNING = ("Pod", *_WORKLOADS)


def _containers(spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in (spec.get("containers") or []) if isinstance(c, dict)]


def _template_labels(m: Manifest) -> dict[str, str]:
    if m.kind == "Pod":
        return dict((m.obj.get("metadata") or {}).get("labels") or {})
    template = (m.obj.get("spec") or {}).get("template") or {}
    return dict((template.get("metadata") or {}).get("labels") or {})


def _ports(container: dict[str, Any]) -> tuple[set[int], set[str]]:
    numbers, names = set(), set()
    for port in container.get("ports") or []:
        if isinstance(port, dict):
            if "containerPort" in port:
                numbers.add(int(port["containerPort"]))
            if port.get("name"):
                names.add(str(port["name"]))
    return numbers, names


def _port_matches(port: Any, numbers: set[int], names: set[str]) -> bool:
    if isinstance(port, int) or (isinstance(port, str) and port.isdigit()):
        return int(port) in numbers
    return str(port) in names


def _image_untagged(image: str) -> bool:
    if "@" in image:
        return False  # pinned by digest
    last = image.rsplit("/", 1)[-1]
    return ":" not in last or last.endswith(":latest")


def _security(spec: dict[str, Any], container: dict[str, Any]) -> tuple[bool, bool]:
    pod_sc = spec.get("securityContext") or {}
    sc = container.get("securityContext") or {}
    user = sc.get("runAsUser", pod_sc.get("runAsUser"))
    non_root = sc.get("runAsNonRoot", pod_sc.get("runAsNonRoot"))
    runs_root = user == 0 or not (non_root is True or (isinstance(user, int) and user > 0))
    read_only = sc.get("readOnlyRootFilesystem") is True
    return runs_root, not read_only


def _secret_refs(spec: dict[str, Any], container: dict[str, Any]) -> Iterable[str]:
    for env in container.get("env") or []:
        ref = ((env or {}).get("valueFrom") or {}).get("secretKeyRef")
        if ref and not ref.get("optional"):
            yield str(ref.get("name", ""))
    for source in container.get("envFrom") or []:
        ref = (source or {}).get("secretRef")
        if ref and not ref.get("optional"):
            yield str(ref.get("name", ""))


def _volume_secrets(spec: dict[str, Any]) -> Iterable[str]:
    for volume in spec.get("volumes") or []:
        secret = (volume or {}).get("secret")
        if secret and not secret.get("optional"):
            yield str(secret.get("secretName", ""))


def _container_checks(
    m: Manifest,
    spec: dict[str, Any],
    c: dict[str, Any],
    known_secrets: set[str],
    secret_exists: Callable[[str, str], bool] | None,
) -> Iterable[tuple[str, str]]:
    resources = c.get("resources") or {}
    requests, limits = resources.get("requests") or {}, resources.get("limits") or {}
    absent = [
        f"{kind}.{res}"
        for kind, table in (("requests", requests), ("limits", limits))
        for res in ("cpu", "memory")
        if res not in table
    ]
    if absent:
        yield "resources-missing", f"no resources {', '.join(absent)}"
    if m.kind in _LONG_RUNNING:
        missing = [p for p in ("livenessProbe", "readinessProbe") if not c.get(p)]
        if missing:
            yield "probe-missing", f"no {' and no '.join(missing)}"
    numbers, names = _ports(c)
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = c.get(probe_name) or {}
        action = probe.get("httpGet") or probe.get("tcpSocket") or probe.get("grpc")
        if not action or "port" not in action:
            continue
        port = action["port"]
        is_name = not (isinstance(port, int) or str(port).isdigit())
        if (numbers or names or is_name) and not _port_matches(port, numbers, names):
            declared = ", ".join([str(n) for n in sorted(numbers)] + sorted(names)) or "none"
            yield "probe-port-mismatch", f"{probe_name} uses port {port}; the container's ports: {declared}"
    image = str(c.get("image", ""))
    if image and _image_untagged(image):
        yield "image-tag", f"image {image!r} is not pinned to a version"
    for env in c.get("env") or []:
        if isinstance(env, dict) and env.get("value") and _SECRET_NAME.search(str(env.get("name", ""))):
            # Never echo the value: the finding itself must not leak the secret.
            yield (
                "inline-secret",
                f"env {env['name']} holds a literal value (length {len(str(env['value']))})",
            )
    for secret in [*_secret_refs(spec, c)]:
        if secret in known_secrets:
            continue
        if secret_exists is not None and secret_exists(m.namespace, secret):
            continue
        yield (
            "secret-missing",
            f"refers to Secret {secret!r}, which is neither in these files nor in the cluster",
        )
    runs_root, writable = _security(spec, c)
    if runs_root:
        yield "runs-as-root", "neither runAsNonRoot: true nor a non-zero runAsUser is set"
    if writable:
        yield "writable-root-fs", "readOnlyRootFilesystem is not true"


def _selector_matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def check_policy(
    manifests: list[Manifest],
    *,
    secret_exists: Callable[[str, str], bool] | None = None,
) -> list[Finding]:
    """Every policy finding over the set; ``secret_exists(namespace, name)`` asks a cluster."""
    findings: list[Finding] = []

    def add(m: Manifest, rule: str, container: str, message: str) -> None:
        findings.append(
            Finding(rule, m.source, m.line, m.kind, m.name, container, message, EXPLANATIONS[rule])
        )

    known_secrets = {m.name for m in manifests if m.kind == "Secret"}
    # kustomize secretGenerator output and `kubectl create secret` are the other sources.
    pods: list[tuple[Manifest, dict[str, str], list[dict[str, Any]]]] = []
    for m in manifests:
        spec = pod_spec(m)
        if spec is None:
            continue
        containers = _containers(spec)
        pods.append((m, _template_labels(m), containers))
        for c in [*containers, *[i for i in spec.get("initContainers") or [] if isinstance(i, dict)]]:
            is_init = c not in containers
            for rule, message in _container_checks(m, spec, c, known_secrets, secret_exists):
                if is_init and rule == "probe-missing":
                    continue  # init containers run to completion; probes do not apply
                add(m, rule, str(c.get("name", "")), message)
        for secret in _volume_secrets(spec):
            if secret not in known_secrets and not (secret_exists and secret_exists(m.namespace, secret)):
                add(
                    m,
                    "secret-missing",
                    "",
                    f"volume uses Secret {secret!r}, which is neither in these files nor in the cluster",
                )
        if m.kind in _WORKLOADS:
            selector = (m.obj.get("spec") or {}).get("selector") or {}
            match = selector.get("matchLabels", selector if m.kind == "ReplicationController" else {})
            if match and not _selector_matches(match, _template_labels(m)):
                add(
                    m,
                    "selector-mismatch",
                    "",
                    f"selector {match} does not match template labels {_template_labels(m)}",
                )

    for m in manifests:
        if m.kind != "Service":
            continue
        spec = m.obj.get("spec") or {}
        selector = spec.get("selector") or {}
        if not selector:
            continue  # a Service without selector has hand-made endpoints
        same_ns = [p for p in pods if p[0].namespace == m.namespace]
        selected = [p for p in same_ns if _selector_matches(selector, p[1])]
        if not selected:
            if same_ns:
                add(m, "selector-mismatch", "", f"selector {selector} matches no pod template in these files")
            continue
        containers = [c for _, _, cs in selected for c in cs]
        numbers: set[int] = set()
        names: set[str] = set()
        for c in containers:
            n, nm = _ports(c)
            numbers |= n
            names |= nm
        for port in spec.get("ports") or []:
            target = (port or {}).get("targetPort", (port or {}).get("port"))
            if target is not None and not _port_matches(target, numbers, names):
                declared = ", ".join([str(n) for n in sorted(numbers)] + sorted(names)) or "none"
                add(
                    m,
                    "service-target-port",
                    "",
                    f"targetPort {target} is not a port of the selected containers ({declared})",
                )
    return findings
