"""Draw a rendered dashboard as ONE figure laid out on Grafana's 24-column panel grid.

Grafana places each panel by its ``gridPos`` (``x``/``w`` in 24 columns, ``y``/``h`` in
rows of about 30 px). Drawing the panels at those positions, in one image, is what lets
a learner compare the notebook with the same dashboard in Grafana: the time series side
by side, the stat under them, the logs across the bottom. Each panel gets a frame with
its title at the top left; time series get a legend and their unit on the y axis; stat
panels one big number; the logs panel a list of lines (time, level in its colour, trace
id, message), newest first, cut to what fits instead of wrapping into a wide table.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

from labkit.figures import LEVEL_COLOURS, format_value, timeseries, unit_label

__all__ = ["GRID_COLUMNS", "draw_grid", "layout"]

GRID_COLUMNS = 24
FIG_WIDTH_IN = 14.0
ROW_HEIGHT_IN = 0.3  # one gridPos row; a Grafana column is ~2x as wide as a row is high
TITLE_HEIGHT_IN = 0.45
GAP_IN = 0.06
_FRAME = "#d0d4da"
_MONO = "DejaVu Sans Mono"  # ships with matplotlib, so every machine has it


def layout(panels: Sequence[Any]) -> list[tuple[int, int, int, int]]:
    """``(x, y, w, h)`` per panel: its gridPos clamped to the grid; one without goes below the rest."""
    boxes: list[tuple[int, int, int, int]] = []
    bottom = 0
    for panel in panels:
        pos = getattr(panel, "grid_pos", None) or {}
        if not pos:
            boxes.append((-1, -1, GRID_COLUMNS, 8))
            continue
        w = max(1, min(GRID_COLUMNS, int(pos.get("w", 12))))
        x = max(0, min(GRID_COLUMNS - w, int(pos.get("x", 0))))
        y = max(0, int(pos.get("y", 0)))
        h = max(1, int(pos.get("h", 8)))
        boxes.append((x, y, w, h))
        bottom = max(bottom, y + h)
    placed = []
    for x, y, w, h in boxes:
        if x < 0:
            x, y = 0, bottom
            bottom += h
        placed.append((x, y, w, h))
    return placed


def draw_grid(title: str, panels: Sequence[Any]) -> Any:
    """One figure of every panel (duck-typed ``PanelResult``s) at its grid position."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    boxes = layout(panels)
    rows = max((y + h for _, y, _, h in boxes), default=1)
    height = TITLE_HEIGHT_IN + rows * ROW_HEIGHT_IN + GAP_IN
    fig = Figure(figsize=(FIG_WIDTH_IN, height), facecolor="white")
    fig.text(GAP_IN / FIG_WIDTH_IN, 1 - 0.3 / height, title, fontsize=13, weight="bold", va="center")
    col_in = FIG_WIDTH_IN / GRID_COLUMNS
    for panel, (x, y, w, h) in zip(panels, boxes, strict=True):
        # Panel rectangle in inches from the top-left corner, then in figure fractions.
        left_in, top_in = x * col_in + GAP_IN / 2, TITLE_HEIGHT_IN + y * ROW_HEIGHT_IN + GAP_IN / 2
        width_in, height_in = w * col_in - GAP_IN, h * ROW_HEIGHT_IN - GAP_IN
        frame = (left_in / FIG_WIDTH_IN, 1 - (top_in + height_in) / height, width_in / FIG_WIDTH_IN)
        frame_h = height_in / height
        fig.patches.append(
            Rectangle(
                (frame[0], frame[1]),
                frame[2],
                frame_h,
                transform=fig.transFigure,
                facecolor="white",
                edgecolor=_FRAME,
                linewidth=1.0,
                zorder=-1,  # under the axes drawn inside it
            )
        )
        fig.text(
            (left_in + 0.08) / FIG_WIDTH_IN,
            1 - (top_in + 0.15) / height,
            getattr(panel, "title", "") or "",
            fontsize=9,
            weight="bold",
            va="center",
        )
        content = _Content(fig, left_in, top_in + 0.3, width_in, height_in - 0.3, height)
        _draw_panel(panel, content)
    return fig


class _Content:
    """The drawable area of one panel, below its title, in inches from the figure's top left."""

    def __init__(self, fig: Any, left: float, top: float, width: float, height: float, fig_h: float) -> None:
        self.fig, self.left, self.top, self.width, self.height, self.fig_h = (
            fig,
            left,
            top,
            width,
            height,
            fig_h,
        )

    def axes(self, pad_left: float = 0.0, pad_bottom: float = 0.0, pad_right: float = 0.0) -> Any:
        width = max(0.1, self.width - pad_left - pad_right)
        height = max(0.1, self.height - pad_bottom)
        rect = (
            (self.left + pad_left) / FIG_WIDTH_IN,
            1 - (self.top + self.height) / self.fig_h + pad_bottom / self.fig_h,
            width / FIG_WIDTH_IN,
            height / self.fig_h,
        )
        return self.fig.add_axes(rect)


def _draw_panel(panel: Any, content: _Content) -> None:
    kind = getattr(panel, "type", "")
    if getattr(panel, "error", None):
        _message(content, panel.error, colour="#b00020")
    elif kind in ("timeseries", "graph"):
        ax = content.axes(pad_left=0.75, pad_bottom=0.35, pad_right=0.12)
        timeseries(panel.table, unit=getattr(panel, "unit", "") or None, ax=ax)
    elif kind in ("stat", "gauge", "bargauge"):
        _stat(panel, content)
    elif kind == "logs":
        _logs(panel, content)
    elif kind == "table":
        _table(panel, content)
    else:
        _message(content, f"a {kind or 'untyped'} panel: Grafana draws this one", colour="gray")


def _message(content: _Content, text: str, colour: str) -> None:
    ax = content.axes()
    ax.set_axis_off()
    chars = max(20, int(content.width / (8 * 0.6 / 72)))
    ax.text(0.02, 0.9, "\n".join(textwrap.wrap(str(text), chars)[:6]), fontsize=8, color=colour, va="top")


def _stat(panel: Any, content: _Content) -> None:
    ax = content.axes()
    ax.set_axis_off()
    value = getattr(panel, "value", None)
    unit = getattr(panel, "unit", "") or None
    missing = value is None or (isinstance(value, float) and math.isnan(value))
    size = max(14.0, min(40.0, content.height * 72 * 0.45))
    ax.text(
        0.5,
        0.55,
        format_value(value, unit),
        ha="center",
        va="center",
        fontsize=size,
        weight="bold",
        color="gray" if missing else "#1a7f37",
    )
    if unit and unit_label(unit):
        ax.text(0.5, 0.12, unit_label(unit), ha="center", va="center", fontsize=8, color="gray")


def _level(row: Mapping[str, Any]) -> str:
    for key in ("detected_level", "level", "severity_text", "severity"):
        value = row.get(key)
        if value is not None and str(value).strip() and str(value) != "nan":
            return str(value).strip().lower()
    return "unknown"


def _logs(panel: Any, content: _Content) -> None:
    import pandas as pd

    content = _Content(
        content.fig, content.left + 0.08, content.top, content.width - 0.16, content.height, content.fig_h
    )
    ax = content.axes()
    ax.set_axis_off()
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    table = getattr(panel, "table", None)
    if table is None or table.empty:
        ax.text(0.01, 0.9, "no log lines", fontsize=8, color="gray", va="top")
        return
    fontsize = 7.0
    line_in = fontsize * 1.5 / 72
    char_in = fontsize * 0.6 / 72
    capacity = max(1, int(content.height / line_in) - 1)
    columns = max(30, int(content.width / char_in) - 2)
    frame = table.sort_values("timestamp", ascending=False) if "timestamp" in table.columns else table
    shown = frame.head(capacity)
    step = 1.0 / (capacity + 1)
    for i, row in enumerate(shown.to_dict("records")):
        y = 1 - (i + 0.8) * step
        ts = pd.Timestamp(row.get("timestamp")) if row.get("timestamp") is not None else None
        when = ts.strftime("%H:%M:%S.%f")[:-3] if ts is not None and not pd.isna(ts) else "--:--:--"
        level = _level(row)
        trace = str(row.get("trace_id") or "")
        trace = trace if trace and trace != "nan" else "-"
        line = " ".join(str(row.get("line", "")).split())  # one line per entry: no wrapping
        level_at = len(when) + 2
        prefix_chars = level_at + 5 + 2
        trace_text = f"trace={trace}" if columns - prefix_chars > 80 else f"trace={trace[:8]}"
        room = columns - prefix_chars - len(trace_text) - 2
        if room < len(line):
            line = line[: max(0, room - 1)] + "\u2026"
        colour = LEVEL_COLOURS.get(level, LEVEL_COLOURS["unknown"])
        ax.text(0, y, when, fontsize=fontsize, family=_MONO, color="#555", va="center")
        ax.text(
            level_at * char_in / content.width,
            y,
            level[:5].upper(),
            fontsize=fontsize,
            family=_MONO,
            color=colour,
            weight="bold",
            va="center",
        )
        ax.text(
            prefix_chars * char_in / content.width,
            y,
            f"{trace_text}  {line}",
            fontsize=fontsize,
            family=_MONO,
            color="#1d1d1f",
            va="center",
        )
    if len(frame) > len(shown):
        ax.text(
            0.997,
            0.5 * step,
            f"+{len(frame) - len(shown)} more lines",
            fontsize=fontsize,
            color="gray",
            ha="right",
            va="center",
        )


def _table(panel: Any, content: _Content) -> None:
    ax = content.axes()
    ax.set_axis_off()
    table = getattr(panel, "table", None)
    if table is None or table.empty:
        ax.text(0.02, 0.9, "no data", fontsize=8, color="gray", va="top")
        return
    capacity = max(1, int(content.height / (7 * 1.9 / 72)) - 1)
    shown = table.head(capacity)
    cells = [[_cell(v) for v in row] for row in shown.itertuples(index=False)]
    drawn = ax.table(
        cellText=cells, colLabels=[str(c) for c in shown.columns], loc="upper left", cellLoc="left"
    )
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(7)


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "\u2026"
