"""What the workflow passes between its nodes: the assignment (structured output) and the outcome."""

from __future__ import annotations

import ast
from typing import Any

from pydantic import BaseModel, Field

__all__ = ["TOOL_NAME", "Assignment", "AssignmentError", "CycleResult", "assignment_tool"]

TOOL_NAME = "submit_assignment"


class AssignmentError(ValueError):
    """An assignment whose code or tests do not parse, or that names no test."""


class Assignment(BaseModel):
    """A small Python exercise: the module the learner writes and the tests that check it."""

    title: str = Field(min_length=3, max_length=120, description="short title of the exercise")
    instructions: str = Field(min_length=10, max_length=4000, description="what the learner must implement")
    module: str = Field(
        pattern=r"^[a-z_][a-z0-9_]*$", max_length=40, description="module name the tests import (no .py)"
    )
    starter_code: str = Field(min_length=1, max_length=8000, description="the module's starting source")
    tests: str = Field(min_length=1, max_length=8000, description="pytest tests importing the module")

    def check(self) -> None:
        """Both sources parse and the tests define at least one ``test_`` function."""
        for what, text in (("starter_code", self.starter_code), ("tests", self.tests)):
            try:
                tree = ast.parse(text)
            except SyntaxError as exc:
                raise AssignmentError(f"{what} line {exc.lineno}: {exc.msg}") from None
            if what == "tests" and not any(
                isinstance(n, ast.FunctionDef) and n.name.startswith("test_") for n in ast.walk(tree)
            ):
                raise AssignmentError("tests define no test_ function")


def assignment_tool() -> dict[str, Any]:
    """The forced tool whose input is the assignment (structured output via tool use)."""
    schema = Assignment.model_json_schema()
    schema.pop("title", None)
    return {
        "name": TOOL_NAME,
        "description": "Submit the exercise: title, instructions, module, starter code and pytest tests.",
        "input_schema": schema,
    }


class CycleResult(BaseModel):
    """One finished learning cycle (``run_id`` is the checkpoint thread id)."""

    run_id: str
    learner: str
    assignment: Assignment
    score: int
    passed: bool
    findings: int
    review_summary: str
    progress_id: int
    resumed: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    trace_id: str = ""
    notes: list[str] = []
