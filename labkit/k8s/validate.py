"""Validation: strict schemas of current Kubernetes, then a server-side dry-run on the cluster.

Client-side (``kubernetes-validate``, the 1.37 schemas, strict so an unknown field such as a
misspelt ``contaners`` is an error) says whether current Kubernetes accepts an object; the
dry-run says whether *this* cluster does (its version, admission, existing objects). Server
messages are kept verbatim and each gets an explanation in plain words.
"""

from __future__ import annotations

import re
import warnings

import yaml

from labkit.k8s.findings import Finding
from labkit.k8s.kubectl import KubectlError, Target, kubectl
from labkit.k8s.manifests import Manifest

__all__ = ["SCHEMA_VERSION", "explain_server_message", "validate_schema", "validate_server"]

SCHEMA_VERSION = "1.37.0"

_SERVER_EXPLANATIONS: list[tuple[re.Pattern[str], str]] = [
    (
        re.compile(
            r"no matches for kind|could not find the requested resource"
            r"|the server doesn't have a resource type"
        ),
        "This cluster does not serve that kind in that apiVersion. Older clusters lack newer API versions "
        "(Kubernetes 1.20 has policy/v1beta1 PodDisruptionBudget and autoscaling/v2beta2 HPA, not policy/v1 "
        "and autoscaling/v2); `kubectl api-resources` lists what it serves.",
    ),
    (
        re.compile(r"selector.*does not match template|`selector` does not match"),
        "The Deployment's selector must match the labels of its own pod template, or it would own no pods.",
    ),
    (
        re.compile(r"field is immutable"),
        "That field cannot change on an existing object (a Deployment's selector, a Service's clusterIP...). "
        "Delete and re-create the object, or keep the old value.",
    ),
    (
        re.compile(r"namespaces? \"?[\w-]+\"? not found"),
        "The namespace does not exist yet. If it is part of the same set, apply it first (a dry-run creates "
        "nothing, so objects inside a new namespace cannot be dry-run before it exists).",
    ),
    (re.compile(r"Required value"), "A field the API requires is missing; the message names its path."),
    (
        re.compile(r"Unsupported value|Invalid value"),
        "A field has a value the API does not accept; the message names the field and the allowed values.",
    ),
    (
        re.compile(r"unknown field|strict decoding error"),
        "The object has a field its schema does not define, often a typo or wrong indentation.",
    ),
    (
        re.compile(r"forbidden|Forbidden"),
        "The cluster refused: your user lacks the permission (RBAC), or an admission rule rejected "
        "the object.",
    ),
    (
        re.compile(r"already exists"),
        "An object of that kind and name exists already; `kubectl apply` updates it, `create` does not.",
    ),
    (
        re.compile(r"exceeded quota|exceeds"),
        "A ResourceQuota or LimitRange of the namespace does not allow these requests/limits.",
    ),
]
_SCHEMA_EXPLANATION = (
    "The object does not match the Kubernetes {version} schema of its kind: the message names the field. "
    "Strict validation also rejects fields the schema does not know (a typo, or wrong indentation)."
)
_UNKNOWN_KIND = (
    "Kubernetes {version} has no kind {kind!r} in apiVersion {api!r}. Check the spelling (kinds are "
    "CamelCase: Deployment, Service, ConfigMap) and the API group/version (`kubectl api-resources` lists "
    "them: apps/v1 for Deployment, v1 for Service and ConfigMap)."
)


def explain_server_message(message: str) -> str:
    for pattern, text in _SERVER_EXPLANATIONS:
        if pattern.search(message):
            return text
    return "The API server rejected the object; its message above says why."


def validate_schema(manifests: list[Manifest], version: str = SCHEMA_VERSION) -> list[Finding]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the package's own imports warn on newer jsonschema
        import kubernetes_validate
        from kubernetes_validate.utils import InvalidSchemaError, SchemaNotFoundError, ValidationError

    out = []
    for m in manifests:
        try:
            kubernetes_validate.validate(m.obj, version, strict=True)
        except SchemaNotFoundError:
            out.append(
                Finding(
                    "unknown-kind",
                    m.source,
                    m.line,
                    m.kind,
                    m.name,
                    "",
                    f"unknown kind {m.kind!r} in apiVersion {m.api_version!r}",
                    _UNKNOWN_KIND.format(version=version, kind=m.kind, api=m.api_version),
                    "schema",
                )
            )
        except ValidationError as exc:
            path = ".".join(str(p) for p in exc.path) or "(top level)"
            out.append(
                Finding(
                    "schema-invalid",
                    m.source,
                    m.line,
                    m.kind,
                    m.name,
                    "",
                    f"{path}: {exc.message}",
                    _SCHEMA_EXPLANATION.format(version=version),
                    "schema",
                )
            )
        except InvalidSchemaError as exc:
            out.append(
                Finding(
                    "schema-invalid",
                    m.source,
                    m.line,
                    m.kind,
                    m.name,
                    "",
                    exc.message,
                    _SCHEMA_EXPLANATION.format(version=version),
                    "schema",
                )
            )
    return out


def _namespace_exists(name: str, tgt: Target | None) -> bool:
    try:
        kubectl("get", "namespace", name, "-o", "name", tgt=tgt, timeout_s=15)
        return True
    except KubectlError:
        return False


def validate_server(manifests: list[Manifest], tgt: Target | None = None) -> list[Finding]:
    """``kubectl apply --dry-run=server`` per object, so each message belongs to one object."""
    out = []
    created_here = {m.name for m in manifests if m.kind == "Namespace"}
    for m in manifests:
        obj = m.obj
        if m.kind != "Namespace" and m.namespace in created_here and not _namespace_exists(m.namespace, tgt):
            # A dry-run creates nothing, so an object inside a namespace this same set creates is
            # dry-run in `default` instead: its kind, version and fields are checked all the same.
            obj = {**obj, "metadata": {**obj.get("metadata", {}), "namespace": "default"}}
        try:
            kubectl(
                "apply",
                "--dry-run=server",
                "-o",
                "name",
                "-f",
                "-",
                tgt=tgt,
                input=yaml.safe_dump(obj, sort_keys=False),
            )
        except KubectlError as exc:
            message = exc.stderr
            out.append(
                Finding(
                    "server-rejected",
                    m.source,
                    m.line,
                    m.kind,
                    m.name,
                    "",
                    message,
                    explain_server_message(message),
                    "server",
                )
            )
    return out
