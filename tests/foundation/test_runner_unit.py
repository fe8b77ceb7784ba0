"""Runner pieces that need no kernel: discovery order, stages, parameters, run ids, bad input."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from labkit.config import load_settings
from labkit.runner import (
    RunError,
    discover,
    kernel_env,
    new_run_id,
    parse_parameter,
    prepare_backends,
    run_notebooks,
)


def touch(root: Path, *paths: str) -> None:
    for rel in paths:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")


def test_discover_orders_folders_by_number_and_skips_checkpoints_and_runs(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    touch(
        nbs,
        "10-later/a.ipynb",
        "02-kubernetes/b.ipynb",
        "02-kubernetes/a.ipynb",
        "00-start-here/00-start-here.ipynb",
        "09-nine/z.ipynb",
        "02-kubernetes/.ipynb_checkpoints/a-checkpoint.ipynb",
        "old-run/results.json",
        "old-run/01-x/a.ipynb",
        "notes.txt",
    )
    paths = [spec.path for spec in discover([nbs])]
    assert paths == [
        "00-start-here/00-start-here.ipynb",
        "02-kubernetes/a.ipynb",
        "02-kubernetes/b.ipynb",
        "09-nine/z.ipynb",
        "10-later/a.ipynb",
    ]


def test_names_are_relative_to_notebooks_whatever_was_passed(tmp_path: Path) -> None:
    nbs = tmp_path / "notebooks"
    touch(nbs, "01-docker/a.ipynb", "03-lgtm/b.ipynb")
    assert [s.path for s in discover([nbs / "03-lgtm", nbs / "01-docker" / "a.ipynb"])] == [
        "01-docker/a.ipynb",
        "03-lgtm/b.ipynb",
    ]
    other = tmp_path / "elsewhere"
    touch(other, "05-x/c.ipynb")
    assert [s.path for s in discover([other])] == ["05-x/c.ipynb"]
    assert [s.path for s in discover([other / "05-x" / "c.ipynb"])] == ["05-x/c.ipynb"]


@pytest.mark.parametrize("stage", ["01", "1", "docker", "01-docker"])
def test_stage_selects_one_folder(tmp_path: Path, stage: str) -> None:
    touch(tmp_path / "notebooks", "00-start-here/s.ipynb", "01-docker/a.ipynb", "01-docker/b.ipynb")
    assert [s.path for s in discover([tmp_path / "notebooks"], stage)] == [
        "01-docker/a.ipynb",
        "01-docker/b.ipynb",
    ]


def test_bad_input_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "notebooks", "00-start-here/s.ipynb")
    with pytest.raises(RunError, match="no notebooks for stage 'docker'; stages here: 00-start-here"):
        discover([tmp_path / "notebooks"], "docker")
    with pytest.raises(RunError, match="does not exist"):
        discover([tmp_path / "nope"])
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(RunError, match=r"x\.txt is not a notebook"):
        discover([tmp_path / "x.txt"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(RunError, match="no notebooks found"):
        discover([tmp_path / "empty"])
    monkeypatch.chdir(tmp_path / "empty")
    with pytest.raises(RunError, match="no notebooks/ folder here"):
        discover([])


def test_run_refuses_a_used_output_dir_and_a_bad_timeout(tmp_path: Path) -> None:
    touch(tmp_path / "notebooks", "00-a/s.ipynb")
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text("{}")
    settings = load_settings(environ={})
    with pytest.raises(RunError, match="already holds a run"):
        run_notebooks([tmp_path / "notebooks"], output_dir=tmp_path / "out", settings=settings)
    with pytest.raises(RunError, match="timeout must be > 0"):
        run_notebooks([tmp_path / "notebooks"], timeout_s=0, settings=settings)


def test_parse_parameter_prefers_json() -> None:
    assert parse_parameter("3") == 3
    assert parse_parameter("2.5") == 2.5
    assert parse_parameter("true") is True
    assert parse_parameter("null") is None
    assert parse_parameter('["a", 1]') == ["a", 1]
    assert parse_parameter("embedded") == "embedded"
    assert parse_parameter('"quoted"') == "quoted"


def test_run_id_format() -> None:
    run_id = new_run_id(datetime(2026, 11, 26, 5, 15, 0))
    assert re.fullmatch(r"20261126-051500-[0-9a-f]{4}", run_id)


def test_prepare_backends_starts_the_embedded_server_once(tmp_path: Path) -> None:
    from labkit.lgtm import process
    from labkit.lgtm.testing import isolated_environ

    settings = load_settings(environ=isolated_environ(tmp_path / "data"), cwd=tmp_path)
    try:
        (message,) = prepare_backends(settings)
        assert "started the embedded LGTM server" in message
        assert process.status(settings).running
        assert prepare_backends(settings) == []  # already running: nothing to start or say
    finally:
        process.stop(settings)


def test_prepare_backends_starts_nothing_for_live(tmp_path: Path) -> None:
    from labkit.lgtm.testing import isolated_environ

    environ = isolated_environ(tmp_path / "data") | {"LABKIT_BACKEND": "live"}
    assert prepare_backends(load_settings(environ=environ, cwd=tmp_path)) == []
    assert not (tmp_path / "data" / "lgtm.pid").exists()


def test_kernel_env_pins_the_data_dir(tmp_path: Path) -> None:
    env = kernel_env(load_settings(environ={}), cwd=tmp_path)
    assert env["LABKIT_DATA_DIR"] == str(tmp_path.resolve() / ".labkit")
    (tmp_path / "labkit.toml").write_text('backend = "embedded"\n')
    assert kernel_env(load_settings(environ={}), cwd=tmp_path)["LABKIT_CONFIG"] == str(
        tmp_path.resolve() / "labkit.toml"
    )
