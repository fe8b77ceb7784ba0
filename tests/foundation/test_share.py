"""``labkit share``: the archive never leaks a key, a secret env value or a local path."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from labkit.config import load_settings
from labkit.share import ShareError, share

from .conftest import LABKIT, clean_env


def _fake_key(tag: str) -> str:
    # Built at run time so nothing committed looks like a key.
    return "sk-" + "ant-" + "api03-" + tag * 10 + "0" * 60 + "AA"


def _run(tmp_path: Path, planted: list[str]) -> Path:
    run = tmp_path / "runs" / "20261203-101500-ab12"
    nb_dir = run / "04-instrument-an-app"
    nb_dir.mkdir(parents=True)
    text = " | ".join(planted)
    notebook = {
        "cells": [
            {
                "cell_type": "code",
                "id": "c1",
                "metadata": {},
                "execution_count": 1,
                "source": ["print(open('notes.txt').read())"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": [text + "\n"]}],
            }
        ],
        "metadata": {"papermill": {"input_path": planted[1], "output_path": planted[1]}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (nb_dir / "04-instrument-an-app.ipynb").write_text(json.dumps(notebook), encoding="utf-8")
    results = {
        "run_id": "20261203-101500-ab12",
        "learner": "ada",
        "notebooks": [
            {
                "path": "04-instrument-an-app/04-instrument-an-app.ipynb",
                "status": "failed",
                "duration_s": 1.0,
                "error": {"type": "FileNotFoundError", "message": text, "cell_index": 0},
                "results": {},
                "checks": [],
            }
        ],
    }
    (run / "results.json").write_text(json.dumps(results), encoding="utf-8")
    (run / "report.html").write_text(f"<html><body><pre>{text}</pre></body></html>", encoding="utf-8")
    return run


def _members(archive: Path) -> dict[str, str]:
    with tarfile.open(archive, "r:gz") as tar:
        return {
            m.name: tar.extractfile(m).read().decode("utf-8")  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.isfile()
        }


def test_archive_holds_no_key_env_secret_or_local_path(tmp_path: Path) -> None:
    configured_key, pasted_key = _fake_key("CONF"), _fake_key("PAST")
    env_secret = "tok" + "9" * 8 + "Z" * 12
    home_file = f"{Path.home()}/lab/notes.txt"
    planted = [
        f"api key {pasted_key}",
        home_file,
        "/home/alice/workbook/notebooks/04.ipynb",
        f"token from env {env_secret}",
        f"configured {configured_key}",
        f"{tmp_path}/runs/x",
    ]
    run = _run(tmp_path, planted)
    settings = load_settings(environ={}, cwd=tmp_path, anthropic_api_key=configured_key)
    shared = share(
        run, tmp_path / "out" / "ada.tar.gz", settings=settings, environ={"MY_SERVICE_TOKEN": env_secret}
    )

    members = _members(shared.path)
    prefix = "ada-20261203-101500-ab12/"
    assert set(members) == {
        prefix + "results.json",
        prefix + "report.html",
        prefix + "04-instrument-an-app/04-instrument-an-app.ipynb",
    }
    everything = "\n".join(members.values())
    for leaked in (configured_key, pasted_key, env_secret, str(Path.home()) + "/lab", "alice", str(tmp_path)):
        assert leaked not in everything, leaked
    assert "~/lab/notes.txt" in everything and "/home/<user>/workbook" in everything
    notebook = json.loads(members[prefix + "04-instrument-an-app/04-instrument-an-app.ipynb"])
    assert notebook["cells"][0]["source"] == ["print(open('notes.txt').read())"]  # code is untouched
    assert json.loads(members[prefix + "results.json"])["learner"] == "ada"
    assert shared.redactions["secret"] >= 2 and shared.redactions["path"] >= 1
    with tarfile.open(shared.path) as tar:
        assert {(m.uid, m.gid, m.uname, m.gname) for m in tar.getmembers()} == {(0, 0, "", "")}


def test_a_folder_that_is_not_a_run_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ShareError, match=r"empty is not a run folder: no results\.json"):
        share(tmp_path / "empty", tmp_path / "x.tar.gz", settings=load_settings(environ={}, cwd=tmp_path))
    assert not (tmp_path / "x.tar.gz").exists()
    assert not list(tmp_path.glob(".share-*"))


def test_cli_share_writes_the_archive_and_names_bad_input(tmp_path: Path) -> None:
    run = _run(tmp_path, ["nothing secret", "/srv/lab/x"])
    env = clean_env(tmp_path)
    ok = subprocess.run(
        [*LABKIT, "share", str(run), "--output", "sub.tar.gz"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "shared:" in ok.stdout and (tmp_path / "sub.tar.gz").is_file()
    bad = subprocess.run(
        [*LABKIT, "share", str(tmp_path / "nope")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert bad.returncode == 2 and "nope is not a run folder" in bad.stdout
