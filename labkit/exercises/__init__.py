"""Exercises: solution markers, the learner edition, verifiers of live state, and grading.

The committed notebook is the solution edition. ``build_learner_edition`` turns every
``### BEGIN SOLUTION`` ... ``### END SOLUTION`` block into a stub plus its hint;
``labkit.check.exercise`` checks a learner's named answer; ``grade`` runs submissions
with the reference notebook's checks. Verifiers live in ``labkit.exercises.verify_*``.
"""

from __future__ import annotations

from labkit.exercises.answers import NotAnswered, resolve, validate_exercise_id
from labkit.exercises.edition import EditionReport, build_learner_edition, default_output
from labkit.exercises.markers import BEGIN, END, HINT, MarkerError, SolutionBlock, parse_source
from labkit.exercises.notebook import (
    EXERCISE_TAG,
    ExerciseCheck,
    NotebookExercises,
    exercise_checks,
    learner_notebook,
    load_notebook,
    scan,
)
from labkit.exercises.stub import stub_for

__all__ = [
    "BEGIN",
    "END",
    "EXERCISE_TAG",
    "HINT",
    "EditionReport",
    "ExerciseCheck",
    "MarkerError",
    "NotAnswered",
    "NotebookExercises",
    "SolutionBlock",
    "build_learner_edition",
    "default_output",
    "exercise_checks",
    "learner_notebook",
    "load_notebook",
    "parse_source",
    "resolve",
    "scan",
    "stub_for",
    "validate_exercise_id",
]
