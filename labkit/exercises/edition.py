"""Build the learner edition of the workbook: every solution replaced by its stub and hint.

The repository keeps only the solution edition; the learner edition is generated (by
default into ``<data_dir>/learner/``, which is not committed). It mirrors the folders
below ``notebooks/`` and copies the files that sit next to each notebook, so a notebook's
relative paths mean the same in both editions. An existing learner notebook is never
overwritten without ``force``: it holds the learner's work.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from labkit.exercises.markers import MarkerError
from labkit.exercises.notebook import learner_notebook, load_notebook, scan

__all__ = ["EditionReport", "build_learner_edition", "default_output"]


@dataclass
class EditionReport:
    output: Path
    written: list[str] = field(default_factory=list)  # notebook names (``04-x/04-x.ipynb``)
    kept: list[str] = field(default_factory=list)  # already there: the learner's own work
    exercises: dict[str, int] = field(default_factory=dict)  # name -> exercise checks


def default_output(settings: object | None = None) -> Path:
    """``<data_dir>/learner`` of the effective settings, as an absolute path."""
    from labkit.config import load_settings
    from labkit.runner import kernel_env

    settings = settings or load_settings()
    return Path(kernel_env(settings)["LABKIT_DATA_DIR"]) / "learner"  # type: ignore[arg-type]


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def build_learner_edition(
    paths: Sequence[str | Path] = (),
    output: str | Path | None = None,
    *,
    force: bool = False,
    settings: object | None = None,
) -> EditionReport:
    """Write the learner edition of the notebooks under ``paths`` (default ``notebooks/``).

    Every notebook is parsed before anything is written, so a broken marker anywhere
    (MarkerError, naming file, cell and problem) leaves the output folder untouched.
    """
    from labkit.runner import discover

    specs = discover(list(paths))
    out_dir = Path(output) if output is not None else default_output(settings)
    report = EditionReport(out_dir.resolve())
    editions = []
    for spec in specs:
        try:
            nb = load_notebook(spec.source)
        except ValueError as exc:
            raise MarkerError(spec.source, None, None, None, str(exc)) from None
        learner = learner_notebook(nb, spec.source, spec.path)
        editions.append((spec, learner, len(scan(nb, spec.source).checks)))
    for spec, learner, count in editions:
        target = out_dir / spec.path
        report.exercises[spec.path] = count
        if target.exists() and not force:
            report.kept.append(spec.path)
            continue
        _write_atomic(target, json.dumps(learner, indent=1, ensure_ascii=False) + "\n")
        report.written.append(spec.path)
        # Files a notebook reads sit next to it (notebooks/README.md): bring them along.
        for companion in sorted(spec.source.parent.iterdir()):
            if companion.is_file() and companion.suffix != ".ipynb" and not companion.name.startswith("."):
                dest = target.parent / companion.name
                if force or not dest.exists():
                    shutil.copy2(companion, dest)
    return report
