"""The embedded LGTM server: OTLP ingest into DuckDB and Tempo/Loki/Mimir-compatible query APIs.

Submodules are imported on demand; importing this package must stay cheap because
``labkit stack`` and the runner only need ``labkit.lgtm.process``.
"""

from __future__ import annotations

__all__: list[str] = []
