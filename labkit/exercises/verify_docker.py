"""Verifiers for Dockerfile exercises: the learner's Dockerfile is linted with hadolint,
built on the Docker engine (offline, like every labkit build) and, when asked, run until
its HEALTHCHECK says healthy. Everything it creates is labelled and removed again."""

from __future__ import annotations

import contextlib
import secrets
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = ["dockerfile_works"]

Verify = Callable[[Any], tuple[bool, str]]


def _dockerfile_text(answer: Any) -> str:
    if isinstance(answer, Path):
        return answer.read_text(encoding="utf-8")
    if isinstance(answer, str) and answer.strip():
        return answer
    raise AssertionError(f"the answer must be Dockerfile text or a file, got {type(answer).__name__}")


def dockerfile_works(
    context: str | Path,
    *,
    lint_clean: bool = True,
    healthy: bool = False,
    timeout: float = 60.0,
    tag_prefix: str = "labkit/exercise",
) -> Verify:
    """The answer (Dockerfile text, or a file answer) builds from ``context``.

    ``lint_clean``: hadolint reports nothing. ``healthy``: a container of the image
    becomes healthy within ``timeout`` seconds.
    """

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit import containers

        text = _dockerfile_text(answer)
        if lint_clean:
            findings = containers.lint_text(text)
            if findings:
                listed = "; ".join(f"line {f.line} {f.code}: {f.message}" for f in findings[:4])
                return False, f"hadolint reports {len(findings)} finding(s): {listed}"
        tag = f"{tag_prefix}:{secrets.token_hex(3)}"
        with tempfile.TemporaryDirectory(prefix="labkit-exercise-") as scratch:
            # The Dockerfile lives outside the context, so the learner's copy never lands in the repo.
            dockerfile = Path(scratch) / "Dockerfile"
            dockerfile.write_text(text, encoding="utf-8")
            try:
                try:
                    built = containers.build(
                        Path(context), tag=tag, dockerfile=dockerfile, progress=lambda _: None
                    )
                except containers.BuildFailed as exc:
                    return False, f"the build failed: {str(exc)[:300]}"
                detail = f"builds ({built.size_mb:.0f} MB)" + (", hadolint-clean" if lint_clean else "")
                if not healthy:
                    return True, detail
                try:
                    running = containers.run(tag, timeout=timeout)
                except containers.HealthcheckFailed as failure:
                    return False, f"{detail}, but the container is {failure.status}: {str(failure)[:200]}"
                try:
                    status = running.health()
                finally:
                    running.stop()
                return status == "healthy", f"{detail}, container {status}"
            finally:
                with contextlib.suppress(Exception):  # the image is this check's own scratch
                    containers.client().images.remove(tag, force=True)

    return verify
