"""LogQL: lexer -> parser -> AST -> pipeline stages / evaluator, each in its own module.

from labkit.lgtm.logs.logql import parse, to_string, evaluate_range
"""

from __future__ import annotations

from .errors import LogQLError, ParseError, QueryError
from .evaluate import LogSource, evaluate_instant, evaluate_range, select_logs
from .parser import parse, parse_selector
from .printer import to_string

__all__ = [
    "LogQLError",
    "LogSource",
    "ParseError",
    "QueryError",
    "evaluate_instant",
    "evaluate_range",
    "parse",
    "parse_selector",
    "select_logs",
    "to_string",
]
