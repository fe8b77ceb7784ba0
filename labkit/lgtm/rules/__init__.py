"""The embedded ruler: Prometheus rule files evaluated on the embedded stores.

``model`` parses and validates rule files, ``engines`` runs PromQL (metric store) or
LogQL (log store) queries, ``alerting`` is the pending -> firing state machine,
``manager.Ruler`` loads, reloads and evaluates groups, ``api`` serves the Prometheus,
Mimir and Loki rule APIs. See docs/alerting.md.
"""

from __future__ import annotations

from labkit.lgtm.rules.manager import Ruler, expand_rule_files
from labkit.lgtm.rules.model import RuleFileError, parse_rule_file, parse_rule_text

__all__ = [
    "RuleFileError",
    "Ruler",
    "check_rule_file",
    "expand_rule_files",
    "parse_rule_file",
    "parse_rule_text",
]


def check_rule_file(path: str, engine: str = "promql") -> int:
    """Validate one rule file for ``engine`` ("promql" or "logql"); return its number of rules.

    Raises :class:`RuleFileError` naming the file, group, rule and position of the problem.
    """
    from labkit.lgtm.rules.engines import engine_for

    parsed = parse_rule_file(path, engine_for(engine).compile)
    return sum(len(g.rules) for g in parsed.groups)
