"""Solution markers in a code cell, nbgrader-style, with the hint right after the block::

    ### BEGIN SOLUTION
    error_lines_query = '{service_name="demo-app"} | detected_level="error"'
    ### END SOLUTION
    ### HINT: start from the stream selector and add a filter on the level.

Parsing is strict: an author's typo would otherwise ship the solution to learners, or
turn a whole cell into a stub. Every problem names the notebook, the cell and the line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "BEGIN",
    "END",
    "HINT",
    "MarkerError",
    "MarkerProblem",
    "SolutionBlock",
    "has_markers",
    "parse_source",
]

BEGIN = "### BEGIN SOLUTION"
END = "### END SOLUTION"
HINT = "### HINT:"

# Lines that look like a marker but are not spelled exactly like one ("## BEGIN SOLUTION",
# "### begin solution", "### HINT start here"): refusing them beats silently ignoring them.
_NEAR_MISS = re.compile(r"^#+\s*(BEGIN\s+SOLUTION|END\s+SOLUTION|HINT\b)", re.IGNORECASE)


class MarkerProblem(ValueError):
    """A marker problem inside one cell's source (line numbers are 1-based)."""

    def __init__(self, line: int, problem: str) -> None:
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem


class MarkerError(ValueError):
    """A marker problem located in a notebook: file, cell index and id, line, what is wrong."""

    def __init__(
        self,
        notebook: str | Path,
        cell_index: int | None,
        cell_id: str | None,
        line: int | None,
        problem: str,
    ) -> None:
        where = [str(notebook)]
        if cell_index is not None:
            where.append(f"cell {cell_index}" + (f" (id {cell_id})" if cell_id else ""))
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{', '.join(where)}: {problem}")
        self.notebook = str(notebook)
        self.cell_index = cell_index
        self.cell_id = cell_id
        self.line = line
        self.problem = problem


@dataclass(frozen=True)
class SolutionBlock:
    """One solution: lines ``begin``..``end`` are the markers, then the hint lines (0-based)."""

    begin: int
    end: int
    hint_end: int  # one past the last hint line
    indent: str
    solution: str  # the lines between the markers, with the block's indentation removed
    hint: str


def has_markers(source: str) -> bool:
    return any(_NEAR_MISS.match(line.strip()) for line in source.splitlines())


def _dedent(lines: list[str], indent: str, first_line: int) -> str:
    out = []
    for offset, line in enumerate(lines):
        if not line.strip():
            out.append("")
        elif line.startswith(indent):
            out.append(line[len(indent) :])
        else:
            raise MarkerProblem(
                first_line + offset + 1, "a solution line is indented less than its BEGIN SOLUTION marker"
            )
    return "\n".join(out)


def parse_source(source: str) -> list[SolutionBlock]:
    """The solution blocks of one cell's source; raises MarkerProblem for a malformed cell."""
    lines = source.splitlines()
    blocks: list[SolutionBlock] = []
    i = 0
    begin: int | None = None
    while i < len(lines):
        stripped = lines[i].strip()
        if stripped == BEGIN:
            if begin is not None:
                raise MarkerProblem(
                    i + 1, f"{BEGIN} inside the block opened on line {begin + 1} (nested or unclosed)"
                )
            begin = i
        elif stripped == END:
            if begin is None:
                raise MarkerProblem(i + 1, f"{END} without a {BEGIN} before it")
            indent = lines[begin][: len(lines[begin]) - len(lines[begin].lstrip())]
            body = lines[begin + 1 : i]
            if not any(line.strip() and not line.strip().startswith("#") for line in body):
                raise MarkerProblem(begin + 1, "the solution block holds no code")
            hints = []
            j = i + 1
            while j < len(lines) and lines[j].strip().startswith(HINT):
                hints.append(lines[j].strip()[len(HINT) :].strip())
                j += 1
            if not hints:
                raise MarkerProblem(
                    i + 2, f"the solution has no hint: add a '{HINT} ...' line right after {END}"
                )
            if not all(hints):
                raise MarkerProblem(i + 2, f"an empty '{HINT}' line: say what would help the learner")
            blocks.append(
                SolutionBlock(begin, i, j, indent, _dedent(body, indent, begin + 1), " ".join(hints))
            )
            begin = None
            i = j
            continue
        elif stripped.startswith(HINT):
            raise MarkerProblem(i + 1, f"a hint must follow {END} directly (or another hint line)")
        elif _NEAR_MISS.match(stripped):
            raise MarkerProblem(
                i + 1,
                f"{stripped[:40]!r} looks like a marker but is not one of {BEGIN!r}, {END!r}, '{HINT} ...'",
            )
        i += 1
    if begin is not None:
        raise MarkerProblem(begin + 1, f"{BEGIN} is never closed by {END}")
    return blocks
