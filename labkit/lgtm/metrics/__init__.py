"""Metrics for the embedded server: OTLP and remote-write ingest, series store, PromQL, Prometheus API."""

from __future__ import annotations

__all__: list[str] = []
