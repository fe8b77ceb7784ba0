"""PromQL over the embedded metric store: parse (``promql-parser``) -> evaluate -> result.

``instant_query`` and ``range_query`` return the ``data`` object of the Prometheus
HTTP API (``resultType`` + ``result``) with string sample values and float-second
timestamps. Errors are :class:`PromQLError` with Prometheus's ``errorType``.
"""

from __future__ import annotations

from labkit.lgtm.metrics.promql.query import instant_query, range_query
from labkit.lgtm.metrics.promql.values import PromQLError

__all__ = ["PromQLError", "instant_query", "range_query"]
