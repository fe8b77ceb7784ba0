"""Fixtures for labkit.rag: a local-mode Qdrant store in a temporary folder, small corpora."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.config import load_settings
from labkit.rag.store import VectorStore, _open_local

DATA = Path(__file__).parent / "data"

CORPUS = {
    "guide/setup.md": (
        "# Setup\n\nInstall the package with pip and run the doctor command to check the machine.\n\n"
        "## Ports\n\nThe embedded server listens on port 4318 for OTLP over HTTP and on 4317 for gRPC.\n"
    ),
    "guide/logs.md": (
        "# Logs\n\nLoki stores log lines with labels. Query them with LogQL, for example a line filter "
        "on the word error.\n\n## Retention\n\nOld log lines are deleted after 72 hours.\n"
    ),
    "notes/cooking.txt": "Bake the bread at 220 degrees for forty minutes, then let it cool on a rack.\n",
    "lab.ipynb": (
        '{"cells": [{"cell_type": "markdown", "source": ["# Traces lab\\n", "Tempo keeps spans; '
        'TraceQL finds them by service name."]}, {"cell_type": "code", "source": ["# not a heading\\n", '
        '"print(1)"]}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'
    ),
}


def write_corpus(root: Path, files: dict[str, str | bytes] | None = None) -> Path:
    for rel, content in (files or CORPUS).items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def store(tmp_path: Path) -> Iterator[VectorStore]:
    opened = _open_local(tmp_path / "qdrant", "test")
    yield opened
    opened.close()


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    return write_corpus(tmp_path / "corpus")


@pytest.fixture
def settings(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_settings(environ={}, config_file=None, cwd=Path("/"), data_dir=tmp_path, backend="embedded")
