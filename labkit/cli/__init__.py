"""The ``labkit`` command line: a thin layer over functions notebooks can call too.

Each command lives in its own module under ``labkit.cli`` and registers itself on
``app`` when imported; this module only assembles them.
"""

from __future__ import annotations

from labkit.cli import (
    cache_cmd,  # noqa: F401  (registers `labkit cache`)
    config_cmd,  # noqa: F401  (registers `labkit config`)
    containers_cmd,  # noqa: F401  (registers `labkit containers`)
    critic_cmd,  # noqa: F401  (registers `labkit critic`)
    doctor_cmd,  # noqa: F401  (registers `labkit doctor`)
    drills_cmd,  # noqa: F401  (registers `labkit drills`)
    exercises_cmd,  # noqa: F401  (registers `labkit exercises`)
    grade_cmd,  # noqa: F401  (registers `labkit grade`)
    guardrails_cmd,  # noqa: F401  (registers `labkit guardrails`)
    k8s_cmd,  # noqa: F401  (registers `labkit k8s`)
    lab_cmd,  # noqa: F401  (registers `labkit lab`)
    rag_cmd,  # noqa: F401  (registers `labkit rag`)
    report_cmd,  # noqa: F401  (registers `labkit report`)
    rules_cmd,  # noqa: F401  (registers `labkit rules`)
    run_cmd,  # noqa: F401  (registers `labkit run`)
    share_cmd,  # noqa: F401  (registers `labkit share`)
    stack_cmd,  # noqa: F401  (registers `labkit stack`)
    workflow_cmd,  # noqa: F401  (registers `labkit workflow`)
)
from labkit.cli._app import app

__all__ = ["app", "main"]


def main() -> None:
    app()
