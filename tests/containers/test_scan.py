"""Secret scan of real images: a planted fake key is found, even when deleted later; a clean image passes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.containers import build_image, client, scan_image

from .fakes import fake_anthropic_key, fake_aws_key_id

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def leaky_image(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    context: Path = tmp_path_factory.mktemp("leaky")
    (context / "settings.env").write_text(f"ANTHROPIC_API_KEY={fake_anthropic_key()}\n")
    (context / "Dockerfile").write_text(
        "ARG BASE_IMAGE=python:3.11-slim\n"
        "FROM ${BASE_IMAGE}\n"
        f"ENV AWS_ACCESS_KEY_ID={fake_aws_key_id()}\n"
        "COPY settings.env /app/settings.env\n"
        # The classic mistake: deleting the file in a later step does not remove it from the image.
        "RUN rm /app/settings.env\n"
    )
    result = build_image(context, tag="labkit-test/leaky:1", progress=lambda line: None)
    yield result.tag
    client().images.remove(result.tag, force=True)


def test_planted_keys_are_flagged(leaky_image: str, base_image: str) -> None:
    report = scan_image(leaky_image, skip_layers_of=base_image)
    assert not report.clean
    kinds = {(f.kind, f.where.split(":")[0]) for f in report.findings}
    assert ("aws-access-key-id", "env") in kinds
    assert any(kind == "aws-access-key-id" and where.startswith("history") for kind, where in kinds)
    files = [f for f in report.findings if f.kind == "anthropic-api-key"]
    assert len(files) == 1
    assert files[0].where.endswith("/app/settings.env")
    assert "deleted in a later layer" in files[0].note
    assert fake_anthropic_key() not in files[0].excerpt  # the report itself does not leak


def test_clean_demo_image_passes(demo_image: str) -> None:
    report = scan_image(demo_image)
    assert report.clean, report.findings
    assert report.files_scanned > 1000 and report.layers_scanned >= 2
