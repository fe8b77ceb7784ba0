"""The specialists' tools: ruff, bandit, radon and pytest + coverage, on a staged workspace.

Each tool returns ``{"findings": [...], "notes": [...]}`` whose findings already have
the :class:`~labkit.agents.code_critic.schema.Finding` shape, so a model can pass them
through (the offline model does exactly that) or add its own judgement.

ruff runs as a subprocess on the workspace copy; bandit and radon parse the text
in-process (``ast``: nothing of the reviewed code executes). The tests tool is in :mod:`labkit.agents.code_critic.testrun`.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import warnings
from importlib import resources
from pathlib import Path
from typing import Any

from labkit.agents.code_critic.intake import SourceFile
from labkit.agents.code_critic.schema import Finding
from labkit.agents.code_critic.workspace import Workspace

__all__ = [
    "BUG_RULES",
    "COMPLEXITY_CC_MAX",
    "COMPLEXITY_MI_MIN",
    "bandit_scan",
    "code_at",
    "radon_metrics",
    "ruff_check",
    "ruff_config",
]

# ruff rules whose violations are defects, not style.
BUG_RULES = {
    "F821", "F822", "F823", "F811", "F632", "F601", "F602", "F631", "F701", "F702", "F704", "F706",
    "F707", "E711", "E712", "E721", "E722", "E999", "PLE0101", "PLE0116", "PLE1142",
    "B002", "B003", "B006", "B008", "B012", "B015", "B017", "B018", "B020", "B023", "B024", "B025",
    "B026", "B027", "B031", "B032", "B033", "B035", "B039",
}  # fmt: skip
_HIGH_BUG_RULES = {"F821", "F822", "F823", "E999", "B012", "B023"}
# radon thresholds: a function over CC 10 (rank C and worse) or a module under MI 10 (rank C).
COMPLEXITY_CC_MAX = 10
COMPLEXITY_MI_MIN = 10.0
TOOL_TIMEOUT_S = 60


def ruff_config() -> Path:
    """The pinned rule set shipped with labkit."""
    return Path(str(resources.files("labkit.agents.code_critic") / "ruff.toml"))


def code_at(source: SourceFile | None, start: int, end: int) -> str:
    if source is None:
        return ""
    return "\n".join(source.lines[start - 1 : end])


def _finding(src: SourceFile, start: int, end: int, **fields: Any) -> dict[str, Any]:
    end = max(start, min(end, len(src.lines) or 1))
    return Finding(
        file=src.path, line_start=start, line_end=end, code=code_at(src, start, end), **fields
    ).model_dump()


def _by_shown(files: list[SourceFile]) -> dict[str, SourceFile]:
    return {f.path: f for f in files}


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT_S, check=False)


# -- style: ruff ----------------------------------------------------------------------------------
_RUFF_FIX = {
    "B006": "use None as the default and create the list/dict/set inside the function",
    "B008": "call the function inside the body, not in the default argument",
    "E711": "compare to None with `is` / `is not`",
    "E712": "use the truth value directly (`if x:` / `if not x:`)",
    "E722": "catch the exceptions you expect (`except ValueError:`), never a bare except",
    "F401": "remove the unused import",
    "F841": "remove the unused variable, or use it",
    "F821": "define the name, import it, or fix its spelling",
}


def ruff_check(ws: Workspace, files: list[SourceFile]) -> dict[str, Any]:
    """ruff with the pinned rule set on every parsable reviewed file."""
    targets = [rel for rel in ws.sources if _by_shown(files).get(ws.shown[rel], SourceFile("", "")).syntax_ok]
    if not targets:
        return {"findings": [], "notes": ["ruff: no parsable file to check"]}
    done = _run(
        [
            sys.executable, "-m", "ruff", "check", "--config", str(ruff_config()),
            "--output-format", "json", "--no-cache", "--no-fix", "--exit-zero", *targets,
        ],
        ws.root,
    )  # fmt: skip
    if done.returncode != 0:
        return {"findings": [], "notes": [f"ruff failed: {done.stderr.strip()[-300:]}"]}
    by_shown = _by_shown(files)
    out = []
    for item in json.loads(done.stdout or "[]"):
        shown = ws.to_shown(item["filename"])
        source = by_shown.get(shown or "")
        if source is None:
            continue
        rule = str(item.get("code") or "ruff")
        bug = rule in BUG_RULES
        fix = (item.get("fix") or {}).get("message") or _RUFF_FIX.get(rule) or f"see `ruff rule {rule}`"
        out.append(
            _finding(
                source,
                int(item["location"]["row"]),
                int(item["end_location"]["row"]),
                rule_id=rule,
                category="bug" if bug else "style",
                severity=("high" if rule in _HIGH_BUG_RULES else "medium") if bug else "low",
                why=str(item.get("message") or rule),
                suggested_fix=fix,
                source="style",
            )
        )
    return {"findings": out, "notes": [f"ruff: {len(targets)} file(s), {len(out)} finding(s)"]}


# -- security: bandit ----------------------------------------------------------------------------
_BANDIT_SEVERITY = {"HIGH": "high", "MEDIUM": "medium", "LOW": "low"}
# assert in library code is a correctness topic, and reviewed tests are not linted.
_BANDIT_SKIP = "B101"
_BANDIT_LOCK = threading.Lock()


def _bandit_issues(paths: list[Path]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """bandit's issues and errors. bandit only parses (ast) the files, so it runs in-process:
    a subprocess would pay ~1 s of interpreter and plugin start-up per review."""
    with _BANDIT_LOCK, warnings.catch_warnings():  # bandit's plugin loader and logging are process-global
        # bandit's plugin loader (stevedore) warns about its own deprecated argument on first import.
        warnings.simplefilter("ignore", DeprecationWarning)
        from bandit.core import config as bandit_config
        from bandit.core import manager as bandit_manager

        manager = bandit_manager.BanditManager(
            bandit_config.BanditConfig(), "file", profile={"exclude": [_BANDIT_SKIP]}, quiet=True
        )
        manager.discover_files([str(p) for p in paths])
        manager.run_tests()
        issues = [i.as_dict(with_code=False) for i in manager.get_issue_list()]
        errors = [{"filename": f, "reason": r} for f, r in manager.skipped]
    return issues, errors


def bandit_scan(ws: Workspace, files: list[SourceFile]) -> dict[str, Any]:
    """bandit on every parsable reviewed file."""
    by_shown = _by_shown(files)
    targets = [rel for rel in ws.sources if by_shown.get(ws.shown[rel], SourceFile("", "")).syntax_ok]
    if not targets:
        return {"findings": [], "notes": ["bandit: no parsable file to scan"]}
    issues, errors = _bandit_issues([ws.root / rel for rel in targets])
    out = []
    for item in issues:
        shown = ws.to_shown(item["filename"])
        source = by_shown.get(shown or "")
        if source is None:
            continue
        lines = item.get("line_range") or [item["line_number"]]
        more = item.get("more_info") or ""
        out.append(
            _finding(
                source,
                int(min(lines)),
                int(max(lines)),
                rule_id=str(item["test_id"]),
                category="security",
                severity=_BANDIT_SEVERITY.get(item.get("issue_severity", ""), "low"),
                why=f"{item['issue_text']} (bandit {item['test_name']}, confidence {item['issue_confidence']})",
                suggested_fix=_BANDIT_FIX.get(
                    item["test_id"], f"see {more}" if more else "see bandit's docs"
                ),
                source="security",
            )
        )
    notes = [f"bandit: {len(targets)} file(s), {len(out)} finding(s)"]
    notes += [f"bandit error: {ws.to_shown(e['filename']) or e['filename']}: {e['reason']}" for e in errors]
    return {"findings": out, "notes": notes}


_BANDIT_FIX = {
    "B102": "do not exec() strings; call the code directly",
    "B105": "read the secret from the environment or a secret store, never from source",
    "B106": "read the secret from the environment or a secret store, never from source",
    "B107": "read the secret from the environment or a secret store, never from source",
    "B301": "unpickle only trusted data; use json for data from outside",
    "B307": "use ast.literal_eval for literals, or parse the input explicitly; never eval() input",
    "B311": "use the secrets module for tokens and passwords",
    "B324": "use hashlib.sha256 (or pass usedforsecurity=False for non-security hashes)",
    "B506": "use yaml.safe_load",
    "B602": "pass a list of arguments with shell=False",
    "B605": "use subprocess.run([...]) with a list of arguments, not os.system",
    "B608": "use query parameters (cursor.execute(sql, params)), never string-built SQL",
}


# -- complexity: radon -----------------------------------------------------------------------------
def radon_metrics(ws: Workspace, files: list[SourceFile]) -> dict[str, Any]:
    """Cyclomatic complexity per function and maintainability index per module (radon)."""
    from radon.complexity import cc_rank, cc_visit
    from radon.metrics import mi_rank, mi_visit

    out = []
    notes = []
    for source in files:
        if not source.syntax_ok:
            continue
        blocks = cc_visit(source.text)
        for block in blocks:
            if block.complexity <= COMPLEXITY_CC_MAX:
                continue
            kind = "method" if getattr(block, "is_method", False) else type(block).__name__.lower()
            out.append(
                _finding(
                    source,
                    block.lineno,
                    block.lineno,  # the def line: the refuter checks one line, not a whole body
                    rule_id="CC",
                    category="complexity",
                    severity="high" if block.complexity > 20 else "medium",
                    why=(
                        f"{kind} {block.name} has cyclomatic complexity {block.complexity} "
                        f"(rank {cc_rank(block.complexity)}; the limit is {COMPLEXITY_CC_MAX})"
                    ),
                    suggested_fix="split it into smaller functions; replace nested branches with early returns or a table",
                    source="complexity",
                )
            )
        mi = mi_visit(source.text, multi=True)
        notes.append(f"radon: {source.path}: MI {mi:.1f} ({mi_rank(mi)}), {len(blocks)} block(s)")
        if mi < COMPLEXITY_MI_MIN and source.lines:
            out.append(
                _finding(
                    source,
                    1,
                    1,
                    rule_id="MI",
                    category="complexity",
                    severity="medium",
                    why=f"maintainability index {mi:.1f} (rank {mi_rank(mi)}; the limit is {COMPLEXITY_MI_MIN})",
                    suggested_fix="split the module; shorten long functions and reduce their branching",
                    source="complexity",
                )
            )
    return {"findings": out, "notes": notes}
