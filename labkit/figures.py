"""Charts that render everywhere: executed notebooks (papermill, nbconvert HTML) and JupyterLab.

labkit draws on ``matplotlib.figure.Figure`` objects directly, never through pyplot, so
no global figure state leaks between charts and nothing is shown twice. The catch: IPython
only knows how to turn a ``Figure`` into an image once matplotlib's inline backend has been
activated, which happens when *pyplot* is imported. Without it a figure displays as its
text repr, ``<Figure size 896x300 with 1 Axes>``. :func:`register_formatters` teaches the
running IPython shell an ``image/png`` formatter for ``Figure`` (by name, so it costs no
matplotlib import); ``import labkit`` calls it inside a kernel, and :func:`show` displays a
figure as an explicit PNG bundle for callers outside IPython's formatter machinery.

The small chart helpers here (time series, bars, a trace waterfall) are the ones the
notebooks need; each returns the figure and draws into a given ``ax`` when one is passed.
"""

from __future__ import annotations

import base64
import io
import math
import sys
from typing import Any

__all__ = [
    "LEVEL_COLOURS",
    "bars",
    "format_value",
    "new_figure",
    "register_formatters",
    "show",
    "timeseries",
    "to_png",
    "unit_label",
    "waterfall",
]

PNG_DPI = 100

# Log level -> colour, as Grafana's logs panel marks them.
LEVEL_COLOURS: dict[str, str] = {
    "critical": "#8e0000",
    "fatal": "#8e0000",
    "error": "#d62728",
    "warn": "#e69500",
    "warning": "#e69500",
    "info": "#2ca02c",
    "debug": "#1f77b4",
    "trace": "#7f7f7f",
    "unknown": "#7f7f7f",
}


def to_png(fig: Any, dpi: int = PNG_DPI) -> bytes:
    """The figure as PNG bytes (Agg canvas; no GUI, no pyplot)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    if not isinstance(fig.canvas, FigureCanvasAgg):
        FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buffer.getvalue()


def _png_formatter(fig: Any) -> str:
    # IPython's image/png formatter may return base64 text; it is what the inline backend does.
    return base64.b64encode(to_png(fig)).decode("ascii")


def register_formatters(shell: Any = None) -> bool:
    """Give the running IPython shell an ``image/png`` formatter for matplotlib figures.

    Idempotent and cheap (registered by type name: matplotlib is imported only when a
    figure is first displayed). Returns False outside IPython. If pyplot's inline backend
    is activated later it installs its own formatter for the same type, replacing ours,
    so a figure never shows twice.
    """
    if shell is None:
        ipython = sys.modules.get("IPython")
        if ipython is None:
            return False
        shell = ipython.get_ipython()
        if shell is None:
            return False
    formatters = getattr(getattr(shell, "display_formatter", None), "formatters", None)
    if not formatters or "image/png" not in formatters:
        return False
    png = formatters["image/png"]
    try:
        png.lookup_by_type("matplotlib.figure.Figure")
    except KeyError:
        png.for_type_by_name("matplotlib.figure", "Figure", _png_formatter)
    return True


def show(fig: Any) -> Any:
    """Display ``fig`` as a PNG image (plus its text repr) in the notebook; returns the figure.

    Outside IPython this does nothing, so library code can call it unconditionally.
    """
    try:
        from IPython.display import display
    except ImportError:
        return fig
    display({"image/png": _png_formatter(fig), "text/plain": repr(fig)}, raw=True)
    return fig


def new_figure(width: float = 8.0, height: float = 3.0) -> Any:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


# -- units ---------------------------------------------------------------------------------
_UNIT_LABELS = {
    "s": "seconds",
    "ms": "milliseconds",
    "reqps": "requests/s",
    "percentunit": "percent",
    "percent": "percent",
    "bytes": "bytes",
    "short": "",
    "none": "",
    "currencyUSD": "USD",
}


def unit_label(unit: str | None) -> str:
    """Axis label for a Grafana unit id (``reqps`` -> ``requests/s``); unknown units as given."""
    if not unit:
        return ""
    return _UNIT_LABELS.get(unit, unit)


def format_value(value: float | None, unit: str | None = None) -> str:
    """A value as Grafana would print it for ``unit``: 0.25 percentunit -> ``25.0%``, 0.2 s -> ``200 ms``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "no data"
    v = float(value)
    if unit == "percentunit":
        return f"{v * 100:.1f}%"
    if unit == "percent":
        return f"{v:.1f}%"
    if unit == "s":
        return f"{v * 1000:.0f} ms" if abs(v) < 1 else f"{v:.2f} s"
    if unit == "ms":
        return f"{v:.0f} ms" if abs(v) >= 1 else f"{v:.2f} ms"
    if unit == "reqps":
        return f"{v:.2f} req/s"
    if unit == "bytes":
        for suffix in ("B", "KiB", "MiB", "GiB"):
            if abs(v) < 1024 or suffix == "GiB":
                return f"{v:.0f} {suffix}" if suffix == "B" else f"{v:.1f} {suffix}"
            v /= 1024
    if unit == "currencyUSD":
        return f"${v:.4g}"
    return f"{v:.4g}"


def _axis_formatter(unit: str | None) -> Any:
    from matplotlib.ticker import FuncFormatter

    if unit in ("percentunit", "percent", "s", "ms", "reqps", "bytes", "currencyUSD"):
        return FuncFormatter(lambda v, _pos: format_value(v, unit))
    return None


# -- charts --------------------------------------------------------------------------------
def timeseries(
    frame: Any,
    *,
    title: str = "",
    unit: str | None = None,
    ax: Any = None,
    max_series: int = 10,
    legend: bool = True,
) -> Any:
    """Line chart of a long frame (``timestamp``, ``value``, ``series`` or label columns) as
    labkit.observe returns for range queries; one line per series, a legend, the unit on the y axis."""
    import pandas as pd

    from labkit.observe import wide

    fig = None
    if ax is None:
        fig = new_figure()
        ax = fig.add_subplot()
    data = wide(frame) if frame is not None and not frame.empty and "timestamp" in frame.columns else None
    if data is None or data.empty or len(data.columns) == 0:
        # Grafana says "No data" too, e.g. a rate() over a single sample.
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    else:
        for column in list(data.columns)[:max_series]:
            label = str(column) if str(column) not in ("{}", "") else "value"
            ax.plot(pd.to_datetime(data.index), data[column], label=label[:60], linewidth=1.4)
        formatter = _axis_formatter(unit)
        if formatter is not None:
            ax.yaxis.set_major_formatter(formatter)
        _time_axis(ax)
        if legend and (len(data.columns) > 1 or str(data.columns[0]) not in ("{}", "")):
            ax.legend(fontsize=7, loc="upper left", framealpha=0.8)
        ax.grid(alpha=0.3)
    if unit and unit_label(unit) and _axis_formatter(unit) is None:
        ax.set_ylabel(unit_label(unit), fontsize=8)  # formatted ticks already carry the unit
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    ax.tick_params(labelsize=7)
    return fig if fig is not None else ax.figure


def _time_axis(ax: Any) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=3, maxticks=6)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))


def bars(
    frame: Any,
    *,
    x: str,
    y: str = "value",
    hue: str | None = None,
    title: str = "",
    unit: str | None = None,
    ax: Any = None,
    horizontal: bool = False,
) -> Any:
    """Bar chart of ``y`` per ``x`` (stacked by ``hue`` when given), values labelled in ``unit``."""
    fig = None
    if ax is None:
        fig = new_figure()
        ax = fig.add_subplot()
    if frame is None or frame.empty:
        ax.text(0.5, 0.5, "no data", ha="center", va="center", transform=ax.transAxes, color="gray")
    else:
        table = (
            frame.pivot_table(index=x, columns=hue, values=y, aggfunc="sum", fill_value=0)
            if hue
            else frame.groupby(x)[y].sum().to_frame(y)
        )
        positions = range(len(table.index))
        bottom = [0.0] * len(table.index)
        for column in table.columns:
            values = [float(v) for v in table[column]]
            label = str(column) if hue else None
            if horizontal:
                ax.barh(list(positions), values, left=bottom, label=label)
            else:
                ax.bar(list(positions), values, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        names = [str(i)[:30] for i in table.index]
        if horizontal:
            ax.set_yticks(list(positions), names, fontsize=8)
            ax.invert_yaxis()
        else:
            ax.set_xticks(list(positions), names, fontsize=8, rotation=20, ha="right")
        formatter = _axis_formatter(unit)
        if formatter is not None:
            (ax.xaxis if horizontal else ax.yaxis).set_major_formatter(formatter)
        if hue:
            ax.legend(fontsize=7, title=hue, title_fontsize=7)
        ax.grid(alpha=0.3, axis="x" if horizontal else "y")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    if unit and unit_label(unit):
        (ax.set_xlabel if horizontal else ax.set_ylabel)(unit_label(unit), fontsize=8)
    return fig if fig is not None else ax.figure


def waterfall(spans: Any, *, title: str = "", ax: Any = None, max_spans: int = 30) -> Any:
    """A trace as Tempo draws it: one bar per span from its start, indented by depth, errors in red.

    ``spans`` is ``labkit.observe.Tempo.trace()``'s frame (``name``, ``start``, ``duration_ms``,
    ``depth``, ``status_code``).
    """
    import pandas as pd

    rows = spans.head(max_spans) if spans is not None else None
    height = 0.8 + 0.28 * (0 if rows is None else len(rows))
    fig = None
    if ax is None:
        fig = new_figure(8.0, max(1.8, height))
        ax = fig.add_subplot()
    if rows is None or rows.empty or not {"start", "duration_ms", "name"} <= set(rows.columns):
        ax.text(0.5, 0.5, "no spans", ha="center", va="center", transform=ax.transAxes, color="gray")
        return fig if fig is not None else ax.figure
    starts = pd.to_datetime(rows["start"], utc=True)
    offsets_ms = (starts - starts.min()).dt.total_seconds() * 1000
    errors = rows.get("status_code", pd.Series([""] * len(rows))).astype(str).str.lower()
    colours = ["#d62728" if ("error" in s or s == "2") else "#1f77b4" for s in errors]
    positions = list(range(len(rows)))
    ax.barh(positions, rows["duration_ms"].astype(float), left=offsets_ms, color=colours, height=0.6)
    depths = rows["depth"] if "depth" in rows.columns else pd.Series([0] * len(rows))
    labels = [f"{'  ' * int(d)}{str(n)[:40]}" for d, n in zip(depths, rows["name"], strict=True)]
    ax.set_yticks(positions, labels, fontsize=7, family="monospace")
    ax.invert_yaxis()
    for pos, (left, width) in enumerate(zip(offsets_ms, rows["duration_ms"].astype(float), strict=True)):
        ax.text(left + width, pos, f" {width:.1f} ms", va="center", fontsize=6, color="#333")
    ax.set_xlabel("milliseconds since the trace started", fontsize=8)
    ax.tick_params(axis="x", labelsize=7)
    ax.grid(alpha=0.3, axis="x")
    if title:
        ax.set_title(title, fontsize=10, loc="left")
    return fig if fig is not None else ax.figure
