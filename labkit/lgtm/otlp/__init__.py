"""OTLP receivers: one pure decoder shared by the HTTP and gRPC transports."""

from __future__ import annotations

__all__: list[str] = []
