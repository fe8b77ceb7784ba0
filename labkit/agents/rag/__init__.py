"""The RAG agent: retrieve -> screen -> answer with citations -> groundedness check."""

from __future__ import annotations

from labkit.agents.rag.graph import AGENT_NAME, RagAnswer, RagConfig, ask, build_graph, inject_fabrication

__all__ = ["AGENT_NAME", "RagAnswer", "RagConfig", "ask", "build_graph", "inject_fabrication"]
