"""Jumping between signals: a trace's logs, its slowest spans, exemplars and Grafana links."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pandas as pd

from labkit.observe._time import TimeLike
from labkit.observe.loki import Loki
from labkit.observe.mimir import Mimir
from labkit.observe.tempo import Tempo

__all__ = ["DATASOURCE_UIDS", "exemplar_traces", "explore_url", "logs_of_trace", "slowest_spans", "trace_url"]

# The fixed datasource uids provisioned in stacks/lgtm/grafana; dashboards refer to them.
DATASOURCE_UIDS = {"prometheus": "mimir", "loki": "loki", "tempo": "tempo"}


def _hex_id(trace_id: str) -> str:
    if not re.fullmatch(r"[0-9a-fA-F]{1,32}", trace_id or ""):
        raise ValueError(f"a trace id is up to 32 hex characters, got {trace_id!r}")
    return trace_id.lower().rjust(32, "0")


def logs_of_trace(
    trace_id: str,
    loki: Loki,
    *,
    selector: str = '{service_name=~".+"}',
    start: TimeLike = "now-1h",
    end: TimeLike = "now",
    limit: int = 500,
) -> pd.DataFrame:
    """Log lines whose structured metadata carries the trace id (OTLP logs with trace context).

    The filter runs on the ``trace_id`` label that Loki 3 derives from the OTLP
    record, so it finds the lines without parsing them.
    """
    trace_id = _hex_id(trace_id)
    query = f'{selector} | trace_id="{trace_id}"'
    return loki.query_range(query, start, end, limit=limit, direction="forward")


def slowest_spans(
    trace: pd.DataFrame | str, tempo: Tempo | None = None, n: int = 5, by: str = "self_ms"
) -> pd.DataFrame:
    """The ``n`` spans that took longest, by own time (``self_ms``, default) or total ``duration_ms``."""
    if by not in ("self_ms", "duration_ms"):
        raise ValueError(f"by must be 'self_ms' or 'duration_ms', got {by!r}")
    if isinstance(trace, str):
        if tempo is None:
            raise ValueError("pass a Tempo client to look the trace up by id")
        trace = tempo.trace(trace)
    columns = ["service_name", "name", "kind", "depth", "duration_ms", "self_ms", "status_code", "span_id"]
    return trace.sort_values(by, ascending=False).head(n)[columns].reset_index(drop=True)


def exemplar_traces(
    mimir: Mimir,
    promql: str,
    start: TimeLike = "now-15m",
    end: TimeLike = "now",
    grafana_url: str | None = None,
) -> pd.DataFrame:
    """Exemplars of a metric query with a Grafana link to each trace."""
    frame = mimir.exemplars(promql, start, end)
    base = grafana_url or mimir.settings.grafana_url
    frame["trace_url"] = [trace_url(t, base) if t else "" for t in frame["trace_id"]]
    return frame


def explore_url(
    datasource_uid: str, query: dict[str, Any], grafana_url: str, time_from: str = "now-1h"
) -> str:
    """A Grafana Explore link (schema v1 ``panes``) for one query."""
    state = {
        "x": {
            "datasource": datasource_uid,
            "queries": [{"refId": "A", "datasource": {"uid": datasource_uid}, **query}],
            "range": {"from": time_from, "to": "now"},
        }
    }
    panes = quote(json.dumps(state, separators=(",", ":")))
    return f"{grafana_url.rstrip('/')}/explore?schemaVersion=1&panes={panes}"


def trace_url(trace_id: str, grafana_url: str) -> str:
    """Open one trace in Grafana's Tempo datasource."""
    return explore_url(
        DATASOURCE_UIDS["tempo"], {"queryType": "traceql", "query": _hex_id(trace_id)}, grafana_url
    )
