"""The two query engines a rule group can run on: PromQL on the metric store, LogQL on the log store.

Which one a group uses follows Mimir and Loki: the rulers are separate, so rule files
listed in ``rule_files`` are Mimir's (PromQL) and those in ``loki_rule_files`` are
Loki's (LogQL). An engine parses a query once (``compile``, at load time, so syntax
errors reject the file) and evaluates the compiled query at an instant.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

import numpy as np

from labkit.lgtm.db import Database
from labkit.lgtm.rules.model import ExprError

__all__ = ["ENGINES", "CycleReads", "Engine", "LogQLEngine", "PromQLEngine", "RuleEvalError", "engine_for"]

Sample = tuple[dict[str, str], float]


class RuleEvalError(RuntimeError):
    """A rule whose query failed at evaluation time (its ``lastError``)."""


def _frozen(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(v) for v in value)
    return value


class CycleReads:
    """The log store as one rule cycle sees it: identical read statements run once.

    Every LogQL rule of a group is evaluated at the same instant, and rules often share
    a selector and range (``{service_name="rag"}`` over ``[5m]``) or a stream set, so they
    send the log store the same statements: the streams in the window, the metadata names
    of those streams, line counts. Each DuckDB statement costs ~1-2 ms of fixed overhead
    however small its answer, which made a cycle of 6 LogQL rules cost ~18 statements.
    Within one cycle a statement with the same text and parameters gets the answer it got
    the first time, which also makes the rules of a cycle read one consistent view (a push
    landing mid-cycle is seen by the next cycle, as in Loki, whose ruler queries at a
    fixed evaluation time). Only ``query`` is cached; anything else goes to the database.
    A new object is made per cycle, so nothing is kept between cycles.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self._answers: dict[tuple[str, Any], list[tuple[Any, ...]]] = {}
        self.statements = 0  # statements actually sent (tests, benchmarks)
        self.reused = 0

    def query(self, sql: str, params: Any = None) -> list[tuple[Any, ...]]:
        key = (sql, _frozen(list(params or [])))
        rows = self._answers.get(key)
        if rows is None:
            rows = self._answers[key] = self._db.query(sql, params)
            self.statements += 1
        else:
            self.reused += 1
        return list(rows)  # callers may consume or extend their copy

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


class Engine(Protocol):
    name: str  # "promql" | "logql"

    def compile(self, expr: str) -> Any: ...

    def instant(self, db: Any, compiled: Any, t_ms: int) -> list[Sample]: ...


class PromQLEngine:
    name = "promql"

    def compile(self, expr: str) -> Any:
        from labkit.lgtm.metrics.promql.evaluate import parse
        from labkit.lgtm.metrics.promql.values import PromQLError

        try:
            node = parse(expr)
        except PromQLError as exc:
            raise ExprError(str(exc)) from None
        # promql-parser has no public "type of expression" for strings: catch the obvious one.
        import promql_parser as pp

        inner = node
        while isinstance(inner, pp.ParenExpr):
            inner = inner.expr
        if isinstance(inner, (pp.StringLiteral, pp.MatrixSelector, pp.SubqueryExpr)):
            kind = "string" if isinstance(inner, pp.StringLiteral) else "range vector"
            raise ExprError(f"invalid rule expression type {kind!r}: must be an instant vector or scalar")
        return node

    def instant(self, db: Database, compiled: Any, t_ms: int) -> list[Sample]:
        from labkit.lgtm.metrics.index import index_for
        from labkit.lgtm.metrics.promql.evaluate import EvalContext, check_unique, evaluate
        from labkit.lgtm.metrics.promql.values import Matrix, PromQLError, Scalar, StringValue

        ctx = EvalContext(index_for(db), np.array([t_ms], dtype=np.int64), t_ms, t_ms)
        try:
            value = evaluate(ctx, compiled)
            if isinstance(value, Scalar):
                return [({}, float(value.vals[0]))]
            if isinstance(value, (Matrix, StringValue)):
                raise RuleEvalError("rule result is not an instant vector or scalar")
            check_unique(value)
        except PromQLError as exc:
            raise RuleEvalError(str(exc)) from None
        return [(dict(s.labels), float(s.vals[0])) for s in value.series if s.present[0]]


_POSITION = re.compile(r"^parse error at line (\d+), col (\d+): (.*)$", re.DOTALL)


class LogQLEngine:
    name = "logql"

    def compile(self, expr: str) -> Any:
        from labkit.lgtm.logs.logql import ast
        from labkit.lgtm.logs.logql.errors import LogQLError, ParseError
        from labkit.lgtm.logs.logql.parser import parse

        try:
            query = parse(expr)
        except ParseError as exc:
            raise ExprError(exc.message, exc.line, exc.col) from None
        except LogQLError as exc:
            m = _POSITION.match(str(exc))
            if m:
                raise ExprError(m.group(3), int(m.group(1)), int(m.group(2))) from None
            raise ExprError(str(exc)) from None
        if isinstance(query, ast.LogSelector):
            # Loki's ruler only takes metric queries: a log query has no value to alert on.
            raise ExprError(
                "a rule needs a metric query (e.g. sum(count_over_time({...}[5m])) > 0), not a log query"
            )
        return query

    def instant(self, db: Database | CycleReads, compiled: Any, t_ms: int) -> list[Sample]:
        from labkit.lgtm.logs.logql.errors import LogQLError
        from labkit.lgtm.logs.logql.evaluate import Scalar, evaluate_instant
        from labkit.lgtm.logs.source import StoreSource

        try:
            out = evaluate_instant(compiled, StoreSource(db), t_ms * 1_000_000)  # type: ignore[arg-type]
        except LogQLError as exc:
            raise RuleEvalError(str(exc)) from None
        if isinstance(out, Scalar):
            return [({}, float(out.value))]
        return [(dict(s.labels), float(s.value)) for s in out]


ENGINES: dict[str, Engine] = {"promql": PromQLEngine(), "logql": LogQLEngine()}


def engine_for(name: str) -> Engine:
    try:
        return ENGINES[name]
    except KeyError:
        raise ValueError(f"unknown rule engine {name!r}; known: {', '.join(ENGINES)}") from None
