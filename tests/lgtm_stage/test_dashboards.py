from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from labkit import dashboards
from labkit.observe import Grafana, Loki, Mimir, Tempo

from ._support import Recorder, golden_response

FIRST = dashboards.DASHBOARD_DIR / "first-dashboard.json"


def _matrix(*series: tuple[dict[str, str], list[tuple[float, str]]]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": m, "values": [list(v) for v in vals]} for m, vals in series],
        },
    }


def _vector(*items: tuple[dict[str, str], str]) -> dict:
    return {
        "status": "success",
        "data": {
            "resultType": "vector",
            "result": [{"metric": m, "value": [1795664220, v]} for m, v in items],
        },
    }


def _prometheus(request: httpx.Request) -> httpx.Response:
    query = request.url.params.get("query", "")
    if request.url.path.endswith("/query_range"):
        if "histogram_quantile" in query:
            return httpx.Response(200, json=_matrix(({}, [(1795664100, "0.25"), (1795664115, "0.31")])))
        return httpx.Response(
            200,
            json=_matrix(
                ({"http_response_status_code": "200"}, [(1795664100, "4"), (1795664115, "5")]),
                ({"http_response_status_code": "500"}, [(1795664100, "1")]),
            ),
        )
    if "http_route" in query:
        return httpx.Response(
            200, json=_vector(({"http_route": "/flaky"}, "12"), ({"http_route": "/slow"}, "3"))
        )
    return httpx.Response(200, json=_vector(({}, "0.2")))


class _Clients:
    """The renderer with MockTransport-backed clients (what render() builds from settings)."""

    def __init__(self, settings, loki_answer: str = "logs_otlp_namespace_categorize_labels") -> None:
        self.prom = Recorder(_prometheus)
        self.loki_rec = Recorder(lambda r: golden_response("loki", loki_answer))
        self.renderer = dashboards._Renderer(settings, "now-15m", "now", "15s")
        self.renderer._mimir = Mimir(settings=settings, transport=self.prom.transport())
        self.renderer._loki = Loki(settings=settings, transport=self.loki_rec.transport())
        self.renderer._tempo = Tempo(
            settings=settings,
            transport=Recorder(lambda r: golden_response("tempo", "search_all_limit_50")).transport(),
        )


def test_first_dashboard_renders_every_panel(settings) -> None:
    clients = _Clients(settings)
    rendered = dashboards.render(FIRST, settings=settings, renderer=clients.renderer)
    assert rendered.errors == {}
    assert [p.type for p in rendered.panels] == ["timeseries", "timeseries", "stat", "table", "logs"]

    rate = rendered.panels[0]
    assert rate.figure is not None and set(rate.table["series"]) == {"200", "500"}  # legendFormat applied
    p95 = rendered.panels[1]
    assert p95.table["value"].tolist() == [0.25, 0.31]
    stat = rendered.panels[2]
    assert stat.value == pytest.approx(0.2) and stat.figure is not None
    table = rendered.panels[3]
    assert list(table.table.columns) == ["http_route", "value"] and table.figure is None
    logs = rendered.panels[4]
    assert list(logs.table.columns[:3]) == ["timestamp", "line", "service_name"] and len(logs.table) > 0

    sent = [r.url.params["query"] for r in clients.prom.requests]
    assert any(
        q.startswith("histogram_quantile(0.95, sum by (le) (rate(http_server_request_duration_seconds_bucket")
        for q in sent
    )
    assert clients.loki_rec.last.url.params["query"] == '{service_name="demo-app"} | severity_text="ERROR"'


def test_a_failing_panel_keeps_its_error_and_the_others_render(settings) -> None:
    clients = _Clients(settings, loki_answer="error_syntax")
    rendered = dashboards.render(
        "labkit-first-dashboard", settings=settings, renderer=clients.renderer, draw=False
    )
    assert list(rendered.errors) == ["Error logs"] and "parse error" in rendered.errors["Error logs"]
    assert rendered.panel("p95 latency (s)").table is not None
    with pytest.raises(KeyError, match="no panel titled"):
        rendered.panel("nope")


def test_build_export_and_reload(tmp_path: Path, settings) -> None:
    model = dashboards.new("my-first", "My first dashboard")
    dashboards.add(model, dashboards.timeseries_panel("Rate", "sum(rate(x_total[1m]))", legend="{{job}}"))
    dashboards.add(model, dashboards.timeseries_panel("p95", "histogram_quantile(0.95, x)", unit="s"))
    dashboards.add(model, dashboards.stat_panel("Errors", "sum(x)"))
    dashboards.add(model, dashboards.logs_panel("Error logs", '{service_name="demo-app"}'))
    positions = [(p["id"], p["gridPos"]["x"], p["gridPos"]["y"]) for p in model["panels"]]
    assert positions == [(1, 0, 0), (2, 12, 0), (3, 0, 8), (4, 0, 14)]
    assert model["panels"][0]["targets"][0]["datasource"] == {"type": "prometheus", "uid": "mimir"}
    path = dashboards.export(model, tmp_path / "out" / "my-first.json")
    again = dashboards.load(path)
    assert again == json.loads(path.read_text()) and again["uid"] == "my-first"
    with pytest.raises(ValueError, match="uid"):
        dashboards.new("has space", "x")
    with pytest.raises(ValueError, match="datasource"):
        dashboards._datasource("graphite")
    with pytest.raises(FileNotFoundError):
        dashboards.load(tmp_path / "missing.json")
    with pytest.raises(KeyError, match="no dashboard with uid"):
        dashboards.load("unknown-uid")


def test_push_uploads_the_model(settings) -> None:
    rec = Recorder(
        lambda r: httpx.Response(
            200, json={"uid": "labkit-first-dashboard", "status": "success", "version": 2}
        )
    )
    grafana = Grafana(settings=settings, transport=rec.transport())
    answer = dashboards.push(FIRST, grafana)
    assert answer["status"] == "success"
    body = json.loads(rec.last.content)
    assert rec.last.url.path == "/api/dashboards/db" and body["dashboard"]["uid"] == "labkit-first-dashboard"
    assert len(body["dashboard"]["panels"]) == 5


def test_macros_and_variables_expand() -> None:
    assert (
        dashboards._expand('rate(x{job="$job"}[$__rate_interval])', {"job": "demo"})
        == 'rate(x{job="demo"}[1m])'
    )
    assert dashboards._legend("{{route}} {{ code }}", {"route": "/a", "code": "500"}) == "/a 500"
