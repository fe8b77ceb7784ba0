"""The ruler over HTTP: Prometheus/Mimir/Loki shapes, reloads that keep old rules, the namespace API."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from labkit.cli import app
from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server
from labkit.observe import Loki, Mimir, QueryError

from .conftest import push_logs

PROM_RULES = """\
groups:
  - name: always
    interval: 1s
    rules:
      - record: answer:value
        expr: vector(42)
      - alert: AlwaysFiring
        expr: vector(7) > 0
        labels: {severity: page}
        annotations: {summary: "value {{ $value }}"}
      - alert: SlowToFire
        expr: vector(1)
        for: 1h
"""
LOKI_RULES = """\
groups:
  - name: rag
    interval: 1s
    rules:
      - alert: Hallucination
        expr: sum(count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0
        annotations: {summary: "{{ $value }} found"}
"""
RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@pytest.fixture
def ruled(tmp_path: Path) -> Iterator[tuple[EmbeddedServer, Path, Path]]:
    prom, loki = tmp_path / "prom.yaml", tmp_path / "loki.yaml"
    prom.write_text(PROM_RULES)
    loki.write_text(LOKI_RULES)
    with running_server(
        tmp_path / "srv", rule_files=[str(prom)], loki_rule_files=[str(loki)], ruler_evaluation_interval_s=1
    ) as srv:
        yield srv, prom, loki


def _wait(predicate, timeout_s: float = 10.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        time.sleep(0.1)


def _get(url: str, **params: str) -> dict:  # type: ignore[type-arg]
    r = httpx.get(url, params=params, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/json")
    return r.json()


def test_mimir_rules_and_alerts_have_prometheus_shapes(ruled: tuple[EmbeddedServer, Path, Path]) -> None:
    srv, prom, _ = ruled
    mimir = srv.urls["mimir"]
    body = _wait(
        lambda: (b := _get(mimir + "/api/v1/rules"))["data"]["groups"][0]["rules"][1].get("alerts") and b
    )
    assert body["status"] == "success"
    [group] = body["data"]["groups"]
    assert set(group) == {"name", "file", "rules", "interval", "limit", "evaluationTime", "lastEvaluation"}
    assert (group["name"], group["file"], group["interval"], group["limit"]) == ("always", str(prom), 1, 0)
    assert RFC3339.match(group["lastEvaluation"]) and group["evaluationTime"] >= 0
    record, firing, slow = group["rules"]
    assert record == {
        "name": "answer:value",
        "query": "vector(42)",
        "labels": {},
        "health": "ok",
        "lastError": "",
        "evaluationTime": record["evaluationTime"],
        "lastEvaluation": record["lastEvaluation"],
        "type": "recording",
    }
    assert set(firing) == {
        "state", "name", "query", "duration", "keepFiringFor", "labels", "annotations", "alerts",
        "health", "lastError", "evaluationTime", "lastEvaluation", "type",
    }  # fmt: skip
    assert (firing["type"], firing["state"], firing["duration"], firing["health"]) == (
        "alerting",
        "firing",
        0,
        "ok",
    )
    [alert] = firing["alerts"]
    assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page"}
    assert alert["annotations"] == {"summary": "value 7"}
    assert (alert["state"], alert["value"]) == ("firing", "7e+00")
    assert RFC3339.match(alert["activeAt"])
    assert (slow["state"], slow["duration"], slow["alerts"][0]["state"]) == ("pending", 3600, "pending")

    alerts = _get(mimir + "/api/v1/alerts")["data"]["alerts"]
    assert sorted((a["labels"]["alertname"], a["state"]) for a in alerts) == [
        ("AlwaysFiring", "firing"),
        ("SlowToFire", "pending"),
    ]
    # the Mimir prefix and the plain Prometheus path answer the same; filters work
    assert mimir.endswith("/prometheus")
    only_record = _get(mimir + "/api/v1/rules", type="record")["data"]["groups"][0]["rules"]
    assert [r["name"] for r in only_record] == ["answer:value"]
    only_alerts = _get(mimir + "/api/v1/rules", type="alert", exclude_alerts="true")["data"]["groups"][0]
    assert [r["name"] for r in only_alerts["rules"]] == ["AlwaysFiring", "SlowToFire"]
    assert all("alerts" not in r for r in only_alerts["rules"])
    bad = httpx.get(mimir + "/api/v1/rules", params={"type": "nope"})
    assert bad.status_code == 400 and bad.json()["errorType"] == "bad_data"
    # the Loki port does not show Mimir's rules
    assert [g["name"] for g in _get(srv.urls["loki"] + "/prometheus/api/v1/rules")["data"]["groups"]] == [
        "rag"
    ]
    # ALERTS and the recorded series are in the metric store
    q = _get(mimir + "/api/v1/query", query='ALERTS{alertstate="firing"}')["data"]["result"]
    assert [r["metric"]["alertname"] for r in q] == ["AlwaysFiring"]
    assert _get(mimir + "/api/v1/query", query="answer:value")["data"]["result"][0]["value"][1] == "42"


def test_loki_ruler_apis(ruled: tuple[EmbeddedServer, Path, Path]) -> None:
    srv, _, _ = ruled
    loki = srv.urls["loki"]
    listing = httpx.get(loki + "/loki/api/v1/rules")
    assert listing.status_code == 200 and listing.headers["content-type"].startswith("application/yaml")
    assert yaml.safe_load(listing.text) == {"loki": yaml.safe_load(LOKI_RULES)["groups"]}
    assert yaml.safe_load(httpx.get(loki + "/loki/api/v1/rules/loki/rag").text)["loki"][0]["name"] == "rag"
    assert httpx.get(loki + "/loki/api/v1/rules/nope").status_code == 404

    push_logs(srv, {"service_name": "rag"}, [(int(time.time() * 1000), "hallucination detected")])
    alerts = _wait(lambda: _get(loki + "/prometheus/api/v1/alerts")["data"]["alerts"])
    assert alerts[0]["labels"] == {"alertname": "Hallucination"} and alerts[0]["state"] == "firing"
    assert alerts[0]["annotations"] == {"summary": "1 found"}
    rules = _get(loki + "/prometheus/api/v1/rules")["data"]["groups"][0]["rules"]
    assert rules[0]["query"] == yaml.safe_load(LOKI_RULES)["groups"][0]["rules"][0]["expr"]
    # clients answer with DataFrames
    frame = Loki(loki, settings=srv.settings).alerts()
    assert list(frame["alertname"]) == ["Hallucination"] and frame["value"].iloc[0] == 1.0
    assert Loki(loki, settings=srv.settings).rules()["health"].tolist() == ["ok"]


def test_a_bad_edit_is_refused_and_the_old_rules_keep_running(
    ruled: tuple[EmbeddedServer, Path, Path],
) -> None:
    srv, prom, _ = ruled
    mimir = srv.urls["mimir"]
    _wait(lambda: _get(mimir + "/api/v1/alerts")["data"]["alerts"])
    prom.write_text(PROM_RULES.replace("vector(7) > 0", "vector(7) >"))
    reload = httpx.post(mimir.removesuffix("/prometheus") + "/-/reload")
    assert reload.status_code == 500
    assert "rule 'AlwaysFiring'" in reload.text and "group 'always'" in reload.text
    assert f"{prom}:8:15," in reload.text  # line and column of the expr in the file
    assert srv.ruler is not None and any("AlwaysFiring" in e for e in srv.ruler.errors)
    before = _get(mimir + "/api/v1/rules")["data"]["groups"][0]
    assert before["rules"][1]["query"] == "vector(7) > 0"
    # still evaluated on schedule
    _wait(
        lambda: (
            _get(mimir + "/api/v1/rules")["data"]["groups"][0]["lastEvaluation"] != before["lastEvaluation"]
        )
    )
    assert _get(mimir + "/api/v1/alerts")["data"]["alerts"]

    # a good edit is picked up without a restart or a reload call (file watch), state kept
    active_at = before["rules"][1]["alerts"][0]["activeAt"]
    text = PROM_RULES.replace("answer:value", "answer:renamed")
    prom.write_text(text)
    os.utime(prom, None)
    names = _wait(
        lambda: (
            (r := [x["name"] for x in _get(mimir + "/api/v1/rules")["data"]["groups"][0]["rules"]])
            and "answer:renamed" in r
            and r
        )
    )
    assert names == ["answer:renamed", "AlwaysFiring", "SlowToFire"]
    assert srv.ruler.errors == []
    kept = _get(mimir + "/api/v1/rules")["data"]["groups"][0]["rules"][1]["alerts"][0]["activeAt"]
    assert kept == active_at
    assert httpx.post(mimir.removesuffix("/prometheus") + "/-/reload").status_code == 200


def test_rule_groups_set_through_the_namespace_api(tmp_path: Path) -> None:
    group = {
        "name": "notebook",
        "interval": "1s",
        "rules": [{"alert": "Boom", "expr": "vector(3) > 1", "for": "1s", "labels": {"team": "ai"}}],
    }
    with running_server(tmp_path / "srv", ruler_evaluation_interval_s=1) as srv:
        mimir = Mimir(srv.urls["mimir"], settings=srv.settings)
        mimir.set_rule_group("lesson", group)
        assert mimir.rule_groups()["lesson"][0]["name"] == "notebook"
        frame = mimir.wait_for_alert("Boom", "pending", timeout_s=10)
        assert frame["labels"].iloc[0] == {"alertname": "Boom", "team": "ai"}
        firing = mimir.wait_for_alert("Boom", "firing", timeout_s=10)
        assert firing["state"].tolist() == ["firing"]
        rules = mimir.rules()
        assert rules[["group", "name", "type", "state", "health"]].values.tolist() == [
            ["notebook", "Boom", "alerting", "firing", "ok"]
        ]
        # a broken group is refused with the rule named; the running one is untouched
        bad = httpx.post(
            srv.urls["mimir"] + "/config/v1/rules/lesson",
            content="name: notebook\nrules:\n  - alert: Boom\n    expr: sum(\n",
        )
        assert bad.status_code == 400 and "rule 'Boom'" in bad.json()["error"]
        assert mimir.alert_state("Boom") == "firing"
        # LogQL groups go to Loki's ruler, PromQL is refused there
        loki = Loki(srv.urls["loki"], settings=srv.settings)
        promql_only = {"name": "n", "rules": [{"alert": "Rate", "expr": "rate(up[5m]) > 0"}]}
        with pytest.raises(QueryError, match="rule 'Rate'"):
            loki.set_rule_group("lesson", promql_only)
        mimir.delete_rule_group("lesson", "notebook")
        assert mimir.rules().empty and mimir.alerts().empty
        with pytest.raises(TimeoutError, match="states seen: inactive"):
            mimir.wait_for_alert("Boom", timeout_s=0.3, poll_s=0.1)


def test_cli_check_and_list(ruled: tuple[EmbeddedServer, Path, Path], tmp_path: Path) -> None:
    srv, prom, loki = ruled
    runner = CliRunner()
    ok = runner.invoke(app, ["rules", "check", str(prom)])
    assert ok.exit_code == 0 and "3 rules found" in ok.output
    assert runner.invoke(app, ["rules", "check", "--logql", str(loki)]).exit_code == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text(PROM_RULES.replace("for: 1h", "for: soon"))
    result = runner.invoke(app, ["rules", "check", str(prom), str(bad)])
    assert result.exit_code == 1
    assert "SUCCESS" in result.output and "FAILED" in result.output and "rule 'SlowToFire'" in result.output
    env = {"LABKIT_MIMIR_URL": srv.urls["mimir"], "LABKIT_LOKI_URL": srv.urls["loki"]}
    _wait(lambda: _get(srv.urls["mimir"] + "/api/v1/alerts")["data"]["alerts"])
    listed = runner.invoke(app, ["rules", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "AlwaysFiring" in listed.output and "answer:value" in listed.output
    alerts = runner.invoke(app, ["rules", "alerts"], env=env)
    assert alerts.exit_code == 0 and "firing" in alerts.output
