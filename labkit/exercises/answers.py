"""Find a learner's answer: a name in the kernel's namespace, or a file next to the notebook.

An answer is looked up by NAME at check time, never by cell position, so a learner who
moves, deletes or duplicates cells is checked on whatever the name holds when the check
cell runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["FILE_PREFIX", "Answer", "NotAnswered", "resolve", "validate_exercise_id"]

FILE_PREFIX = "file:"
_ID_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class NotAnswered(LookupError):
    """The answer is missing or still the learner edition's stub."""


@dataclass(frozen=True)
class Answer:
    """What ``answer="..."`` named and the value found (a Path for file answers)."""

    spec: str
    value: Any

    @property
    def is_file(self) -> bool:
        return self.spec.startswith(FILE_PREFIX)


def validate_exercise_id(exercise_id: object) -> str:
    if not isinstance(exercise_id, str) or not _ID_RE.match(exercise_id) or len(exercise_id) > 80:
        raise ValueError(
            f"bad exercise id {exercise_id!r}: use kebab-case like 'logql-error-lines' "
            "(lowercase letters, digits and single dashes, at most 80 characters)"
        )
    return exercise_id


def _user_namespace() -> Mapping[str, Any] | None:
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - ipykernel is a dependency
        return None
    shell = get_ipython()
    return None if shell is None else shell.user_ns


def resolve(spec: object, namespace: Mapping[str, Any] | None = None, cwd: Path | None = None) -> Answer:
    """The answer ``spec`` names; raises NotAnswered (missing, None) or ValueError (bad spec).

    ``namespace`` defaults to the IPython user namespace; file answers are relative to
    ``cwd`` (default: the kernel's working directory, which is the notebook's folder).
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"answer must be a name or 'file:relative/path', got {spec!r}")
    if spec.startswith(FILE_PREFIX):
        relative = spec[len(FILE_PREFIX) :].strip()
        if not relative or Path(relative).is_absolute():
            raise ValueError(f"answer {spec!r}: give a path relative to the notebook's folder")
        path = (cwd or Path(os.getcwd())) / relative
        if not path.is_file():
            raise NotAnswered(f"the file {relative} does not exist yet (next to the notebook)")
        return Answer(spec, path)
    if not _NAME_RE.match(spec):
        raise ValueError(f"answer {spec!r} is not a Python name (or 'file:relative/path')")
    if namespace is None:
        namespace = _user_namespace()
    if namespace is None:
        raise NotAnswered(f"no notebook namespace to look up {spec!r} in (not running in a kernel)")
    if spec not in namespace:
        raise NotAnswered(f"{spec} is not defined; run the cell that defines it")
    value = namespace[spec]
    if value is None:
        raise NotAnswered(f"{spec} is still None")
    return Answer(spec, value)
