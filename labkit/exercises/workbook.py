"""The reference answers of the workbook's query exercises (notebooks 03-06).

They live here, not in the notebooks, because a check cell is part of the learner edition:
a reference query written in it would be the answer, in plain sight. A check cell asks
for ``reference_check(exercise_id, **context)`` with the notebook's own context (its job
label, selector, time window) and gets the verifier that runs the reference on the backend.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from labkit.exercises.verify_queries import (
    error_span_of_logged_traces,
    logql_same_lines,
    promql_same_series,
    traceql_same_traces,
)

__all__ = ["REFERENCE_IDS", "reference_check"]

Verify = Callable[[Any], tuple[bool, str]]

_DURATION = "http_server_request_duration_seconds"

_FACTORIES: dict[str, Callable[..., Verify]] = {
    # 03-lgtm
    "promql-hello-by-notebook": lambda *, job, settings=None: promql_same_series(
        f'sum by (notebook) (lab_hello_total{{job="{job}"}})', settings=settings
    ),
    "traceql-hello-traces": lambda *, service_name, since="now-1h", settings=None: traceql_same_traces(
        f'{{ resource.service.name = "{service_name}" && name = "say hello" }}',
        since=since,
        settings=settings,
    ),
    # 04-instrument-an-app
    "promql-rate-by-status": lambda *, sel, settings=None: promql_same_series(
        f"sum by (http_response_status_code) (rate({_DURATION}_count{{{sel}}}[5m]))", settings=settings
    ),
    "logql-warning-lines": lambda *, since, settings=None: logql_same_lines(
        '{service_name="demo-app"} | detected_level="warn"', since=since, settings=settings
    ),
    "traceql-slow-traces": lambda *, since, settings=None: traceql_same_traces(
        '{ resource.service.name = "demo-app" && name = "GET /slow" }', since=since, settings=settings
    ),
    "correlate-failing-span": lambda *, since, settings=None: error_span_of_logged_traces(
        '{service_name="demo-app"} | detected_level="error"', since=since, settings=settings
    ),
    # 05-first-dashboard
    "promql-p95-by-status": lambda *, sel, settings=None: promql_same_series(
        "histogram_quantile(0.95, sum by (le, http_response_status_code) "
        f"(rate({_DURATION}_bucket{{{sel}}}[5m])))",
        settings=settings,
    ),
    # 06-prompt-reviewer
    "promql-output-tokens-by-node": lambda *, sel, settings=None: promql_same_series(
        f'sum by (node) (labkit_llm_tokens_total{{{sel}, token_type="output"}})', settings=settings
    ),
    "logql-injection-events": lambda *, since, settings=None: logql_same_lines(
        '{service_name="prompt-reviewer"} | guardrail_check="injection"', since=since, settings=settings
    ),
}

REFERENCE_IDS = tuple(sorted(_FACTORIES))


def reference_check(exercise_id: str, **context: Any) -> Verify:
    """The verifier of ``exercise_id`` with its reference query filled from ``context``.

    Built when the check runs, so an unknown id (KeyError) or missing context (TypeError)
    becomes a failed exercise that says so, never an error in the check cell.
    """

    def verify(answer: Any) -> tuple[bool, str]:
        try:
            factory = _FACTORIES[exercise_id]
        except KeyError:
            raise KeyError(
                f"no reference for exercise {exercise_id!r}; known: {', '.join(REFERENCE_IDS)}"
            ) from None
        return factory(**context)(answer)

    return verify
