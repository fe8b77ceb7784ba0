"""labkit.check: outcomes, display bundles, failures that never stop a notebook."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from labkit import check, results
from labkit.results import CHECK_MIME, CheckResult


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    bundles: list[dict[str, Any]] = []
    monkeypatch.setattr(check, "publish", bundles.append)
    monkeypatch.setattr(results, "publish", bundles.append)
    return bundles


def test_that_records_pass_and_fail_with_html_and_text(published: list[dict[str, Any]]) -> None:
    ok = check.that("service is up", True, "200 OK")
    bad = check.that("trace <in> Tempo", False, "no trace & no spans")
    assert (ok.passed, bad.passed) == (True, False)
    assert published[0][CHECK_MIME] == {"name": "service is up", "passed": True, "detail": "200 OK"}
    assert published[0]["text/plain"] == "\u2714 PASS service is up \u2014 200 OK"
    assert "FAIL" in published[1]["text/html"]
    assert "trace &lt;in&gt; Tempo" in published[1]["text/html"]  # names and details are escaped
    assert "no trace &amp; no spans" in published[1]["text/html"]


@pytest.mark.parametrize(
    ("outcome", "passed", "detail"),
    [
        (True, True, ""),
        (False, False, ""),
        (np.bool_(True), True, ""),
        ((False, "3 of 4 spans"), False, "3 of 4 spans"),
        (None, True, ""),
        (CheckResult("other", False, "inner"), False, "inner"),
        ("yes", False, "check returned str 'yes'; expected bool, (bool, detail) or None"),
    ],
)
def test_run_interprets_return_values(
    published: list[dict[str, Any]], outcome: Any, passed: bool, detail: str
) -> None:
    result = check.run("c", lambda: outcome)
    assert (result.name, result.passed, result.detail) == ("c", passed, detail)
    assert published[-1][CHECK_MIME] == {"name": "c", "passed": passed, "detail": detail}


def test_an_exception_is_a_failed_check_not_a_stopped_notebook(published: list[dict[str, Any]]) -> None:
    def broken() -> bool:
        raise ConnectionError("tempo down")

    result = check.run("trace stored", broken)
    assert result == CheckResult("trace stored", False, "ConnectionError: tempo down")
    assert published[0][CHECK_MIME]["passed"] is False


def test_assert_style_checks(published: list[dict[str, Any]]) -> None:
    def uses_assert() -> None:
        assert 1 + 1 == 3, "arithmetic is broken"

    assert check.run("math", uses_assert).detail.startswith("AssertionError: arithmetic is broken")


def test_run_passes_arguments(published: list[dict[str, Any]]) -> None:
    assert check.run("greater", lambda a, b=0: a > b, 2, b=1).passed


def test_checkpoint_decorator_runs_now_and_binds_the_result(published: list[dict[str, Any]]) -> None:
    @check.checkpoint()
    def image_was_built() -> tuple[bool, str]:
        return True, "hello:1"

    assert image_was_built == CheckResult("image was built", True, "hello:1")

    @check.checkpoint("custom name")
    def other() -> bool:
        return False

    assert other.name == "custom name" and not other.passed
    assert len(published) == 2


def test_a_result_that_is_also_the_cell_value_is_shown_once(published: list[dict[str, Any]]) -> None:
    result = check.that("once", True)
    result._ipython_display_()  # what IPython calls for the cell's last expression
    assert len(published) == 1
    fresh = check.evaluate("not yet shown", lambda: True)
    assert published[-1][CHECK_MIME]["name"] == "once"
    fresh._ipython_display_()
    assert published[-1][CHECK_MIME]["name"] == "not yet shown"


@pytest.mark.parametrize(("name", "error"), [("", ValueError), ("two\nlines", ValueError), (None, TypeError)])
def test_bad_check_names_raise(published: list[dict[str, Any]], name: Any, error: type[Exception]) -> None:
    with pytest.raises(error, match="check name"):
        check.that(name, True)


def test_that_wants_a_real_bool_and_run_a_callable(published: list[dict[str, Any]]) -> None:
    with pytest.raises(TypeError, match="condition must be a bool"):
        check.that("rows", [1, 2])
    with pytest.raises(TypeError, match="expected a callable"):
        check.run("x", 3)  # type: ignore[arg-type]
    assert published == []
