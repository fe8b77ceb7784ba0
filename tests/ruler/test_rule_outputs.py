"""Recording rules write their series back; LogQL rules run on the log store."""

from __future__ import annotations

from pathlib import Path

import httpx

from labkit.lgtm.server import EmbeddedServer

from .conftest import T0_MS, Clock, add_samples, manual_ruler, push_logs


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _query(srv: EmbeddedServer, q: str, t_ms: int) -> list[dict]:  # type: ignore[type-arg]
    body = httpx.get(srv.urls["mimir"] + "/api/v1/query", params={"query": q, "time": t_ms / 1000}).json()
    assert body["status"] == "success", body
    return body["data"]["result"]


RECORD = """\
groups:
  - name: api
    rules:
      - record: job:requests:sum
        expr: sum by (job) (requests)
        labels: {source: ruler}
      - record: job:requests:doubled
        expr: job:requests:sum * 2
"""


def test_recording_rules_write_series_that_later_rules_and_queries_read(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    add_samples(
        server,
        [
            ({"__name__": "requests", "job": "api", "instance": "a"}, T0_MS, 3),
            ({"__name__": "requests", "job": "api", "instance": "b"}, T0_MS, 4),
            ({"__name__": "requests", "job": "web", "instance": "a"}, T0_MS, 10),
        ],
    )
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_write(tmp_path, "r.yaml", RECORD)])
    ruler.evaluate_all(T0_MS)
    rows = {r["metric"]["job"]: (r["metric"], r["value"]) for r in _query(server, "job:requests:sum", T0_MS)}
    assert rows["api"] == (
        {"__name__": "job:requests:sum", "job": "api", "source": "ruler"},
        [T0_MS / 1000, "7"],
    )
    assert rows["web"][1][1] == "10"
    # rules run in order: the second reads what the first wrote in the same cycle
    doubled = {r["metric"]["job"]: r["value"][1] for r in _query(server, "job:requests:doubled", T0_MS)}
    assert doubled == {"api": "14", "web": "20"}
    assert all(r.health == "ok" for r in ruler.groups()[0].rules)


def test_a_series_the_rule_stops_producing_goes_stale(server: EmbeddedServer, tmp_path: Path) -> None:
    add_samples(server, [({"__name__": "requests", "job": "api"}, T0_MS, 3)])
    ruler = manual_ruler(server, Clock(T0_MS), rules=[_write(tmp_path, "r.yaml", RECORD)])
    ruler.evaluate_all(T0_MS)
    assert _query(server, "job:requests:sum", T0_MS + 1000)
    # 6 minutes on, `requests` is past the lookback: the recorded series must end at once
    later = T0_MS + 360_000
    ruler.evaluate_all(later)
    assert _query(server, "job:requests:sum", later + 1000) == []


def test_a_rule_producing_duplicate_series_reports_an_error(server: EmbeddedServer, tmp_path: Path) -> None:
    text = "groups:\n  - name: g\n    rules:\n      - record: dup\n        expr: requests\n"
    text += "        labels: {instance: same}\n"
    add_samples(
        server,
        [
            ({"__name__": "requests", "instance": "a"}, T0_MS, 1),
            ({"__name__": "requests", "instance": "b"}, T0_MS, 2),
        ],
    )
    ruler = manual_ruler(server, Clock(T0_MS), rules=[_write(tmp_path, "r.yaml", text)])
    ruler.evaluate_all(T0_MS)
    [state] = ruler.groups()[0].rules
    assert state.health == "err" and "same labelset" in state.last_error
    assert _query(server, "dup", T0_MS) == []


LOKI = """\
groups:
  - name: rag
    rules:
      - alert: HallucinationDetected
        expr: sum by (agent) (count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0
        for: 1m
        annotations:
          summary: "{{ $value }} unsupported sentence(s) from {{ $labels.agent }}"
      - record: rag:hallucinations:count5m
        expr: sum(count_over_time({service_name="rag"} |= "hallucination" [5m]))
"""


def test_logql_rules_alert_on_the_log_store_and_record_to_the_metric_store(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    t = T0_MS
    push_logs(
        server, {"service_name": "rag", "agent": "rag"}, [(t - 60_000, "answer ok"), (t - 30_000, "ok")]
    )
    clock = Clock(t)
    ruler = manual_ruler(server, clock, loki=[_write(tmp_path, "loki.yaml", LOKI)])
    [group] = ruler.groups("logql")
    assert ruler.groups("promql") == []
    alert_rule, record_rule = group.rules
    ruler.evaluate_all(t)
    assert alert_rule.alerting is not None and alert_rule.alerting.state() == "inactive"
    assert alert_rule.health == "ok"

    push_logs(
        server,
        {"service_name": "rag", "agent": "rag"},
        [(t + 1_000, "hallucination detected"), (t + 2_000, "hallucination detected")],
    )
    push_logs(server, {"service_name": "other"}, [(t + 1_500, "hallucination in another service")])
    t1 = clock.advance(5)
    ruler.evaluate_all(t1)
    [alert] = alert_rule.alerting.active.values()
    assert alert.state == "pending" and alert.value == 2.0
    assert alert.annotations["summary"] == "2 unsupported sentence(s) from rag"
    assert [r["value"][1] for r in _query(server, "rag:hallucinations:count5m", t1)] == ["2"]
    assert record_rule.health == "ok"

    t2 = clock.advance(60)
    ruler.evaluate_all(t2)
    assert alert.state == "firing"
    firing = _query(server, 'ALERTS{alertname="HallucinationDetected", alertstate="firing"}', t2)
    assert [r["metric"]["agent"] for r in firing] == ["rag"]
