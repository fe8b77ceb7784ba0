"""Figures render as PNG in any IPython shell, and a dashboard draws as one gridPos panel grid."""

from __future__ import annotations

import base64
import types

import numpy as np
import pandas as pd
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.colors import to_hex

from labkit.dashboards import PanelResult, Rendered
from labkit.figures import LEVEL_COLOURS, bars, format_value, register_formatters, timeseries, waterfall
from labkit.panelgrid import layout

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TRACE = "0123456789abcdef" * 2


def _shell() -> types.SimpleNamespace:
    return types.SimpleNamespace(display_formatter=DisplayFormatter())


def _series(n: int = 12) -> pd.DataFrame:
    ts = pd.date_range("2026-12-03 10:00", periods=n, freq="15s", tz="UTC")
    rng = np.random.default_rng(1)
    return pd.DataFrame(
        {
            "timestamp": list(ts) * 2,
            "value": list(rng.random(n)) + list(rng.random(n) / 4),
            "series": ["200"] * n + ["500"] * n,
        }
    )


def test_a_bare_figure_is_text_until_labkit_registers_its_formatter() -> None:
    shell = _shell()
    fig = timeseries(_series(), title="rate", unit="reqps")
    before, _ = shell.display_formatter.format(fig)
    assert "image/png" not in before and before["text/plain"].startswith("<Figure size")  # the bug
    assert register_formatters(shell) is True
    assert register_formatters(shell) is True  # idempotent
    after, _ = shell.display_formatter.format(fig)
    assert base64.b64decode(after["image/png"]).startswith(PNG_MAGIC)


def test_register_formatters_outside_ipython_is_false() -> None:
    assert register_formatters(types.SimpleNamespace()) is False


@pytest.mark.parametrize(
    ("value", "unit", "text"),
    [
        (0.213, "percentunit", "21.3%"),
        (0.25, "s", "250 ms"),
        (2.5, "s", "2.50 s"),
        (1.234, "reqps", "1.23 req/s"),
        (2048, "bytes", "2.0 KiB"),
        (float("nan"), "s", "no data"),
        (None, None, "no data"),
        (12345.678, "short", "1.235e+04"),
    ],
)
def test_format_value_follows_grafana_units(value: float | None, unit: str | None, text: str) -> None:
    assert format_value(value, unit) == text


def test_timeseries_has_a_line_and_legend_entry_per_series() -> None:
    fig = timeseries(_series(), title="Request rate", unit="reqps")
    (ax,) = fig.axes
    assert len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["200", "500"]
    assert ax.yaxis.get_major_formatter()(0.5, 0) == "0.50 req/s"


def test_bars_and_waterfall_draw_their_data() -> None:
    tokens = pd.DataFrame(
        {
            "node": ["review", "review", "validate"],
            "token_type": ["input", "output", "input"],
            "value": [10, 5, 3],
        }
    )
    (ax,) = bars(tokens, x="node", hue="token_type", horizontal=True).axes
    assert len(ax.patches) == 4  # 2 nodes x 2 token types (a missing pair is a 0-width bar)
    start = pd.Timestamp("2026-12-03 10:00", tz="UTC")
    spans = pd.DataFrame(
        {
            "name": ["GET /fail", "db.query"],
            "start": [start, start + pd.Timedelta(milliseconds=2)],
            "duration_ms": [10.0, 4.0],
            "depth": [0, 1],
            "status_code": ["error", "unset"],
        }
    )
    (ax,) = waterfall(spans, title="trace").axes
    first, second = ax.patches
    assert to_hex(first.get_facecolor()) == "#d62728" and second.get_x() == pytest.approx(2.0)


def _dashboard() -> Rendered:
    logs = pd.DataFrame(
        {
            "timestamp": pd.date_range("2026-12-03 10:00", periods=3, freq="1s", tz="UTC"),
            "line": ["GET /fail -> 500 " + "x" * 400, "slow request", "started"],
            "severity_text": ["ERROR", "WARN", "INFO"],
            "trace_id": [TRACE, TRACE, ""],
        }
    )
    return Rendered(
        "board",
        [
            PanelResult(
                1, "Request rate", "timeseries", table=_series(), grid_pos={"x": 0, "y": 0, "w": 12, "h": 8}
            ),
            PanelResult(
                2, "p95", "timeseries", table=_series(), grid_pos={"x": 12, "y": 0, "w": 12, "h": 8}, unit="s"
            ),
            PanelResult(
                3, "Errors", "stat", value=0.2, grid_pos={"x": 0, "y": 8, "w": 6, "h": 6}, unit="percentunit"
            ),
            PanelResult(4, "Error logs", "logs", table=logs, grid_pos={"x": 0, "y": 14, "w": 24, "h": 10}),
            PanelResult(5, "Broken", "timeseries", error="parse error at 1:5", grid_pos=None),
        ],
    )


def test_dashboard_is_one_figure_laid_out_by_grid_pos() -> None:
    rendered = _dashboard()
    assert layout(rendered.panels) == [
        (0, 0, 12, 8),
        (12, 0, 12, 8),
        (0, 8, 6, 6),
        (0, 14, 24, 10),
        (0, 24, 24, 8),
    ]
    fig = rendered.figure
    assert fig is rendered.figure  # drawn once
    ts_left, ts_right = (ax for ax in fig.axes if ax.lines)
    assert ts_left.get_position().x1 < 0.5 < ts_right.get_position().x0
    assert ts_left.get_position().y0 == pytest.approx(ts_right.get_position().y0)
    texts = [t for ax in fig.axes for t in ax.texts] + list(fig.texts)
    by_text = {t.get_text(): t for t in texts}
    assert "20.0%" in by_text  # the stat, in its unit
    assert to_hex(by_text["ERROR"].get_color()) == LEVEL_COLOURS["error"]
    assert to_hex(by_text["WARN"].get_color()) == LEVEL_COLOURS["warn"]
    log_lines = [t.get_text() for t in texts if t.get_text().startswith("trace=")]
    assert any(TRACE in line for line in log_lines)
    assert all("\n" not in line and len(line) < 260 for line in log_lines)  # one line each, cut to fit
    assert any("parse error at 1:5" in t.get_text() for t in texts)  # the broken panel says why


def test_rendered_displays_as_a_png_bundle() -> None:
    bundle = _dashboard()._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_MAGIC)
    assert bundle["text/plain"] == "<dashboard 'board': 5 panels, 1 errors>"
