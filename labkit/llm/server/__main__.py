"""``python -m labkit.llm.server``: serve on the configured ``llm_url`` until interrupted."""

from __future__ import annotations

from labkit.config import load_settings
from labkit.llm.server.runner import serve

if __name__ == "__main__":
    serve(load_settings().llm_url)
