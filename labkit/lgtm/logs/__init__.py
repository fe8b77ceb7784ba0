"""The embedded Loki: log storage (``store``), push decoding (``push``), LogQL (``logql``), HTTP API."""

from __future__ import annotations

__all__: list[str] = []
