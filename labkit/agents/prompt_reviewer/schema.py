"""The Prompt Reviewer's structured output, as pydantic models.

The model answers by calling the ``submit_prompt_review`` tool whose ``input_schema``
is :func:`review_tool`'s JSON schema of :class:`PromptReview`, so the schema the model
sees and the one the output is validated against are the same object.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["DIMENSIONS", "Dimension", "PromptReview", "ReviewIssue", "Scores", "review_tool"]

Dimension = Literal["clarity", "specificity", "context", "output_format", "examples", "constraints"]
DIMENSIONS: tuple[str, ...] = (
    "clarity",
    "specificity",
    "context",
    "output_format",
    "examples",
    "constraints",
)
TOOL_NAME = "submit_prompt_review"


class Scores(BaseModel):
    """0-10 per rubric dimension (10 = nothing to improve)."""

    model_config = ConfigDict(extra="forbid")

    clarity: int = Field(ge=0, le=10, description="Is the task stated plainly, with one clear instruction?")
    specificity: int = Field(ge=0, le=10, description="Concrete details instead of vague words?")
    context: int = Field(ge=0, le=10, description="Role, audience, purpose, background given?")
    output_format: int = Field(ge=0, le=10, description="Is the expected output format stated?")
    examples: int = Field(ge=0, le=10, description="Does it show an example of a good answer?")
    constraints: int = Field(ge=0, le=10, description="Limits on length, scope, what to avoid?")

    @property
    def overall(self) -> float:
        values = [getattr(self, d) for d in DIMENSIONS]
        return round(sum(values) / len(values), 2)


class ReviewIssue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dimension: Dimension
    quote: str = Field(min_length=1, max_length=400, description="Verbatim text from the prompt")
    problem: str = Field(min_length=1, max_length=400)
    suggestion: str = Field(min_length=1, max_length=400)


class PromptReview(BaseModel):
    """What the model must return for one prompt."""

    model_config = ConfigDict(extra="forbid")

    scores: Scores
    issues: list[ReviewIssue] = Field(max_length=20)
    suggested_rewrite: str = Field(min_length=1, max_length=4000)
    summary: str = Field(min_length=1, max_length=600)


def review_tool() -> dict[str, Any]:
    """The tool definition sent to the model (name, description, JSON schema)."""
    return {
        "name": TOOL_NAME,
        "description": (
            "Submit the review of the prompt: a 0-10 score per rubric dimension, the issues found "
            "(each quoting the prompt verbatim), a suggested rewrite and a one-sentence summary."
        ),
        "input_schema": PromptReview.model_json_schema(),
    }
