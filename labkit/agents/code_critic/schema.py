"""The Code Critic's structured output, as pydantic models (the stable JSON schema).

``CodeReview`` is what ``labkit critic review --format json`` prints under ``review``
and what ``docs/code-critic.md`` documents; the model returns it through a forced
``submit_code_review`` tool call whose ``input_schema`` is this model's JSON schema, so
the schema the model sees and the one the output is validated against are one object.
Specialists answer with :class:`SpecialistReport` through ``submit_<name>_report``.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "CATEGORIES",
    "SCHEMA_VERSION",
    "SEVERITIES",
    "SEVERITY_RANK",
    "Category",
    "CodeReview",
    "Finding",
    "Severity",
    "SpecialistReport",
    "review_tool",
    "specialist_tool",
]

SCHEMA_VERSION = 1
TOOL_NAME = "submit_code_review"
Category = Literal["style", "bug", "security", "complexity", "tests", "injection"]
Severity = Literal["critical", "high", "medium", "low", "info"]
CATEGORIES: tuple[str, ...] = ("style", "bug", "security", "complexity", "tests", "injection")
SEVERITIES: tuple[str, ...] = ("critical", "high", "medium", "low", "info")
# Lower sorts first: the review lists the worst problems first.
SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}


class Finding(BaseModel):
    """One problem at one place: what, where, why, and how to fix it."""

    model_config = ConfigDict(extra="forbid")

    file: str = Field(min_length=1, max_length=500, description="path as given to the review")
    line_start: int = Field(ge=1, description="first line (1-based)")
    line_end: int = Field(ge=1, description="last line (inclusive)")
    rule_id: str = Field(min_length=1, max_length=60, description="tool rule id, e.g. B006, B307, CC")
    category: Category
    severity: Severity
    code: str = Field(max_length=2000, description="the code the finding points at, verbatim")
    why: str = Field(min_length=1, max_length=800)
    suggested_fix: str = Field(min_length=1, max_length=800)
    source: str = Field(default="", max_length=40, description="specialist that found it")

    @model_validator(mode="after")
    def _ordered(self) -> Finding:
        if self.line_end < self.line_start:
            raise ValueError(f"line_end {self.line_end} is before line_start {self.line_start}")
        return self


class SpecialistReport(BaseModel):
    """What one specialist returns: its findings and a note on what it ran."""

    model_config = ConfigDict(extra="forbid")

    findings: list[Finding] = Field(max_length=500)
    notes: list[str] = Field(default_factory=list, max_length=50)


class CodeReview(BaseModel):
    """The merged review."""

    model_config = ConfigDict(extra="forbid")

    summary: str = Field(min_length=1, max_length=1200)
    score: int = Field(ge=0, le=10, description="0 (do not merge) .. 10 (nothing found)")
    findings: list[Finding] = Field(max_length=1000)


def _tool(name: str, description: str, model: type[BaseModel]) -> dict[str, Any]:
    return {"name": name, "description": description, "input_schema": model.model_json_schema()}


def review_tool() -> dict[str, Any]:
    """The supervisor's output tool: the whole review."""
    return _tool(
        TOOL_NAME,
        "Submit the code review: a summary, a 0-10 score and the verified findings, worst first.",
        CodeReview,
    )


def specialist_tool(specialist: str) -> dict[str, Any]:
    """A specialist's output tool: its findings."""
    return _tool(
        f"submit_{specialist}_report",
        f"Submit the {specialist} specialist's findings, each quoting the code verbatim.",
        SpecialistReport,
    )
