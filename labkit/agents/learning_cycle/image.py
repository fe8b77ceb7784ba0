"""Build the learning-cycle image offline (``stacks/learning-cycle``), like the Prompt Reviewer's.

The context is assembled by :func:`labkit.agents.prompt_reviewer.image.prepare_context`
(Dockerfile, requirements, a wheelhouse for the base image's Python, a labkit wheel), so
the Docker build runs with no network at all.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from labkit.agents.prompt_reviewer import image as _pattern

__all__ = ["CONTAINER_PORT", "DEFAULT_TAG", "build", "stack_dir"]

DEFAULT_TAG = "labkit/learning-cycle:dev"
CONTAINER_PORT = 8000


def stack_dir() -> Path:
    return _pattern.project_root() / "stacks" / "learning-cycle"


def build(
    dest: Path, tag: str = DEFAULT_TAG, *, allow_pull: bool = True, progress: Callable[[str], None] = print
) -> object:
    """Assemble the context in ``dest`` and build ``tag`` (returns ``labkit.containers.BuildResult``)."""
    return _pattern.build(dest, tag, allow_pull=allow_pull, progress=progress, source=stack_dir())
