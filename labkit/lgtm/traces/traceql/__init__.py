"""TraceQL: lexer, parser, syntax tree, printer and evaluator (the subset tutorials use).

>>> from labkit.lgtm.traces import traceql
>>> q = traceql.parse('{ resource.service.name = "checkout" } | count() > 3')
>>> traceql.format_query(q)
'{ resource.service.name = "checkout" } | count() > 3'
"""

from __future__ import annotations

from labkit.lgtm.traces.traceql import ast
from labkit.lgtm.traces.traceql.evaluate import QueryError, SpanSet, evaluate_pipeline, validate
from labkit.lgtm.traces.traceql.lexer import ParseError
from labkit.lgtm.traces.traceql.metrics import query_range
from labkit.lgtm.traces.traceql.model import Span, Trace, build_traces
from labkit.lgtm.traces.traceql.parser import parse, parse_field
from labkit.lgtm.traces.traceql.printer import format_query, to_string

__all__ = [
    "ParseError",
    "QueryError",
    "Span",
    "SpanSet",
    "Trace",
    "ast",
    "build_traces",
    "evaluate_pipeline",
    "format_query",
    "parse",
    "parse_field",
    "query_range",
    "to_string",
    "validate",
]
