"""The live stack's files agree with each other and with labkit's defaults (no Docker needed)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from labkit.config import load_settings
from labkit.observe import DATASOURCE_UIDS
from labkit.stack_live import COMPOSE_DIR, LiveStackError, compose_command, config, probes

STACK = COMPOSE_DIR


def _yaml(rel: str) -> Any:
    return yaml.safe_load((STACK / rel).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _yaml("compose.yaml")


@pytest.fixture(scope="module")
def alloy() -> str:
    return (STACK / "alloy" / "config.alloy").read_text(encoding="utf-8")


def _published(service: dict[str, Any]) -> dict[int, tuple[str, int]]:
    """container port -> (host ip, host port)."""
    out = {}
    for spec in service.get("ports", []):
        host_ip, host_port, container_port = str(spec).split(":")
        out[int(container_port)] = (host_ip, int(host_port))
    return out


def _alloy_blocks(text: str) -> dict[str, str]:
    """Top-level Alloy components (``kind "label" { ... }``) with their bodies, by brace matching."""
    blocks: dict[str, str] = {}
    for match in re.finditer(r'^([a-z_.]+) "([a-z_]+)" \{', text, re.M):
        depth, pos = 1, match.end()
        while depth:
            depth += {"{": 1, "}": -1}.get(text[pos], 0)
            pos += 1
        blocks[f"{match.group(1)}.{match.group(2)}"] = text[match.end() : pos - 1]
    return blocks


def test_images_are_pinned_and_ports_are_loopback_only(compose) -> None:
    for name, service in compose["services"].items():
        image = service["image"]
        assert re.fullmatch(r"grafana/[a-z]+:v?\d+\.\d+\.\d+", image), f"{name}: unpinned image {image}"
        for container_port, (host_ip, _host_port) in _published(service).items():
            assert host_ip == "127.0.0.1", f"{name}:{container_port} is published beyond loopback"
    assert set(compose["volumes"]) == {f"{s}-data" for s in compose["services"]}


def test_host_ports_are_labkit_defaults(compose) -> None:
    settings = load_settings(environ={}, cwd=Path("/"))
    expected = {
        "alloy": {
            4317: urlsplit(settings.otlp_grpc_endpoint).port,
            4318: urlsplit(settings.otlp_http_endpoint).port,
        },
        "loki": {3100: urlsplit(settings.loki_url).port},
        "tempo": {3200: urlsplit(settings.tempo_url).port},
        "mimir": {9009: urlsplit(settings.mimir_url).port},
        "grafana": {3000: urlsplit(settings.grafana_url).port},
    }
    for service, ports in expected.items():
        published = _published(compose["services"][service])
        for container_port, host_port in ports.items():
            assert published[container_port][1] == host_port, f"{service}:{container_port}"
    probe_ports = {p.service: urlsplit(p.url).port for p in probes(settings)}
    assert probe_ports == {"alloy": 12345, "loki": 3100, "tempo": 3200, "mimir": 9009, "grafana": 3000}


def test_backend_configs_listen_where_compose_and_alloy_expect(compose, alloy) -> None:
    loki, tempo, mimir = _yaml("loki/loki.yaml"), _yaml("tempo/tempo.yaml"), _yaml("mimir/mimir.yaml")
    assert loki["server"]["http_listen_port"] == 3100 and loki["auth_enabled"] is False
    assert loki["limits_config"]["allow_structured_metadata"] is True
    assert tempo["server"]["http_listen_port"] == 3200
    assert mimir["server"]["http_listen_port"] == 9009 and mimir["multitenancy_enabled"] is False
    tempo_grpc = int(
        tempo["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"].rsplit(":", 1)[1]
    )

    blocks = _alloy_blocks(alloy)
    receiver = blocks["otelcol.receiver.otlp.lab"]
    assert '"0.0.0.0:4317"' in receiver and '"0.0.0.0:4318"' in receiver
    assert re.search(rf'endpoint\s*=\s*"tempo:{tempo_grpc}"', blocks["otelcol.exporter.otlp.tempo"])
    assert re.search(r'endpoint\s*=\s*"http://loki:3100/otlp"', blocks["otelcol.exporter.otlphttp.loki"])
    assert re.search(r'url\s*=\s*"http://mimir:9009/api/v1/push"', blocks["prometheus.remote_write.mimir"])
    # Metric names as Prometheus 3 translates OTLP (the embedded server's names).
    prom = blocks["otelcol.exporter.prometheus.mimir"]
    assert re.search(r"add_metric_suffixes\s*=\s*true", prom)
    assert re.search(r"resource_to_telemetry_conversion\s*=\s*false", prom)
    # Every component an output refers to exists.
    for ref in re.findall(r"\b((?:otelcol|prometheus)\.[a-z_.]+)\.(?:input|receiver)\b", alloy):
        assert ref in blocks, f"Alloy refers to missing component {ref}"

    remote = tempo["metrics_generator"]["storage"]["remote_write"][0]["url"]
    assert remote == "http://mimir:9009/api/v1/push"
    processors = tempo["overrides"]["defaults"]["metrics_generator"]["processors"]
    assert {"service-graphs", "span-metrics"} <= set(processors)


def test_datasources_have_fixed_uids_and_consistent_links(compose) -> None:
    sources = {
        ds["uid"]: ds for ds in _yaml("grafana/provisioning/datasources/datasources.yaml")["datasources"]
    }
    assert set(sources) == set(DATASOURCE_UIDS.values())
    for kind, uid in DATASOURCE_UIDS.items():
        assert sources[uid]["type"] == kind
    urls = {uid: urlsplit(ds["url"]) for uid, ds in sources.items()}
    assert (urls["mimir"].hostname, urls["mimir"].port, urls["mimir"].path) == ("mimir", 9009, "/prometheus")
    assert (urls["loki"].hostname, urls["loki"].port) == ("loki", 3100)
    assert (urls["tempo"].hostname, urls["tempo"].port) == ("tempo", 3200)
    for uid in urls:
        assert uid in compose["services"]

    tempo = sources["tempo"]["jsonData"]
    links = [
        sources["mimir"]["jsonData"]["exemplarTraceIdDestinations"][0]["datasourceUid"],
        sources["loki"]["jsonData"]["derivedFields"][0]["datasourceUid"],
        tempo["tracesToLogsV2"]["datasourceUid"],
        tempo["tracesToMetrics"]["datasourceUid"],
        tempo["serviceMap"]["datasourceUid"],
    ]
    assert links == ["tempo", "tempo", "loki", "mimir", "mimir"]
    # Grafana expands $VAR in provisioning files; the derived-field URL must stay a literal ${__value.raw}.
    assert sources["loki"]["jsonData"]["derivedFields"][0]["url"] == "$${__value.raw}"


def test_dashboards_only_use_provisioned_datasources(compose) -> None:
    mounts = [v for v in compose["services"]["grafana"]["volumes"] if v.startswith("./dashboards:")]
    assert mounts, "the dashboards folder must be mounted into Grafana"
    provider = _yaml("grafana/provisioning/dashboards/dashboards.yaml")["providers"][0]
    assert provider["options"]["path"] == mounts[0].split(":")[1]
    files = sorted((STACK / "dashboards").glob("*.json"))
    assert files, "no dashboards in stacks/lgtm/dashboards"
    for path in files:
        text = path.read_text(encoding="utf-8")
        model = json.loads(text)
        assert model["uid"] and model["title"]
        for uid in re.findall(r'"uid":\s*"([^"]+)"', text):
            if uid != model["uid"]:
                assert uid in DATASOURCE_UIDS.values(), f"{path.name} refers to unknown datasource uid {uid}"


def test_docker_compose_config_validates() -> None:
    try:
        compose_command()
    except LiveStackError as exc:
        pytest.skip(f"docker compose not available: {exc}")
    resolved = yaml.safe_load(config())
    assert set(resolved["services"]) == {"alloy", "loki", "tempo", "mimir", "grafana"}
