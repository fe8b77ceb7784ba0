"""The broken-manifest corpus: every planted problem is found, and nothing else is."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from labkit.cli import app
from labkit.k8s.check import check_paths

CORPUS = Path(__file__).with_name("corpus")
FILES = sorted(CORPUS.glob("*.yaml"))


def _expected(path: Path) -> set[str]:
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("# expect:"):
            return {rule.strip() for rule in line.split(":", 1)[1].split(",") if rule.strip()}
    raise AssertionError(f"{path} has no '# expect:' line")


def test_corpus_is_large_enough() -> None:
    broken = [f for f in FILES if _expected(f)]
    assert len(broken) >= 15


@pytest.mark.parametrize("path", FILES, ids=[f.stem for f in FILES])
def test_planted_problems_are_found(path: Path) -> None:
    findings = check_paths([path])
    assert {f.rule for f in findings} == _expected(path)
    for f in findings:
        assert f.explanation, f"{f.rule} has no explanation"
        assert f.source == str(path)


def test_cli_json_reports_the_corpus_and_exits_1() -> None:
    result = CliRunner().invoke(app, ["k8s", "check", str(CORPUS), "--format", "json"])
    assert result.exit_code == 1, result.output
    rows = json.loads(result.output)
    by_file: dict[str, set[str]] = {}
    for row in rows:
        by_file.setdefault(Path(row["source"]).name, set()).add(row["rule"])
    for path in FILES:
        assert by_file.get(path.name, set()) == _expected(path), path.name


def test_cli_clean_file_exits_0() -> None:
    result = CliRunner().invoke(app, ["k8s", "check", str(CORPUS / "00-clean.yaml")])
    assert result.exit_code == 0, result.output
    assert "0 finding(s)" in result.output
