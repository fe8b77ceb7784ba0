"""The workbook's own documentation as a corpus, and the labelled questions about it.

:func:`workbook_corpus` copies the prose of a checkout (README files, ``docs/``, the
notebooks) into one folder with the same relative paths, which is what the shipped
judgements (:data:`QUERIES`) name. Code, tests and run outputs stay out: they are not
what a learner asks about, and test fixtures would drown the docs.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from labkit.config import Settings, load_settings

__all__ = ["QUERIES", "find_checkout", "workbook_corpus"]

QUERIES = Path(__file__).with_name("data") / "workbook-queries.jsonl"
_PATTERNS = ("README.md", "docs/*.md", "notebooks/README.md", "notebooks/*/*.ipynb", "stacks/*/README.md")


def find_checkout(start: Path | None = None) -> Path:
    """The checkout holding ``notebooks/`` and ``docs/``: up from ``start`` (or the cwd), else labkit's."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents, Path(__file__).resolve().parents[2]):
        if all((folder / part).exists() for part in ("notebooks", "docs", "README.md")):
            return folder
    raise FileNotFoundError("no workbook checkout (a folder with README.md, docs/ and notebooks/) found")


def workbook_corpus(checkout: Path | None = None, settings: Settings | None = None) -> Path:
    """Copy the workbook's prose into ``<data_dir>/workbook-corpus`` (replaced whole) and return it."""
    settings = settings or load_settings()
    root = checkout or find_checkout()
    dest = (settings.data_dir / "workbook-corpus").resolve()
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".workbook-corpus-", dir=dest.parent))
    for pattern in _PATTERNS:
        for path in sorted(root.glob(pattern)):
            target = staging / path.relative_to(root)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target)
    # Swap in the new copy only when it is complete.
    if dest.exists():
        shutil.rmtree(dest)
    staging.rename(dest)
    return dest
