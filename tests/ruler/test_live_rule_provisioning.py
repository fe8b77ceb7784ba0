"""The live stack provisions the same rule files the embedded ruler reads (no Docker needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from labkit.lgtm.rules import check_rule_file
from labkit.lgtm.testing import server_settings
from labkit.stack_live import COMPOSE_DIR

RULES = COMPOSE_DIR / "rules"


def _yaml(rel: str) -> Any:
    return yaml.safe_load((COMPOSE_DIR / rel).read_text(encoding="utf-8"))


def _mounts(service: str) -> dict[str, str]:
    """container path -> host path (relative to the stack folder) of a compose service."""
    out = {}
    for spec in _yaml("compose.yaml")["services"][service]["volumes"]:
        parts = str(spec).split(":")
        out[parts[1]] = parts[0]
    return out


@pytest.mark.parametrize(("folder", "engine"), [("mimir", "promql"), ("loki", "logql")])
def test_the_stack_rule_files_are_valid_for_their_ruler(folder: str, engine: str) -> None:
    files = sorted((RULES / folder).glob("*.yaml"))
    assert files, f"no rule files in {RULES / folder}"
    for path in files:
        assert check_rule_file(str(path), engine) > 0


def test_loki_ruler_reads_the_mounted_loki_rules_and_writes_to_mimir() -> None:
    loki = _yaml("loki/loki.yaml")
    ruler = loki["ruler"]
    assert ruler["storage"]["type"] == "local"
    directory = ruler["storage"]["local"]["directory"]
    # with auth disabled Loki's tenant is "fake": rules live in <directory>/fake/
    assert loki["auth_enabled"] is False
    assert _mounts("loki")[f"{directory}/fake"] == ["./rules/loki", "ro"][0]
    assert ruler["enable_api"] is True
    [client] = ruler["remote_write"]["clients"].values()
    assert ruler["remote_write"]["enabled"] is True
    mimir_port = _yaml("mimir/mimir.yaml")["server"]["http_listen_port"]
    assert client["url"] == f"http://mimir:{mimir_port}/api/v1/push"


def test_mimir_ruler_reads_the_mounted_promql_rules() -> None:
    mimir = _yaml("mimir/mimir.yaml")
    assert mimir["multitenancy_enabled"] is False  # tenant "anonymous"
    storage = mimir["ruler_storage"]
    assert storage["backend"] == "local"
    assert _mounts("mimir")[storage["local"]["directory"] + "/anonymous"] == "./rules/mimir"


def test_live_and_embedded_rulers_share_the_evaluation_interval() -> None:
    embedded = server_settings(Path("/nonexistent")).ruler_evaluation_interval_s
    for rel, section in (("loki/loki.yaml", "ruler"), ("mimir/mimir.yaml", "ruler")):
        assert _yaml(rel)[section]["evaluation_interval"] == f"{embedded:g}s"


def test_the_embedded_ruler_evaluates_the_stack_files(tmp_path: Path) -> None:
    from labkit.lgtm.testing import running_server

    with running_server(
        tmp_path,
        rule_files=[str(RULES / "mimir" / "*.yaml")],
        loki_rule_files=[str(RULES / "loki" / "*.yaml")],
    ) as srv:
        assert srv.ruler is not None
        assert srv.ruler.reload() == []
        srv.ruler.evaluate_all()
        states = [
            (g.engine, r.rule.name, r.health, r.last_error) for g in srv.ruler.groups() for r in g.rules
        ]
        assert {e for e, *_ in states} == {"promql", "logql"}
        assert all(health == "ok" for _, _, health, _ in states), states
