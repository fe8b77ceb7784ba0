"""Read a corpus folder into documents: Markdown, plain text and Jupyter notebooks.

Each file becomes one :class:`Document` whose ``path`` is relative to the corpus
folder (POSIX separators), which is also how relevance judgements name documents.
A file that cannot be indexed (empty, binary, too large, not valid UTF-8, a notebook
that is not JSON) is skipped with a reason and the rest of the corpus still loads:
one bad file must not cost a learner the whole index.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "MAX_FILE_BYTES",
    "SUFFIXES",
    "Document",
    "LoadReport",
    "Skipped",
    "load_corpus",
    "load_file",
]

# Markdown and text are loaded as they are; notebooks keep markdown and code cells.
SUFFIXES = {".md": "markdown", ".markdown": "markdown", ".txt": "text", ".rst": "text", ".ipynb": "notebook"}
# A lab corpus is prose; a multi-MB file is a data dump or a notebook with outputs and
# would swamp the index with one source.
MAX_FILE_BYTES = 2 * 1024 * 1024
_SKIP_DIRS = {".git", ".venv", "node_modules", "__pycache__", ".ipynb_checkpoints", ".labkit"}


@dataclass(frozen=True)
class Document:
    path: str  # relative to the corpus folder, POSIX separators
    kind: str  # markdown | text | notebook
    text: str  # notebooks: cells joined, code cells fenced as ```code```
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Skipped:
    path: str
    reason: str


@dataclass
class LoadReport:
    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


class _Skip(Exception):
    """Internal: this file is not indexable, for the reason given."""


def _decode(data: bytes) -> str:
    if not data.strip():
        raise _Skip("empty file")
    if b"\x00" in data[:8192]:
        raise _Skip("binary file (NUL bytes)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _Skip(f"not valid UTF-8 (byte {exc.start}: {exc.reason})") from None


def _notebook_text(raw: str) -> str:
    try:
        notebook = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise _Skip(f"notebook is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        raise _Skip("notebook has no 'cells' list")
    parts: list[str] = []
    for cell in cells:
        if not isinstance(cell, dict):
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        if not text.strip():
            continue
        if cell.get("cell_type") == "markdown":
            parts.append(text.strip())
        elif cell.get("cell_type") == "code":
            # Fenced so the chunker never reads a '# comment' in code as a heading.
            parts.append("```python\n" + text.strip() + "\n```")
    if not parts:
        raise _Skip("notebook has no markdown or code cells with text")
    return "\n\n".join(parts)


def load_file(path: Path, root: Path) -> Document:
    """Load one file; raises ``ValueError`` with the reason when it cannot be indexed."""
    rel = path.relative_to(root).as_posix()
    kind = SUFFIXES.get(path.suffix.lower())
    try:
        if kind is None:
            raise _Skip(f"unsupported file type {path.suffix or '(none)'}; indexed: {', '.join(SUFFIXES)}")
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise _Skip(f"too large ({size} bytes > {MAX_FILE_BYTES})")
        text = _decode(path.read_bytes())
        if kind == "notebook":
            text = _notebook_text(text)
        if not text.strip():
            raise _Skip("empty file")
    except _Skip as skip:
        raise ValueError(str(skip)) from None
    except OSError as exc:
        raise ValueError(f"cannot read: {exc.strerror or exc}") from None
    tags = tuple(part for part in Path(rel).parent.parts)  # folders are the natural tags
    return Document(path=rel, kind=kind, text=text.replace("\r\n", "\n"), tags=tags)


def _walk(root: Path) -> Iterable[Path]:
    for path in sorted(root.rglob("*")):
        rel_parts = path.relative_to(root).parts
        if any(part in _SKIP_DIRS or part.startswith(".") for part in rel_parts):
            continue
        if path.is_file():
            yield path


def load_corpus(root: Path | str) -> LoadReport:
    """Every indexable file under ``root`` (sorted by path), and the files skipped with reasons."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus folder {root} does not exist or is not a folder")
    report = LoadReport()
    for path in _walk(root):
        rel = path.relative_to(root).as_posix()
        try:
            report.documents.append(load_file(path, root))
        except ValueError as exc:
            report.skipped.append(Skipped(rel, str(exc)))
    return report
