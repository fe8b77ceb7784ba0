"""Rule files: what loads, and bad input rejected with file, group, rule and position."""

from __future__ import annotations

from pathlib import Path

import pytest

from labkit.lgtm.rules import RuleFileError, check_rule_file, parse_rule_text
from labkit.lgtm.rules.engines import engine_for
from labkit.lgtm.rules.model import format_duration, parse_duration

GOOD = """\
groups:
  - name: api
    interval: 30s
    rules:
      - record: job:http_requests:rate5m
        expr: sum by (job) (rate(http_requests_total[5m]))
        labels: {team: web}
      - alert: HighErrorRate
        expr: |
          sum(rate(http_requests_total{code="500"}[5m])) > 1
        for: 2m
        keep_firing_for: 1m
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.job }} errors at {{ $value | humanize }}/s"
"""


def _parse(text: str, engine: str = "promql"):  # type: ignore[no-untyped-def]
    return parse_rule_text(text, "rules.yaml", engine_for(engine).compile)


def test_a_valid_file_gives_its_groups_and_rules() -> None:
    parsed = _parse(GOOD)
    [group] = parsed.groups
    assert (group.name, group.interval_ms) == ("api", 30_000)
    record, alert = group.rules
    assert (record.kind, record.name, record.labels) == (
        "record",
        "job:http_requests:rate5m",
        {"team": "web"},
    )
    assert (alert.kind, alert.for_ms, alert.keep_firing_for_ms) == ("alert", 120_000, 60_000)
    assert alert.expr == 'sum(rate(http_requests_total{code="500"}[5m])) > 1'
    assert alert.compiled is not None


def test_a_logql_file_loads_on_the_loki_engine_and_not_on_promql(tmp_path: Path) -> None:
    path = tmp_path / "loki.yaml"
    path.write_text(
        "groups:\n  - name: rag\n    rules:\n      - alert: Hallucination\n"
        '        expr: sum(count_over_time({service_name="rag"} |= "hallucination" [5m])) > 0\n'
    )
    assert check_rule_file(str(path), "logql") == 1
    with pytest.raises(RuleFileError) as err:
        check_rule_file(str(path), "promql")
    assert "rule 'Hallucination'" in str(err.value) and "group 'rag'" in str(err.value)


@pytest.mark.parametrize(
    ("text", "fragments"),
    [
        # YAML syntax: the parser's own position
        ("groups:\n  - name: a\n    rules: [\n", ["rules.yaml:4:1", "YAML syntax error"]),
        ("groups:\n  - name: a\n   bad indent: 1\n", ["rules.yaml:3:", "YAML syntax error"]),
        # unknown keys, at the key
        ("groups:\n  - name: a\n    rulez: []\n", ["rules.yaml:3:5", "group 'a'", "field rulez not found"]),
        ("nope: 1\n", ["rules.yaml:1:1", "field nope not found"]),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        severity: page\n",
            ["rules.yaml:6:9", "rule 'X'", "field severity not found"],
        ),
        # structure
        ("groups:\n  - rules: []\n", ["rules.yaml:2:5", "groupname must not be empty"]),
        ("groups:\n  - name: a\n  - name: a\n", ["rules.yaml:3:5", "repeated in the same file"]),
        ("groups:\n  - name: a\n    rules:\n      - expr: up\n", ["rule '#1'", "one of 'record' or 'alert'"]),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: up\n",
            ["only one of 'record' and 'alert'"],
        ),
        ("groups:\n  - name: a\n    rules:\n      - alert: X\n", ["rule 'X'", "field 'expr' must be set"]),
        # values
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n        for: 5 minutes\n",
            ["rules.yaml:6:14", "not a valid duration", "5 minutes"],
        ),
        ("groups:\n  - name: a\n    interval: 0s\n", ["rules.yaml:3:15", "greater than 0"]),
        (
            "groups:\n  - name: a\n    rules:\n      - record: 'bad name'\n        expr: up\n",
            ["rules.yaml:4:17", "invalid recording rule name"],
        ),
        (
            "groups:\n  - name: a\n    rules:\n      - record: ok\n        expr: up\n        for: 1m\n",
            ["rule 'ok'", "invalid field 'for' in recording rule"],
        ),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n"
            "        labels: {'bad-name': x}\n",
            ["invalid name 'bad-name'"],
        ),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n"
            "        annotations: {summary: '{{ if $value }}hi{{ end }}'}\n",
            ["rules.yaml:6:32", "annotations.summary: template", "not supported"],
        ),
        (
            "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: up\n"
            "        annotations: {summary: '{{ $value | nosuchfunc }}'}\n",
            ['function "nosuchfunc" not defined'],
        ),
        # PromQL syntax: at the expression, naming the rule
        (
            "groups:\n  - name: api\n    rules:\n      - alert: Broken\n        expr: sum(rate(x[5m]) >\n",
            ["rules.yaml:5:15", "group 'api'", "rule 'Broken'", "could not parse expression", "unclosed"],
        ),
        (
            "groups:\n  - name: api\n    rules:\n      - record: r\n        expr: rate(x)\n",
            ["rules.yaml:5:15", "rule 'r'", "expected type matrix"],
        ),
        (
            "groups:\n  - name: api\n    rules:\n      - record: r\n        expr: x[5m]\n",
            ["rule 'r'", "range vector"],
        ),
    ],
)
def test_bad_files_are_rejected_naming_what_and_where(text: str, fragments: list[str]) -> None:
    with pytest.raises(RuleFileError) as err:
        _parse(text)
    message = str(err.value)
    for fragment in fragments:
        assert fragment in message, (fragment, message)


def test_logql_syntax_errors_point_at_the_exact_column_in_the_file() -> None:
    # line 5: '        expr: ' is 14 characters, so the query starts in column 15.
    text = (
        "groups:\n  - name: rag\n    rules:\n      - alert: H\n"
        '        expr: sum(count_over_time({app="rag"} |= [5m])) > 0\n'
    )
    with pytest.raises(RuleFileError) as err:
        _parse(text, "logql")
    query_col = text.splitlines()[4].index("[5m]") + 1  # where LogQL's parser stops, 1-based
    assert (err.value.line, err.value.col) == (5, query_col)
    assert err.value.rule == "H" and err.value.group == "rag"
    # a block scalar: the position is inside the block's text
    block = (
        "groups:\n  - name: rag\n    rules:\n      - alert: H\n        expr: |\n"
        '          sum(count_over_time({app="rag"}\n            |= [5m])) > 0\n'
    )
    with pytest.raises(RuleFileError) as err:
        _parse(block, "logql")
    assert err.value.line == 7
    assert err.value.col == block.splitlines()[6].index("[5m]") + 1


def test_log_queries_are_not_rules() -> None:
    text = 'groups:\n  - name: rag\n    rules:\n      - alert: H\n        expr: \'{app="rag"} |= "x"\'\n'
    with pytest.raises(RuleFileError, match="metric query"):
        _parse(text, "logql")


def test_unreadable_files_name_the_problem(tmp_path: Path) -> None:
    binary = tmp_path / "rules.yaml"
    binary.write_bytes(b"\xff\xfe\x00groups")
    with pytest.raises(RuleFileError, match="not UTF-8"):
        check_rule_file(str(binary))
    with pytest.raises(RuleFileError, match="cannot read"):
        check_rule_file(str(tmp_path / "missing.yaml"))


def test_empty_files_and_empty_groups_are_valid() -> None:
    assert _parse("").groups == []
    assert _parse("groups:\n").groups == []
    assert _parse("groups:\n  - name: a\n").groups[0].rules == []


@pytest.mark.parametrize(
    ("text", "ms"), [("15s", 15_000), ("1h30m", 5_400_000), ("0", 0), ("250ms", 250), ("2d", 172_800_000)]
)
def test_durations_parse_and_print_like_prometheus(text: str, ms: int) -> None:
    assert parse_duration(text) == ms
    assert parse_duration(format_duration(ms)) == ms
    assert parse_duration("1.5m") is None and parse_duration("5 m") is None
