from __future__ import annotations

import httpx
import pytest

from labkit.observe import Loki, Mimir, QueryExplorer, Tempo

from ._support import Recorder, golden_response

MATRIX = {
    "status": "success",
    "data": {
        "resultType": "matrix",
        "result": [{"metric": {"job": "demo"}, "values": [[1795664100, "3"], [1795664115, "4"]]}],
    },
}


@pytest.fixture
def explorer(settings) -> QueryExplorer:
    mimir = Mimir(
        settings=settings, transport=Recorder(lambda r: httpx.Response(200, json=MATRIX)).transport()
    )
    loki = Loki(
        settings=settings, transport=Recorder(lambda r: golden_response("loki", "error_syntax")).transport()
    )
    tempo = Tempo(
        settings=settings,
        transport=Recorder(lambda r: golden_response("tempo", "search_all_limit_50")).transport(),
    )
    return QueryExplorer(settings, mimir=mimir, loki=loki, tempo=tempo)


def test_run_button_callback_plots_metrics(explorer: QueryExplorer) -> None:
    explorer.widget("Mimir", "sum(rate(x[1m]))")
    result = explorer.on_run(None)
    assert result.kind == "plot" and result.figure is not None
    assert result.frame is not None and result.frame["value"].tolist() == [3.0, 4.0]
    html = result.to_html()
    assert "data:image/png;base64," in html and "2 rows" in html
    assert len(explorer._output.outputs) == 1  # the callback drew into the output area


def test_switching_source_loads_its_example_and_tempo_gives_a_table(explorer: QueryExplorer) -> None:
    explorer.widget("Mimir")
    explorer._source.value = "Tempo"
    assert explorer._query.value.startswith("{")
    result = explorer.on_run()
    assert result.kind == "table" and result.frame is not None and len(result.frame) == 40


def test_backend_errors_are_shown_not_raised(explorer: QueryExplorer) -> None:
    explorer.widget("Loki", '{service_name="checkout"')
    result = explorer.on_run()
    assert result.kind == "error" and "parse error" in (result.error or "")
    assert "parse error" in result.to_html()
    assert explorer.run("Mimir", " ").error == "type a query first"
    with pytest.raises(ValueError, match="source"):
        explorer.client("Prometheus")


def test_mimebundle_degrades_to_html(explorer: QueryExplorer) -> None:
    explorer.widget("Mimir", "up")
    explorer.on_run()
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "<b>Mimir</b>" in bundle["text/html"]
