"""``labkit report`` over submissions: archives and folders, progress per learner and stage, CSV."""

from __future__ import annotations

import csv
import io
import json
import tarfile
import zipfile
from pathlib import Path

from typer.testing import CliRunner

from labkit.cli import app
from labkit.config import load_settings
from labkit.report import build
from labkit.share import share


def _check(name: str, passed: bool, kind: str | None = None) -> dict:
    data = {"name": name, "passed": passed, "detail": ""}
    if kind:
        data.update(kind=kind, hint="h", answer="a")
    return data


def _run(root: Path, learner: str, run_id: str, started: str, nb_checks: dict[str, list[dict]]) -> Path:
    run = root / run_id
    run.mkdir(parents=True)
    notebooks = [
        {
            "path": f"{stage}/{stage}.ipynb",
            "status": "skipped" if checks is None else "ok",
            "duration_s": 0.0 if checks is None else 30.0,
            "error": None,
            "results": {},
            "checks": checks or [],
            **({"reason": "needs docker: none", "fix": "start Docker"} if checks is None else {}),
        }
        for stage, checks in nb_checks.items()
    ]
    results = {"run_id": run_id, "started": started, "learner": learner, "notebooks": notebooks}
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    return run


def _cohort(tmp_path: Path) -> list[Path]:
    runs = tmp_path / "runs"
    ada_1 = _run(
        runs,
        "ada",
        "20261201-090000-aaaa",
        "2026-12-01T09:00:00+00:00",
        {"04-instrument-an-app": [_check("trace in Tempo", True), _check("logql", False, "exercise")]},
    )
    ada_2 = _run(
        runs,
        "ada",
        "20261202-090000-bbbb",
        "2026-12-02T09:00:00+00:00",
        {
            "01-docker": None,
            "04-instrument-an-app": [
                _check("trace in Tempo", True),
                _check("logql", True, "exercise"),
                _check("promql", True, "exercise"),
            ],
        },
    )
    bob = _run(
        runs,
        "bob",
        "20261202-100000-cccc",
        "2026-12-02T10:00:00+00:00",
        {"04-instrument-an-app": [_check("trace in Tempo", False), _check("logql", False, "exercise")]},
    )
    settings = load_settings(environ={}, cwd=tmp_path)
    submissions = tmp_path / "inbox"
    submissions.mkdir()
    ada_archive = share(ada_2, submissions / "ada.tar.gz", settings=settings).path
    # bob hands in a zip of his run folder instead
    with zipfile.ZipFile(submissions / "bob.zip", "w") as zf:
        zf.write(bob / "results.json", f"{bob.name}/results.json")
    (submissions / "carol.tar.gz").write_bytes(b"\x1f\x8b\x08not really gzip")  # corrupted
    return [ada_1, ada_archive, submissions / "bob.zip", submissions / "carol.tar.gz"]


def test_progress_per_learner_and_stage_from_archives_and_folders(tmp_path: Path) -> None:
    report = build(_cohort(tmp_path))
    assert len(report.runs) == 3
    (problem,) = report.problems
    assert "carol.tar.gz" in problem and "not a readable submission archive" in problem
    rows = {(r.learner, r.stage): r for r in report.progress}
    ada = rows[("ada", "04-instrument-an-app")]
    # latest attempt decides the counts; time adds up over both attempts
    assert (ada.attempts, ada.exercises_passed, ada.exercises_total) == (2, 2, 2)
    assert (ada.checkpoints_passed, ada.checkpoints_total, ada.time_spent_s) == (1, 1, 60.0)
    assert ada.complete
    assert rows[("ada", "01-docker")].status == "skipped"
    bob = rows[("bob", "04-instrument-an-app")]
    assert (bob.exercises_passed, bob.checkpoints_passed, bob.complete) == (0, 0, False)
    learners = {s.learner: s for s in report.learners}
    assert (learners["ada"].stages_complete, learners["ada"].stages_skipped) == (1, 1)
    assert (learners["bob"].exercises_passed, learners["bob"].exercises_total) == (0, 1)


def test_cli_writes_html_and_csv_names_the_broken_archive_and_exits_1(tmp_path: Path) -> None:
    sources = _cohort(tmp_path)
    out, table = tmp_path / "cohort.html", tmp_path / "progress.csv"
    result = CliRunner().invoke(
        app, ["report", *map(str, sources), "--output", str(out), "--csv", str(table)], env={"COLUMNS": "300"}
    )
    assert result.exit_code == 1, result.output
    assert "carol.tar.gz" in result.output and "3 run(s), 2 learner(s)" in result.output
    html = out.read_text(encoding="utf-8")
    assert "Progress by learner" in html and "carol.tar.gz" in html
    rows = list(csv.DictReader(io.StringIO(table.read_text(encoding="utf-8"))))
    assert [(r["learner"], r["stage"]) for r in rows] == [
        ("ada", "01-docker"),
        ("ada", "04-instrument-an-app"),
        ("bob", "04-instrument-an-app"),
    ]
    assert rows[1]["exercises_passed"] == "2" and rows[1]["time_spent_s"] == "60.0"


def test_a_folder_of_submissions_is_searched(tmp_path: Path) -> None:
    sources = _cohort(tmp_path)
    inbox = sources[1].parent
    report = build([inbox])
    assert sorted(r["learner"] for r in report.runs) == ["ada", "bob"]
    assert len(report.problems) == 1


def test_only_broken_sources_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 truncated")
    result = CliRunner().invoke(app, ["report", str(bad), "--output", str(tmp_path / "r.html")])
    assert result.exit_code == 2 and "bad.zip" in result.output
    assert not (tmp_path / "r.html").exists()


def test_archive_members_outside_the_archive_are_refused(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        data = b'{"run_id": "x", "notebooks": []}'
        info = tarfile.TarInfo("../../escaped/results.json")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    good = _run(tmp_path / "runs", "ada", "r1", "2026-12-01T09:00:00+00:00", {"00-start-here": []})
    report = build([evil, good])
    assert len(report.runs) == 1 and "points outside the archive" in report.problems[0]
    assert not (tmp_path.parent / "escaped").exists()


def test_csv_neutralises_formula_like_names(tmp_path: Path) -> None:
    from labkit.progress import StageProgress, to_csv

    text = to_csv([StageProgress("=HYPERLINK(1)", "00-start-here", 1, "ok", 0, 0, 1, 1, 1.0, "r")])
    assert "'=HYPERLINK(1)" in text
