"""How much labkit itself costs: ``import labkit`` and ``labkit run`` per notebook.

    python benchmarks/runner_overhead.py [--repeat N]

1. ``import labkit`` in a fresh interpreter (median of N), target <= 0.3 s: the first
   cell of every notebook and every CLI call pay it.
2. ``labkit run`` overhead per notebook beyond the notebook's own cell time, target
   <= 2 s: N trivial notebooks are run; for each, the runner's duration minus the
   cells' execution time (papermill's per-cell timings in the executed notebook) is
   the overhead (kernel start and shutdown, parameter injection, writing results).
   The CLI's fixed start-up (interpreter, imports, report) is printed separately.
3. ``labkit grade`` overhead per graded notebook beyond its cells, target <= 2 s: N
   learner submissions of a small notebook with one exercise are graded; for each, the
   wall time from "start" to "done" minus the cells' execution time (matching the
   reference, building the graded copy, the scratch folder, kernel, reading results).
4. Building the learner edition of the whole workbook (``notebooks/``), target <= 5 s
   (median of N builds into a fresh folder).
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
GRADE_TARGET_S = 2.0
EDITION_TARGET_S = 5.0
WORKBOOK = Path(__file__).resolve().parents[1] / "notebooks"

EXERCISE = {
    "cells": [
        {
            "cell_type": "code",
            "metadata": {},
            "source": "import labkit",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {},
            "source": "### BEGIN SOLUTION\nanswer = 6 * 7\n### END SOLUTION\n### HINT: six times seven\n",
            "outputs": [],
            "execution_count": None,
        },
        {
            "cell_type": "code",
            "metadata": {"tags": ["exercise"]},
            "source": 'labkit.check.exercise("answer", answer="answer", verify=lambda v: v == 42, hint="h")',
            "outputs": [],
            "execution_count": None,
        },
    ],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4,
    "nbformat_minor": 5,
}

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


def grading_overheads(repeat: int, workdir: Path) -> tuple[list[float], list[float], list[float]]:
    """Per graded notebook: wall from start to done minus cell time; cell time; and the part
    of the wall time outside the papermill execution (what grading adds to ``labkit run``)."""
    from labkit.config import load_settings
    from labkit.exercises import learner_notebook
    from labkit.exercises.grade import grade
    from labkit.lgtm.testing import isolated_environ, stop_background_servers

    reference = workdir / "grade-ref" / "01-exercise"
    reference.mkdir(parents=True)
    (reference / "01-exercise.ipynb").write_text(json.dumps(EXERCISE), encoding="utf-8")
    learner = learner_notebook(EXERCISE, "ref", "01-exercise/01-exercise.ipynb")
    for i in range(repeat):
        folder = workdir / "submissions" / f"learner-{i}"
        folder.mkdir(parents=True)
        (folder / "01-exercise.ipynb").write_text(json.dumps(learner), encoding="utf-8")
    # A private embedded server under workdir: the benchmark never meets one on the default ports.
    settings = load_settings(environ=isolated_environ(workdir / "state"))
    marks: dict[str, float] = {}

    def progress(event: str, name: str, _entry: object) -> None:
        marks[f"{event}:{name}"] = time.perf_counter()

    try:
        result = grade(
            [workdir / "submissions"],
            reference_dir=reference.parent,
            output=workdir / "graded",
            settings=settings,
            on_progress=progress,
        )
    finally:
        stop_background_servers(workdir)
    overheads, cells, extra = [], [], []
    for nb in result.notebooks:
        if len(nb.exercises) != 1 or nb.status != "ok":
            raise SystemExit(f"grading did not run as expected: {nb.to_dict()}")
        spent = cell_seconds(result.output / nb.submission)
        wall = marks[f"done:{nb.submission}"] - marks[f"start:{nb.submission}"]
        cells.append(spent)
        overheads.append(wall - spent)
        extra.append(wall - nb.duration_s)
    return overheads, cells, extra


def learner_edition_seconds(repeat: int, workdir: Path) -> tuple[list[float], int, int]:
    from labkit.exercises import build_learner_edition

    times, report = [], None
    for i in range(repeat):
        started = time.perf_counter()
        report = build_learner_edition([WORKBOOK], workdir / f"learner-{i}")
        times.append(time.perf_counter() - started)
    assert report is not None
    return times, len(report.written), sum(report.exercises.values())


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
        overheads, cells, extra = grading_overheads(args.repeat, Path(tmp))
        median = statistics.median(overheads)
        spread = f"min {min(overheads):.3f}, max {max(overheads):.3f}"
        print(
            f"labkit grade overhead per graded notebook: median {median:.3f} s, {len(overheads)} submissions "
            f"({spread}; cell time median {statistics.median(cells):.3f} s; of it outside the kernel run "
            f"(match, graded copy, scratch folder, reading results): {statistics.median(extra):.3f} s); "
            f"target <= {GRADE_TARGET_S} s: {verdict(median, GRADE_TARGET_S)}"
        )
        times, notebooks, exercises = learner_edition_seconds(args.repeat, Path(tmp))
        median = statistics.median(times)
        print(
            f"learner edition of the workbook ({notebooks} notebooks, {exercises} exercises): "
            f"median {median:.3f} s over {len(times)} builds (min {min(times):.3f}, max {max(times):.3f}); "
            f"target <= {EDITION_TARGET_S} s: {verdict(median, EDITION_TARGET_S)}"
        )


if __name__ == "__main__":
    main()
