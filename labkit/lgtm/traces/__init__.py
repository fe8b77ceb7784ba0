"""Traces: the span store, the Tempo HTTP API, TraceQL and the metrics-generator."""

from __future__ import annotations

__all__: list[str] = []
