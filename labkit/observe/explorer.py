"""A small query explorer for learners: pick Mimir, Loki or Tempo, type a query, see a table or a plot.

The widget needs a live Jupyter frontend; executed notebooks (papermill, HTML reports)
have none, so the object also carries a ``text/html`` rendering of its last result.
The click callback is a plain method (``on_run``) so tests can invoke it directly.
"""

from __future__ import annotations

import base64
import html
import io
from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

from labkit.config import Settings, load_settings
from labkit.observe._frames import wide
from labkit.observe._http import ObserveError
from labkit.observe.loki import Loki
from labkit.observe.mimir import Mimir
from labkit.observe.tempo import Tempo

__all__ = ["EXAMPLES", "ExplorerResult", "QueryExplorer", "explorer"]

Source = Literal["Mimir", "Loki", "Tempo"]
EXAMPLES: dict[str, str] = {
    "Mimir": "sum by (job) (rate(http_server_request_duration_seconds_count[1m]))",
    "Loki": '{service_name=~".+"} | severity_text="ERROR"',
    "Tempo": "{ status = error }",
}


@dataclass
class ExplorerResult:
    source: str
    query: str
    frame: pd.DataFrame | None = None
    error: str | None = None
    kind: Literal["table", "plot", "error"] = "table"
    figure: Any = field(default=None, repr=False)

    def to_html(self, max_rows: int = 20) -> str:
        head = f"<p><b>{html.escape(self.source)}</b>: <code>{html.escape(self.query)}</code></p>"
        if self.error is not None:
            return head + f"<pre style='color:#b00'>{html.escape(self.error)}</pre>"
        assert self.frame is not None
        body = ""
        if self.figure is not None:
            buffer = io.BytesIO()
            self.figure.savefig(buffer, format="png", bbox_inches="tight")
            body += f"<img src='data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode()}'/>"
        shown = self.frame.head(max_rows)
        with pd.option_context("display.max_colwidth", 80):
            body += shown.to_html(index=False, escape=True)
        return head + body + f"<p>{len(self.frame)} rows</p>"


class QueryExplorer:
    """Runs queries against the configured backends and shows the answer."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        mimir: Mimir | None = None,
        loki: Loki | None = None,
        tempo: Tempo | None = None,
        window: str = "now-30m",
    ) -> None:
        self.settings = settings or load_settings()
        self._clients: dict[str, Any] = {"Mimir": mimir, "Loki": loki, "Tempo": tempo}
        self.window = window
        self.last: ExplorerResult | None = None
        self._widget: Any = None

    def client(self, source: str) -> Any:
        if source not in self._clients:
            raise ValueError(f"source must be one of {sorted(self._clients)}, got {source!r}")
        if self._clients[source] is None:
            cls = {"Mimir": Mimir, "Loki": Loki, "Tempo": Tempo}[source]
            self._clients[source] = cls(settings=self.settings)
        return self._clients[source]

    def run(self, source: str, query: str) -> ExplorerResult:
        """Run one query; backend errors become an ``error`` result instead of an exception."""
        if not query or not query.strip():
            result = ExplorerResult(source, query, error="type a query first", kind="error")
            self.last = result
            return result
        try:
            client = self.client(source)
            if source == "Mimir":
                frame = client.query_range(query, self.window, "now", step="15s")
            elif source == "Loki":
                frame = client.query_range(query, self.window, "now", limit=200)
            else:
                frame = client.search(query, self.window, "now", limit=50)
            result = ExplorerResult(source, query, frame=frame)
            if frame.attrs.get("result_type") in ("matrix", "vector") and not frame.empty:
                result.kind = "plot"
                result.figure = _plot(frame, f"{source}: {query}")
        except (ObserveError, ValueError) as exc:
            result = ExplorerResult(source, query, error=str(exc), kind="error")
        self.last = result
        return result

    # -- widget ---------------------------------------------------------------------------
    def widget(self, source: Source = "Mimir", query: str | None = None) -> Any:
        import ipywidgets as w

        self._source = w.Dropdown(options=list(EXAMPLES), value=source, description="source")
        self._query = w.Textarea(value=query or EXAMPLES[source], layout=w.Layout(width="100%"))
        self._button = w.Button(description="Run", button_style="primary")
        self._output = w.Output()
        self._source.observe(self._on_source, names="value")
        self._button.on_click(self.on_run)
        self._widget = w.VBox([w.HBox([self._source, self._button]), self._query, self._output])
        return self._widget

    def _on_source(self, change: dict[str, Any]) -> None:
        self._query.value = EXAMPLES[change["new"]]

    def on_run(self, _button: Any = None) -> ExplorerResult:
        """The Run button's callback: query, then draw the table or the plot into the output area."""
        from IPython.display import HTML

        result = self.run(self._source.value, self._query.value)
        # Replace the outputs directly: `with output:` capture needs a kernel, this works anywhere.
        self._output.outputs = ()
        self._output.append_display_data(HTML(result.to_html()))
        return result

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        widget = self._widget if self._widget is not None else self.widget()
        bundle = dict(widget._repr_mimebundle_(include=include, exclude=exclude) or {})
        bundle["text/html"] = (
            self.last.to_html() if self.last else "<p>query explorer (needs a live Jupyter)</p>"
        )
        return bundle


def _plot(frame: pd.DataFrame, title: str) -> Any:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 3))
    ax = fig.add_subplot()
    table = wide(frame)
    for column in list(table.columns)[:10]:
        ax.plot(table.index, table[column], label=str(column)[:60])
    ax.set_title(title[:90], fontsize=9)
    if len(table.columns) > 1:
        ax.legend(fontsize=7)
    fig.autofmt_xdate()
    return fig


def explorer(
    source: Source = "Mimir", query: str | None = None, settings: Settings | None = None
) -> QueryExplorer:
    """An explorer preloaded with one query (run now, so executed notebooks show its answer)."""
    exp = QueryExplorer(settings)
    exp.widget(source, query)
    exp.on_run()
    return exp
