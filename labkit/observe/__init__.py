"""Query clients for the LGTM backends, answering with pandas DataFrames.

The same calls work against the embedded server and the live stack: both speak the
Prometheus (Mimir), Loki, Tempo and Grafana HTTP APIs at the configured URLs.

```python
from labkit.observe import Mimir, Loki, Tempo
Mimir().query_range('sum(rate(http_server_request_duration_seconds_count[1m]))')
```
"""

from __future__ import annotations

from labkit.observe._frames import result_frame, series_key, wide
from labkit.observe._http import BackendUnavailable, NotFound, ObserveError, QueryError
from labkit.observe._time import parse_duration, to_timestamp
from labkit.observe.correlate import (
    DATASOURCE_UIDS,
    exemplar_traces,
    explore_url,
    logs_of_trace,
    slowest_spans,
    trace_url,
)
from labkit.observe.explorer import QueryExplorer, explorer
from labkit.observe.grafana import Grafana
from labkit.observe.loki import Loki
from labkit.observe.mimir import Mimir
from labkit.observe.tempo import Tempo

__all__ = [
    "DATASOURCE_UIDS",
    "BackendUnavailable",
    "Grafana",
    "Loki",
    "Mimir",
    "NotFound",
    "ObserveError",
    "QueryError",
    "QueryExplorer",
    "Tempo",
    "exemplar_traces",
    "explore_url",
    "explorer",
    "logs_of_trace",
    "parse_duration",
    "result_frame",
    "series_key",
    "slowest_spans",
    "to_timestamp",
    "trace_url",
    "wide",
]
