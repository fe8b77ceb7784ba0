"""Dashboards as code: Grafana dashboard JSON, rendered in a notebook or pushed to Grafana.

``render()`` runs each panel's queries through ``labkit.observe`` against whichever
backend is configured, so the same JSON that Grafana shows on the live stack draws
in a notebook on the embedded one, as ONE figure laid out on Grafana's 24-column grid
(``labkit.panelgrid``): time series as line charts with legends and units, stat as a big
number, the logs panel as a list with level colours and trace ids, tables as tables.
Each panel's data stays available as a DataFrame (``Rendered.panel(title).table``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from labkit.config import Settings, load_settings
from labkit.observe import DATASOURCE_UIDS, Grafana, Loki, Mimir, ObserveError, Tempo

__all__ = [
    "DASHBOARD_DIR",
    "PanelResult",
    "Rendered",
    "add",
    "export",
    "load",
    "logs_panel",
    "new",
    "push",
    "render",
    "stat_panel",
    "table_panel",
    "timeseries_panel",
    "traces_panel",
    "variable",
]

DASHBOARD_DIR = Path(__file__).resolve().parents[1] / "stacks" / "lgtm" / "dashboards"
_KINDS = {v: k for k, v in DATASOURCE_UIDS.items()}  # uid -> datasource type
_GRID_WIDTH = 24


# -- building ------------------------------------------------------------------------------
def new(
    uid: str, title: str, *, time_from: str = "now-15m", refresh: str = "10s", tags: Sequence[str] = ()
) -> dict:
    """An empty dashboard model (Grafana schema 39) for panels to be added to."""
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,40}", uid or ""):
        raise ValueError(f"a dashboard uid is 1-40 letters, digits, '-' or '_', got {uid!r}")
    return {
        "uid": uid,
        "title": title,
        "tags": list(tags),
        "timezone": "utc",
        "schemaVersion": 39,
        "version": 1,
        "editable": True,
        "refresh": refresh,
        "time": {"from": time_from, "to": "now"},
        "templating": {"list": []},
        "annotations": {"list": []},
        "panels": [],
    }


def _datasource(kind: str) -> dict[str, str]:
    if kind not in DATASOURCE_UIDS:
        raise ValueError(f"datasource must be one of {sorted(DATASOURCE_UIDS)}, got {kind!r}")
    return {"type": kind, "uid": DATASOURCE_UIDS[kind]}


def _panel(
    kind: str, title: str, datasource: str, targets: list[dict], width: int, height: int, **extra: Any
) -> dict:
    if not 1 <= width <= _GRID_WIDTH:
        raise ValueError(f"width must be 1..{_GRID_WIDTH}, got {width}")
    panel = {
        "type": kind,
        "title": title,
        "datasource": _datasource(datasource),
        "gridPos": {"h": height, "w": width, "x": 0, "y": 0},
        "targets": [
            {"refId": chr(ord("A") + i), "datasource": _datasource(datasource), **t}
            for i, t in enumerate(targets)
        ],
    }
    panel.update(extra)
    return panel


def timeseries_panel(
    title: str, expr: str, *, legend: str | None = None, unit: str = "short", width: int = 12
) -> dict:
    target = {"expr": expr, **({"legendFormat": legend} if legend else {})}
    return _panel(
        "timeseries",
        title,
        "prometheus",
        [target],
        width,
        8,
        fieldConfig={"defaults": {"unit": unit}, "overrides": []},
    )


def stat_panel(title: str, expr: str, *, unit: str = "short", width: int = 6) -> dict:
    return _panel(
        "stat",
        title,
        "prometheus",
        [{"expr": expr, "instant": True}],
        width,
        6,
        fieldConfig={"defaults": {"unit": unit}, "overrides": []},
        options={"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
    )


def table_panel(title: str, expr: str, *, legend: str | None = None, width: int = 6) -> dict:
    target = {
        "expr": expr,
        "instant": True,
        "format": "table",
        **({"legendFormat": legend} if legend else {}),
    }
    return _panel("table", title, "prometheus", [target], width, 6)


def traces_panel(
    title: str,
    traceql: str,
    *,
    limit: int = 10,
    spans_per_set: int = 50,
    sort_by: str | None = None,
    width: int = 24,
) -> dict:
    """A Tempo search as a table: one row per trace, ``select()``-ed attributes summed over its spans.

    ``sort_by`` (a column, e.g. ``span.gen_ai.usage.output_tokens``) sorts descending, as
    Grafana's table ``sortBy`` option does; ``spans_per_set`` is Tempo's ``spss``: the
    per-trace sums only count the spans the search returns.
    """
    target = {
        "queryType": "traceql",
        "query": traceql,
        "limit": limit,
        "spss": spans_per_set,
        "tableType": "traces",
    }
    options = {"sortBy": [{"displayName": sort_by, "desc": True}]} if sort_by else {}
    return _panel("table", title, "tempo", [target], width, 8, options=options)


def variable(name: str, options: Sequence[str], *, label: str | None = None) -> dict:
    """A custom dashboard variable (``$name``); the first option is the default."""
    if not options:
        raise ValueError(f"variable {name!r} needs at least one option")
    return {
        "name": name,
        "label": label or name,
        "type": "custom",
        "query": ",".join(options),
        "current": {"text": options[0], "value": options[0]},
        "options": [{"text": o, "value": o, "selected": i == 0} for i, o in enumerate(options)],
    }


def logs_panel(title: str, logql: str, *, max_lines: int = 100, width: int = 24) -> dict:
    return _panel(
        "logs",
        title,
        "loki",
        [{"expr": logql, "queryType": "range", "maxLines": max_lines}],
        width,
        10,
        options={"showTime": True, "wrapLogMessage": True, "sortOrder": "Descending"},
    )


def add(model: dict, panel: dict) -> dict:
    """Append a panel, giving it the next id and the next free grid position (left to right, top down)."""
    panels = model.setdefault("panels", [])
    panel = dict(panel)
    panel["id"] = max((p.get("id", 0) for p in panels), default=0) + 1
    w, h = panel["gridPos"]["w"], panel["gridPos"]["h"]
    x = y = 0
    if panels:
        last = panels[-1]["gridPos"]
        x, y = last["x"] + last["w"], last["y"]
        if x + w > _GRID_WIDTH:
            x, y = 0, max(p["gridPos"]["y"] + p["gridPos"]["h"] for p in panels)
    panel["gridPos"] = {"h": h, "w": w, "x": x, "y": y}
    panels.append(panel)
    return panel


# -- loading, exporting, pushing -----------------------------------------------------------
def load(path_or_uid: str | Path | Mapping[str, Any], *, grafana: Grafana | None = None) -> dict[str, Any]:
    """A dashboard model from a dict, a JSON file, a uid in ``stacks/lgtm/dashboards``, or a live Grafana."""
    if isinstance(path_or_uid, Mapping):
        model = dict(path_or_uid)
    else:
        path = Path(path_or_uid)
        if path.suffix == ".json" or path.is_file():
            if not path.is_file():
                raise FileNotFoundError(f"no dashboard file at {path}")
            model = json.loads(path.read_text(encoding="utf-8"))
        else:
            uid = str(path_or_uid)
            bundled = {
                m["uid"]: m
                for m in (json.loads(p.read_text("utf-8")) for p in sorted(DASHBOARD_DIR.glob("*.json")))
            }
            if uid in bundled:
                model = bundled[uid]
            elif grafana is not None:
                model = grafana.dashboard(uid)
            else:
                raise KeyError(
                    f"no dashboard with uid {uid!r} among the bundled ones ({sorted(bundled)}); "
                    "pass grafana= to fetch it from a live Grafana"
                )
    if not isinstance(model.get("panels"), list):
        raise ValueError("not a Grafana dashboard model: it has no 'panels' list")
    return model


def export(model: Mapping[str, Any] | str | Path, path: str | Path) -> Path:
    """Write the dashboard JSON (indent 2, trailing newline) that Grafana can import or provision."""
    model = load(model)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    model = {k: v for k, v in model.items() if k != "id"}  # ids are per Grafana instance
    target.write_text(json.dumps(model, indent=2) + "\n", encoding="utf-8")
    return target


def push(
    model: Mapping[str, Any] | str | Path, grafana: Grafana | None = None, **kwargs: Any
) -> dict[str, Any]:
    """Upload to a live Grafana (``POST /api/dashboards/db``, overwrite by uid)."""
    grafana = grafana or Grafana()
    return grafana.put_dashboard(load(model), **kwargs)


# -- rendering -------------------------------------------------------------------------------
@dataclass
class PanelResult:
    id: int | None
    title: str
    type: str
    frames: list[pd.DataFrame] = field(default_factory=list)
    value: float | None = None  # stat panels
    table: pd.DataFrame | None = None  # table and logs panels, and the data of charts
    figure: Any = None  # this panel alone (charts and stats)
    error: str | None = None
    grid_pos: dict[str, int] | None = None  # where Grafana places it (24 columns)
    unit: str = ""

    def _repr_html_(self) -> str:
        import html

        head = f"<h4>{html.escape(self.title)}</h4>"
        if self.error:
            return head + f"<pre style='color:#b00'>{html.escape(self.error)}</pre>"
        if self.table is not None and self.figure is None:
            return head + self.table.head(50).to_html(index=False)
        return head + f"<p>{self.type}: {'' if self.value is None else self.value}</p>"


@dataclass
class Rendered:
    title: str
    panels: list[PanelResult]
    _figure: Any = field(default=None, repr=False)

    @property
    def figure(self) -> Any:
        """The whole dashboard as one panel-grid figure (drawn once, on first use)."""
        if self._figure is None:
            from labkit.panelgrid import draw_grid

            self._figure = draw_grid(self.title, self.panels)
        return self._figure

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        # A cell ending in `rendered` shows the dashboard image, in papermill and JupyterLab.
        from labkit.figures import _png_formatter

        return {"image/png": _png_formatter(self.figure), "text/plain": repr(self)}

    def __repr__(self) -> str:
        return f"<dashboard {self.title!r}: {len(self.panels)} panels, {len(self.errors)} errors>"

    def panel(self, title: str) -> PanelResult:
        for p in self.panels:
            if p.title == title:
                return p
        raise KeyError(f"no panel titled {title!r}; panels: {[p.title for p in self.panels]}")

    @property
    def errors(self) -> dict[str, str]:
        return {p.title: p.error for p in self.panels if p.error}

    def show(self) -> None:
        """Display the dashboard in the notebook as one image (an ``image/png`` output)."""
        from labkit.figures import show

        show(self.figure)


_MACROS = {
    "$__rate_interval": "1m",
    "${__rate_interval}": "1m",
    "$__interval": "15s",
    "${__interval}": "15s",
}


def _expand(expr: str, variables: Mapping[str, str]) -> str:
    for name, value in {
        **_MACROS,
        **{f"${k}": v for k, v in variables.items()},
        **{f"${{{k}}}": v for k, v in variables.items()},
    }.items():
        expr = expr.replace(name, value)
    return expr


def _legend(template: str | None, labels: Mapping[str, Any]) -> str | None:
    if not template or template == "__auto":
        return None
    return re.sub(
        r"\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}", lambda m: str(labels.get(m.group(1), "")), template
    )


def _kind(panel: Mapping[str, Any], target: Mapping[str, Any]) -> str:
    ds = target.get("datasource") or panel.get("datasource") or {}
    if isinstance(ds, str):
        return _KINDS.get(ds, ds)
    return str(ds.get("type") or _KINDS.get(ds.get("uid", ""), "prometheus"))


def _label_names(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ("timestamp", "value", "series")]


class _Renderer:
    def __init__(self, settings: Settings, start: Any, end: Any, step: str) -> None:
        self.settings, self.start, self.end, self.step = settings, start, end, step
        self._mimir: Mimir | None = None
        self._loki: Loki | None = None
        self._tempo: Tempo | None = None

    @property
    def mimir(self) -> Mimir:
        self._mimir = self._mimir or Mimir(settings=self.settings)
        return self._mimir

    @property
    def loki(self) -> Loki:
        self._loki = self._loki or Loki(settings=self.settings)
        return self._loki

    @property
    def tempo(self) -> Tempo:
        self._tempo = self._tempo or Tempo(settings=self.settings)
        return self._tempo

    def run(self, panel: Mapping[str, Any], target: Mapping[str, Any], expr: str) -> pd.DataFrame:
        kind = _kind(panel, target)
        instant = bool(target.get("instant")) or panel.get("type") in ("stat", "table", "gauge", "bargauge")
        if kind == "prometheus":
            frame = (
                self.mimir.query(expr, self.end)
                if instant
                else self.mimir.query_range(expr, self.start, self.end, self.step)
            )
        elif kind == "loki":
            if panel.get("type") == "logs":
                frame = self.loki.query_range(
                    expr, self.start, self.end, limit=int(target.get("maxLines", 100))
                )
            else:
                frame = self.loki.query_range(expr, self.start, self.end, step=self.step)
        elif kind == "tempo":
            frame = _trace_rows(
                self.tempo.search(
                    expr,
                    self.start,
                    self.end,
                    limit=int(target.get("limit", 20)),
                    spss=int(target.get("spss", 3)),
                )
            )
        else:
            raise ValueError(f"panel datasource type {kind!r} is not one labkit can query")
        legend = target.get("legendFormat")
        if "series" in frame.columns and legend:
            names = _label_names(frame)
            frame = frame.assign(
                series=[
                    _legend(legend, dict(zip(names, row, strict=True)))
                    for row in frame[names].itertuples(index=False)
                ]
            )
        return frame


def render(
    path_or_uid: str | Path | Mapping[str, Any],
    *,
    settings: Settings | None = None,
    start: Any = None,
    end: Any = "now",
    step: str = "15s",
    variables: Mapping[str, str] | None = None,
    draw: bool = True,
    renderer: Any = None,
) -> Rendered:
    """Run every panel's queries against the configured backend and draw them.

    A panel whose query fails keeps its error (``Rendered.errors``) instead of
    stopping the others, as Grafana shows an error in one panel only.
    """
    model = load(path_or_uid)
    settings = settings or load_settings()
    # Grafana runs panels with each variable's current value; explicit ones override.
    variables = {**_variable_defaults(model), **(variables or {})}
    start = start if start is not None else model.get("time", {}).get("from", "now-15m")
    runner = renderer or _Renderer(settings, start, end, step)
    results = []
    for panel in _flat_panels(model["panels"]):
        kind = panel.get("type", "timeseries")
        result = PanelResult(panel.get("id"), panel.get("title", ""), kind)
        result.grid_pos = dict(panel["gridPos"]) if isinstance(panel.get("gridPos"), Mapping) else None
        result.unit = str(panel.get("fieldConfig", {}).get("defaults", {}).get("unit", "") or "")
        try:
            for target in panel.get("targets", []):
                if target.get("hide"):
                    continue
                expr = target.get("expr") or target.get("query")
                if not expr:
                    continue
                result.frames.append(runner.run(panel, target, _expand(str(expr), variables or {})))
            _shape(result, panel)
            if draw:
                result.figure = _draw(result, panel)
        except (ObserveError, ValueError) as exc:
            result.error = str(exc)
        results.append(result)
    return Rendered(model.get("title", ""), results)


def _variable_defaults(model: Mapping[str, Any]) -> dict[str, str]:
    out = {}
    for var in (model.get("templating") or {}).get("list") or []:
        current = (var.get("current") or {}).get("value")
        if isinstance(var.get("name"), str) and isinstance(current, str):
            out[var["name"]] = current
    return out


def _trace_rows(traces: pd.DataFrame) -> pd.DataFrame:
    """Tempo search results as table rows: the matched spans' numeric attributes summed per trace."""
    rows = []
    for trace in traces.itertuples():
        row: dict[str, Any] = {
            "trace_id": trace.trace_id,
            "root_service": trace.root_service,
            "root_name": trace.root_name,
            "duration_ms": trace.duration_ms,
            "matched": trace.matched,
        }
        for span in trace.spans:
            for key, value in span["attributes"].items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    row[f"span.{key}"] = row.get(f"span.{key}", 0) + value
        rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["trace_id", "root_service", "root_name"])


def _flat_panels(panels: list[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    out: list[Mapping[str, Any]] = []
    for panel in panels:
        if panel.get("type") == "row":
            out.extend(panel.get("panels", []))  # collapsed rows keep their panels inside
        else:
            out.append(panel)
    return out


def _shape(result: PanelResult, panel: Mapping[str, Any]) -> None:
    frames = [f for f in result.frames if f is not None]
    combined = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if result.type == "stat":
        if combined.empty:
            result.value = float("nan")
        else:
            reducer = (panel.get("options", {}).get("reduceOptions", {}).get("calcs") or ["lastNotNull"])[0]
            series = combined.sort_values("timestamp")["value"].dropna()
            result.value = _reduce(series, reducer)
        result.table = combined
    elif result.type == "logs":
        columns = [
            c
            for c in ("timestamp", "line", "service_name", "severity_text", "trace_id", "span_id")
            if c in combined.columns
        ]
        result.table = (
            combined[columns + [c for c in combined.columns if c not in columns]]
            if not combined.empty
            else combined
        )
    elif result.type == "table" and "value" in combined.columns:
        names = _label_names(combined)
        result.table = _sorted(combined[[*names, "value"]].reset_index(drop=True), panel)
    elif result.type == "table":
        result.table = _sorted(combined, panel)
    else:
        result.table = combined


def _sorted(table: pd.DataFrame, panel: Mapping[str, Any]) -> pd.DataFrame:
    """Grafana's table ``options.sortBy`` (first entry); a column the data lacks is ignored, as there."""
    sort = (panel.get("options") or {}).get("sortBy") or []
    if not sort or not isinstance(sort[0], Mapping) or sort[0].get("displayName") not in table.columns:
        return table
    column = sort[0]["displayName"]
    return table.sort_values(column, ascending=not sort[0].get("desc", False)).reset_index(drop=True)


def _reduce(series: pd.Series, reducer: str) -> float:
    if series.empty:
        return float("nan")
    functions = {
        "lastNotNull": lambda s: s.iloc[-1],
        "last": lambda s: s.iloc[-1],
        "firstNotNull": lambda s: s.iloc[0],
        "mean": pd.Series.mean,
        "max": pd.Series.max,
        "min": pd.Series.min,
        "sum": pd.Series.sum,
    }
    return float(functions.get(reducer, functions["lastNotNull"])(series))


def _draw(result: PanelResult, panel: Mapping[str, Any]) -> Any:
    """One panel on its own (``PanelResult.figure``); the dashboard figure is ``Rendered.figure``."""
    from labkit.figures import format_value, new_figure, timeseries

    unit = result.unit or None
    if result.type in ("timeseries", "graph"):
        return timeseries(result.table, title=result.title, unit=unit)
    if result.type == "stat":
        fig = new_figure(3, 1.6)
        fig.text(
            0.5, 0.62, format_value(result.value, unit), ha="center", va="center", fontsize=26, weight="bold"
        )
        fig.text(0.5, 0.18, result.title, ha="center", va="center", fontsize=8, color="gray")
        return fig
    return None  # tables and logs are drawn in the dashboard grid and kept as DataFrames
