"""How much labkit itself costs: ``import labkit`` and ``labkit run`` per notebook.

    python benchmarks/runner_overhead.py [--repeat N]

1. ``import labkit`` in a fresh interpreter (median of N), target <= 0.3 s: the first
   cell of every notebook and every CLI call pay it.
2. ``labkit run`` overhead per notebook beyond the notebook's own cell time, target
   <= 2 s: N trivial notebooks are run; for each, the runner's duration minus the
   cells' execution time (papermill's per-cell timings in the executed notebook) is
   the overhead (kernel start and shutdown, parameter injection, writing results).
   The CLI's fixed start-up (interpreter, imports, report) is printed separately.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

IMPORT_TARGET_S = 0.3
OVERHEAD_TARGET_S = 2.0

TRIVIAL = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {"tags": ["parameters"]},
            "source": "n = 1",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "import labkit\nlabkit.record('n', n)",
            "outputs": [],
            "execution_count": None,
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}


def import_times(repeat: int) -> list[float]:
    code = "import time; t = time.perf_counter(); import labkit; print(time.perf_counter() - t)"
    return [float(subprocess.check_output([sys.executable, "-c", code], text=True)) for _ in range(repeat)]


def cell_seconds(executed: Path) -> float:
    cells = json.loads(executed.read_text(encoding="utf-8"))["cells"]
    return sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0.0) for c in cells)


def runner_overheads(repeat: int, workdir: Path) -> tuple[list[float], list[float]]:
    from labkit.config import load_settings
    from labkit.runner import run_notebooks

    notebooks = workdir / "notebooks"
    for i in range(repeat):
        folder = notebooks / f"{i:02d}-trivial"
        folder.mkdir(parents=True)
        (folder / "trivial.ipynb").write_text(json.dumps(TRIVIAL), encoding="utf-8")
    result = run_notebooks([notebooks], output_dir=workdir / "run", settings=load_settings(environ={}))
    if not result.ok:
        raise SystemExit(f"the trivial notebooks did not run: {[nb.to_dict() for nb in result.notebooks]}")
    overheads, cells = [], []
    for nb in result.notebooks:
        spent = cell_seconds(result.run_dir / nb.path)
        cells.append(spent)
        overheads.append(nb.duration_s - spent)
    return overheads, cells


def cli_fixed_cost(workdir: Path) -> tuple[float, float]:
    """Wall time of `labkit run` on one trivial notebook, and that notebook's own duration."""
    folder = workdir / "cli" / "notebooks" / "00-trivial"
    folder.mkdir(parents=True)
    (folder / "trivial.ipynb").write_text(json.dumps(TRIVIAL), encoding="utf-8")
    labkit = Path(sys.executable).parent / "labkit"
    started = time.perf_counter()
    subprocess.run(
        [str(labkit), "run", str(folder.parent), "--output-dir", str(workdir / "cli" / "run")],
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - started
    results = json.loads((workdir / "cli" / "run" / "results.json").read_text(encoding="utf-8"))
    return wall, results["notebooks"][0]["duration_s"]


def verdict(value: float, target: float) -> str:
    return "ok" if value <= target else "OVER TARGET"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="samples per measurement (default 5)")
    args = parser.parse_args()

    times = import_times(args.repeat)
    median = statistics.median(times)
    spread = f"min {min(times):.3f}, max {max(times):.3f}"
    print(
        f"import labkit: median {median:.3f} s over {len(times)} fresh interpreters ({spread}); "
        f"target <= {IMPORT_TARGET_S} s: {verdict(median, IMPORT_TARGET_S)}"
    )

    with tempfile.TemporaryDirectory() as tmp:
        overheads, cells = runner_overheads(args.repeat, Path(tmp))
        median = statistics.median(overheads)
        spread = f"min {min(overheads):.3f}, max {max(overheads):.3f}"
        print(
            f"labkit run overhead per notebook: median {median:.3f} s, {len(overheads)} notebooks ({spread}; "
            f"cell time median {statistics.median(cells):.3f} s); "
            f"target <= {OVERHEAD_TARGET_S} s: {verdict(median, OVERHEAD_TARGET_S)}"
        )
        wall, duration = cli_fixed_cost(Path(tmp))
        print(
            f"labkit run CLI, one trivial notebook: {wall:.3f} s wall, the notebook {duration:.3f} s of it "
            f"(fixed start-up, imports and report: {wall - duration:.3f} s once per run)"
        )


if __name__ == "__main__":
    main()
