"""k8s/alloy: the manifests validate (schema + policy) and the Alloy config passes the
structural check; the check itself finds each kind of mistake it claims to find."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from labkit.k8s.alloycfg import AlloyConfigError, check_alloy, check_alloy_file
from labkit.k8s.check import check_paths
from labkit.k8s.render import render

ROOT = Path(__file__).resolve().parents[2]
ALLOY = ROOT / "k8s" / "alloy"


def _objects() -> dict[str, dict]:  # type: ignore[type-arg]
    return {f"{d['kind']}/{d['metadata']['name']}": d for d in yaml.safe_load_all(render(ALLOY)) if d}


def test_alloy_manifests_validate_and_pass_policy() -> None:
    assert check_paths([ALLOY]) == []


def test_the_check_is_not_blind(tmp_path: Path) -> None:
    broken = tmp_path / "alloy"
    shutil.copytree(ALLOY, broken)
    ds = broken / "daemonset.yaml"
    text = ds.read_text(encoding="utf-8")
    for old, new in (
        ("image: grafana/alloy:v1.8.3", "image: grafana/alloy:latest"),
        ("runAsNonRoot: true", "runAsNonRoot: false"),
        ("runAsUser: 473", "runAsUser: 0"),
        ("readinessProbe:", "readinesProbe:"),
    ):
        text = text.replace(old, new)
    ds.write_text(text, encoding="utf-8")
    config = broken / "config.alloy"
    config.write_text(
        config.read_text().replace(
            "otelcol.exporter.otlphttp.mimir.input", "otelcol.exporter.otlphttp.mimr.input"
        )
    )
    findings = check_paths([broken])
    assert {"image-tag", "runs-as-root", "schema-invalid", "alloy-invalid"} <= {f.rule for f in findings}
    alloy = next(f for f in findings if f.rule == "alloy-invalid")
    assert alloy.source == str(config) and alloy.line > 0 and 'otlphttp "mimr"' in alloy.message
    assert [f.rule for f in check_paths([config])] == ["alloy-invalid"]


def test_rbac_is_read_only_pods_and_their_logs() -> None:
    role = _objects()["ClusterRole/labkit-alloy"]
    granted = {(r, v) for rule in role["rules"] for r in rule["resources"] for v in rule["verbs"]}
    assert granted == {("pods", "get"), ("pods", "list"), ("pods", "watch"), ("pods/log", "get")}
    binding = _objects()["ClusterRoleBinding/labkit-alloy"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "alloy", "namespace": "labkit-monitoring"}
    ]
    pod = _objects()["DaemonSet/alloy"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "alloy"
    # The config the DaemonSet mounts is the generated one (its name carries the content hash).
    config_map = next(v["configMap"]["name"] for v in pod["volumes"] if v["name"] == "config")
    assert config_map.startswith("alloy-config-") and f"ConfigMap/{config_map}" in _objects()


def test_alloy_config_labels_match_the_embedded_shipper() -> None:
    blocks = {(b.name, b.label): b for b in check_alloy_file(ALLOY / "config.alloy")}
    relabel = blocks[("discovery.relabel", "pod_logs")]
    targets = {
        "".join(r.attributes["target_label"]).strip('\0"'): "".join(r.attributes["source_labels"])
        for r in relabel.blocks
        if "target_label" in r.attributes
    }
    # The same label names labkit.k8s.logship.pod_labels gives.
    assert set(targets) == {"namespace", "pod", "container", "node", "job"}
    assert "__meta_kubernetes_pod_node_name" in targets["node"]
    for signal_exporter in ("otelcol.exporter.otlp", "otelcol.exporter.otlphttp"):
        assert any(name == signal_exporter for name, _ in blocks)
    assert ("loki.source.kubernetes", "pods") in blocks and ("otelcol.receiver.otlp", "pods") in blocks


def test_the_compose_stacks_alloy_config_passes_too() -> None:
    check_alloy_file(ROOT / "stacks" / "lgtm" / "alloy" / "config.alloy")


GOOD = """
logging {
  level = "info"
}
loki.write "default" {
  endpoint { url = sys.env("LOKI") }
}
loki.source.kubernetes "pods" {
  targets    = discovery.kubernetes.pods.targets
  forward_to = [loki.write.default.receiver]
}
discovery.kubernetes "pods" {
  role = "pod" // comment
  /* a block
     comment */
  selectors {
    role  = "pod"
    field = "spec.nodeName=" +
      sys.env("NODE_NAME")
  }
}
"""


def test_a_good_config_parses() -> None:
    blocks = check_alloy(GOOD, "good.alloy")
    assert [(b.name, b.label) for b in blocks][:2] == [("logging", None), ("loki.write", "default")]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s.replace('role = "pod" // comment', 'role = "pod'),
            "good.alloy:13:10: unterminated string",
        ),
        (lambda s: s.rstrip()[:-1], "never closed"),
        (lambda s: s + "}\n", "'}' without a block to close"),
        (
            lambda s: s.replace("[loki.write.default.receiver]", "[loki.write.default.receiver"),
            "unbalanced '}'",
        ),
        (
            lambda s: s.replace("/* a block", "/* a block never ended").replace("comment */", "comment"),
            "unterminated /*",
        ),
        (
            lambda s: s.replace('loki.write "default"', 'loki.writer "default"'),
            "unknown component 'loki.writer'",
        ),
        (lambda s: s.replace('loki.write "default" {', "loki.write {"), "needs a label"),
        (lambda s: s.replace("logging {", 'logging "x" {'), "takes no label"),
        (lambda s: s + 'loki.write "default" {\n}\n', "defined twice"),
        (
            lambda s: s.replace("loki.write.default.receiver", "loki.write.other.receiver"),
            'loki.write "other"',
        ),
        (lambda s: s.replace("loki.write.default.receiver", "loki.write.default.input"), "exports receiver"),
        (lambda s: s.replace("pods.targets", "pods.output"), "exports targets, not 'output'"),
        (lambda s: s.replace('level = "info"', 'level = "info"\n  level = "debug"'), "set twice"),
        (lambda s: s.replace('level = "info"', "level = "), "without a value"),
        (lambda s: s.replace('level = "info"', 'level "info"'), "expected '=' or '{' after 'level'"),
    ],
)
def test_each_mistake_is_found_with_its_place(change, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AlloyConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        check_alloy(change(GOOD), "good.alloy")
