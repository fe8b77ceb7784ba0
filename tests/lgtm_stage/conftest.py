from __future__ import annotations

from pathlib import Path

import pytest

from labkit.config import Settings, load_settings


@pytest.fixture
def settings() -> Settings:
    return load_settings(environ={}, config_file=None, cwd=Path("/"), http_retries=0, http_timeout_s=2.0)
