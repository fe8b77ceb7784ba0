"""Dockerfile parsing: instructions, global ARGs, stages and the base images a build needs."""

from __future__ import annotations

import pytest

from labkit.containers import dockerfile as df

MULTI = """\
# syntax comment
ARG BASE_IMAGE=python:3.11-slim
ARG OTHER
FROM ${BASE_IMAGE} AS build
RUN echo one \\
    # a comment inside a continuation
    && echo two
FROM build AS test
FROM ${BASE_IMAGE} AS runtime
COPY --from=build /x /x
"""


def test_parse_joins_continuations_and_drops_comments() -> None:
    instructions = df.parse(MULTI)
    keywords = [i.keyword for i in instructions]
    assert keywords == ["ARG", "ARG", "FROM", "RUN", "FROM", "FROM", "COPY"]
    run = instructions[3]
    assert run.line == 5
    assert run.args == "echo one && echo two"


def test_global_args_only_before_first_from() -> None:
    text = MULTI + "ARG LATE=1\n"
    assert df.global_args(text) == {"BASE_IMAGE": "python:3.11-slim", "OTHER": None}


def test_stages_resolve_args_and_stage_references() -> None:
    stages = df.stages(MULTI)
    assert [(s.resolved, s.name, s.from_stage) for s in stages] == [
        ("python:3.11-slim", "build", False),
        ("build", "test", True),
        ("python:3.11-slim", "runtime", False),
    ]
    assert df.external_images(MULTI) == ["python:3.11-slim"]
    assert df.external_images(MULTI, {"BASE_IMAGE": "labkit-base/python3:bookworm"}) == [
        "labkit-base/python3:bookworm"
    ]


@pytest.mark.parametrize(
    ("value", "variables", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("$A:tag", {"A": "img"}, "img:tag"),
        ("${A:-fallback}", {}, "fallback"),
        ("${A:-fallback}", {"A": "set"}, "set"),
        ("${A:+alt}", {"A": "set"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("plain", {}, "plain"),
    ],
)
def test_substitute(value: str, variables: dict[str, str], expected: str) -> None:
    assert df.substitute(value, variables) == expected


def test_scratch_and_platform_flags() -> None:
    text = "FROM --platform=linux/amd64 debian:bookworm AS a\nFROM scratch\nCOPY --from=a /x /x\n"
    assert df.external_images(text) == ["debian:bookworm"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("RUN echo hi\n", "no FROM"),
        ("ARG BASE\nFROM ${BASE}\n", "empty image name"),
        ("FROM\n", "without an image"),
        ("ARG 1BAD=x\nFROM x\n", "invalid name"),
    ],
)
def test_bad_dockerfiles_name_the_problem(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        df.stages(text)
