"""Retrieval-augmented generation: load -> chunk -> embed -> Qdrant -> retrieve -> evaluate.

Submodules are imported on use: ``import labkit`` must not pay for torch.
"""

from __future__ import annotations

__all__: list[str] = []
