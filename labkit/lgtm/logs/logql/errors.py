"""LogQL errors, worded like Loki's so that clients see the same messages."""

from __future__ import annotations

__all__ = ["LogQLError", "ParseError", "QueryError"]


class LogQLError(ValueError):
    """Base of every error a LogQL query can raise; the HTTP layer answers 400 with ``str(err)``."""


class ParseError(LogQLError):
    """A syntax error at a 1-based line/column, printed as Loki prints ``logqlmodel.ParseError``."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        self.message = message
        self.line = line
        self.col = col
        super().__init__(str(self))

    def __str__(self) -> str:
        # Loki omits the position when it has none (an empty query).
        if self.line == 0 and self.col == 0:
            return f"parse error : {self.message}"
        return f"parse error at line {self.line}, col {self.col}: {self.message}"


class QueryError(LogQLError):
    """A query that parses but cannot run (wrong query type for the endpoint, bad parameters)."""
