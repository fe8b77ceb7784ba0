"""Verifiers that run the learner's query against the configured backend and compare it
with a reference query run on the same backend, over the same window, at the same moment.

Each factory returns ``verify(answer) -> (passed, detail)`` for ``labkit.check.exercise``.
The truth is what the backend holds when the check runs, never a constant in the notebook.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "error_span_of_logged_traces",
    "logql_same_lines",
    "promql_close_to",
    "promql_same_series",
    "traceql_same_traces",
]

Verify = Callable[[Any], tuple[bool, str]]

# Labels the store adds to every series; the learner need not aggregate them the same way
# as the reference for the answer to be the same.
_NON_LABELS = {"timestamp", "value", "series"}


def _query_text(answer: Any, language: str) -> str:
    if not isinstance(answer, str) or not answer.strip():
        raise AssertionError(f"the answer must be a {language} query string, got {type(answer).__name__}")
    return answer


def _settings(settings: Any) -> Any:
    from labkit.config import load_settings

    return settings or load_settings()


def _series(frame: Any) -> dict[tuple[tuple[str, str], ...], float]:
    labels = [c for c in frame.columns if c not in _NON_LABELS]
    out: dict[tuple[tuple[str, str], ...], float] = {}
    for row in frame.to_dict("records"):
        key = tuple(sorted((k, str(row[k])) for k in labels if row.get(k) is not None and row[k] == row[k]))
        out[key] = float(row["value"])
    return out


def _show(key: Iterable[tuple[str, str]]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in key) + "}"


def _close(a: float, b: float, rel_tol: float, abs_tol: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol)


def promql_same_series(
    reference: str, *, settings: Any = None, rel_tol: float = 0.01, abs_tol: float = 1e-9
) -> Verify:
    """The learner's PromQL returns the same series (label sets) with values within ``rel_tol``."""

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.observe import Mimir
        from labkit.observe._time import utc_now

        query = _query_text(answer, "PromQL")
        mimir = Mimir(settings=_settings(settings))
        at = utc_now()  # one instant for both queries, so a sliding window cannot differ
        expected = _series(mimir.query(reference, at))
        if not expected:
            return False, f"the reference query returns no series yet ({reference}); generate traffic first"
        got = _series(mimir.query(query, at))
        missing = [k for k in expected if k not in got]
        extra = [k for k in got if k not in expected]
        if missing or extra:
            parts = [f"your query returns {len(got)} series, the reference {len(expected)}"]
            if missing:
                parts.append("missing " + ", ".join(_show(k) for k in missing[:3]))
            if extra:
                parts.append("unexpected " + ", ".join(_show(k) for k in extra[:3]))
            return False, "; ".join(parts)
        for key, value in expected.items():
            if not _close(got[key], value, rel_tol, abs_tol):
                return False, f"{_show(key)} is {got[key]:.6g}, expected {value:.6g} (within {rel_tol:.0%})"
        return True, f"same {len(expected)} series as the reference, values within {rel_tol:.0%}"

    return verify


def promql_close_to(
    reference: str, *, settings: Any = None, abs_tol: float = 0.02, what: str = "value"
) -> Verify:
    """The learner's number is within ``abs_tol`` of the single value ``reference`` gives now."""

    def verify(answer: Any) -> tuple[bool, str]:
        from labkit.observe import Mimir

        if isinstance(answer, bool) or not isinstance(answer, int | float):
            raise AssertionError(f"the answer must be a number, got {type(answer).__name__}")
        truth = Mimir(settings=_settings(settings)).value(reference)
        ok = _close(float(answer), truth, 0.0, abs_tol)
        return ok, f"you said {float(answer):.4g}; the {what} is {truth:.4g} now (tolerance {abs_tol:g})"

    return verify


def _lines(frame: Any) -> Counter[tuple[int, str]]:
    if frame.empty:
        return Counter()
    stamps = frame["timestamp"].astype("int64").tolist()
    return Counter(zip(stamps, frame["line"].tolist(), strict=True))


def logql_same_lines(
    reference: str, *, since: Any, until: Any = "now", settings: Any = None, limit: int = 5000
) -> Verify:
    """The learner's LogQL selects exactly the lines the reference selects in ``since``..``until``."""

    def verify(answer: Any) -> tuple[bool, str]:
        import pandas as pd

        from labkit.observe import Loki
        from labkit.observe._time import to_timestamp

        query = _query_text(answer, "LogQL")
        loki = Loki(settings=_settings(settings))
        end = to_timestamp(until, pd.Timestamp.now(tz="UTC"))
        expected = _lines(loki.query_range(reference, since, end, limit=limit))
        if not expected:
            return False, f"the reference query selects no lines yet ({reference}); generate traffic first"
        frame = loki.query_range(query, since, end, limit=limit)
        if frame.attrs.get("result_type") != "streams":
            raise AssertionError("that is a metric query; write a log query that selects lines")
        got = _lines(frame)
        if got == expected:
            return True, f"selects exactly the {sum(expected.values())} lines of the reference"
        missing, extra = expected - got, got - expected
        detail = f"your query selects {sum(got.values())} lines, the reference {sum(expected.values())}"
        if missing:
            detail += f"; {sum(missing.values())} missing, e.g. {next(iter(missing))[1][:80]!r}"
        if extra:
            detail += f"; {sum(extra.values())} too many, e.g. {next(iter(extra))[1][:80]!r}"
        return False, detail

    return verify


def traceql_same_traces(
    reference: str,
    *,
    since: Any,
    until: Any = "now",
    settings: Any = None,
    limit: int = 1000,
) -> Verify:
    """The learner's TraceQL finds exactly the traces the reference finds in ``since``..``until``."""

    def verify(answer: Any) -> tuple[bool, str]:
        import pandas as pd

        from labkit.observe import Tempo
        from labkit.observe._time import to_timestamp

        query = _query_text(answer, "TraceQL")
        tempo = Tempo(settings=_settings(settings))
        end = to_timestamp(until, pd.Timestamp.now(tz="UTC"))
        expected = set(tempo.search(reference, since, end, limit=limit)["trace_id"])
        if not expected:
            return False, f"the reference query finds no trace yet ({reference}); generate traffic first"
        got = set(tempo.search(query, since, end, limit=limit)["trace_id"])
        if got == expected:
            return True, f"finds exactly the {len(expected)} intended trace(s)"
        return False, (
            f"your query finds {len(got)} trace(s), the intended ones are {len(expected)}: "
            f"{len(expected - got)} missed, {len(got - expected)} not intended"
        )

    return verify


def error_span_of_logged_traces(
    log_query: str, *, since: Any, until: Any = "now", settings: Any = None, sample: int = 5
) -> Verify:
    """The answer names the span that failed in the traces the error log lines point to.

    The truth is found the way the learner should find it: take the ``trace_id`` of
    error log lines from Loki, open those traces in Tempo, read the span with error status.
    """

    def verify(answer: Any) -> tuple[bool, str]:
        import pandas as pd

        from labkit.observe import Loki, Tempo
        from labkit.observe._time import to_timestamp

        if not isinstance(answer, str) or not answer.strip():
            raise AssertionError(f"the answer must be a span name (a string), got {type(answer).__name__}")
        settings_ = _settings(settings)
        end = to_timestamp(until, pd.Timestamp.now(tz="UTC"))
        logs = Loki(settings=settings_).query_range(log_query, since, end, limit=200)
        if logs.empty or "trace_id" not in logs.columns:
            return False, f"no error log line with a trace_id yet ({log_query})"
        tempo = Tempo(settings=settings_)
        failing: Counter[str] = Counter()
        for trace_id in [t for t in logs["trace_id"].dropna().unique() if t][:sample]:
            spans = tempo.trace(trace_id)
            failed = spans[spans["status_code"] == "error"]
            # The deepest failing span is the cause; its parents fail because it did.
            if not failed.empty:
                failing[str(failed.sort_values("depth")["name"].iloc[-1])] += 1
        if not failing:
            return False, "the logged traces hold no span with error status"
        truth = failing.most_common(1)[0][0]
        return (
            answer.strip() == truth,
            f"you said {answer!r}; the failing span in {sum(failing.values())} traces is {truth!r}",
        )

    return verify
