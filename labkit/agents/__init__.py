"""Agents built on labkit.llm: each one a LangGraph graph, a service and an image."""

from __future__ import annotations

__all__: list[str] = []
