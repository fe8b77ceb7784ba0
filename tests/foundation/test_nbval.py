"""nbval over the notebooks with cells tagged ``nbval-check-output``: their outputs must match.

The same check by hand: ``python -m pytest --nbval-lax notebooks/``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import REPO, clean_env

pytestmark = pytest.mark.notebook


def _has_tagged_outputs(path: Path) -> bool:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return any("nbval-check-output" in c.get("metadata", {}).get("tags", []) for c in cells)


# Only notebooks with tagged cells: that every cell of every notebook runs is proven by the
# whole-workbook run (tests/test_workbook_notebooks.py), which executes each notebook once.
NOTEBOOKS = sorted(
    p
    for p in (REPO / "notebooks").rglob("*.ipynb")
    if not any(part.startswith(".") for part in p.parts) and _has_tagged_outputs(p)
)


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.relative_to(REPO / "notebooks").as_posix())
def test_tagged_outputs_match(notebook: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-q", str(notebook)],
        cwd=REPO,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]


def test_start_here_is_committed_stripped_except_tagged_cells() -> None:
    import nbformat

    nb = nbformat.read(REPO / "notebooks" / "00-start-here" / "00-start-here.ipynb", as_version=4)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    tagged = [c for c in code if "nbval-check-output" in c.metadata.get("tags", [])]
    assert tagged and all(c.outputs and c.execution_count for c in tagged)
    assert all(not c.outputs for c in code if c not in tagged)
