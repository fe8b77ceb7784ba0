"""The ``learner`` setting: who ran the workbook, carried in results.json."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from labkit.config import ConfigError, load_settings


def test_learner_defaults_to_the_os_user(tmp_path: Path) -> None:
    assert load_settings(environ={}, cwd=tmp_path).learner == getpass.getuser()


def test_learner_from_env_and_toml(tmp_path: Path) -> None:
    (tmp_path / "labkit.toml").write_text('learner = "ada"\n')
    assert load_settings(environ={}, cwd=tmp_path).learner == "ada"
    assert load_settings(environ={"LABKIT_LEARNER": " grace "}, cwd=tmp_path).learner == "grace"


@pytest.mark.parametrize("bad", ["", "a/b", "x" * 65, "tab\there"])
def test_bad_learner_names_the_setting(tmp_path: Path, bad: str) -> None:
    with pytest.raises(ConfigError, match=r"setting 'learner' \(from argument\)"):
        load_settings(environ={}, cwd=tmp_path, learner=bad)
