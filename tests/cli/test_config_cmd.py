"""`labkit config` prints values with sources and masks secrets; bad values exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app


@pytest.fixture()
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for var in ("ANTHROPIC_API_KEY", "LABKIT_CONFIG", "LABKIT_BACKEND", "LABKIT_ANTHROPIC_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    return tmp_path


def test_config_shows_sources_and_masks_key(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test-secretvalue-123456")
    monkeypatch.setenv("LABKIT_BACKEND", "embedded")
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "secretvalue" not in result.output
    assert "env LABKIT_BACKEND" in result.output
    assert "embedded" in result.output


def test_config_bad_value_exits_2_naming_setting(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LABKIT_BACKEND", "cloud")
    result = CliRunner().invoke(app, ["config"], env={"COLUMNS": "200"})
    assert result.exit_code == 2
    assert "backend" in result.output
