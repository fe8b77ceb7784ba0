"""The tests specialist's tool: pytest + coverage in a contained subprocess, then Ochiai.

The workspace is copied into a fresh temporary folder and run there by
:func:`labkit.agents.code_critic.sandbox.run_contained` (timeout, rlimits, no network,
process-group kill). A small pytest plugin, loaded only in the child, switches
coverage's dynamic context to each test's node id and writes each test's outcome to a
JSON-lines file, so the parent gets per-test line coverage without importing
anything: it reads coverage's data file (SQLite) and the outcomes file.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

from labkit.agents.code_critic.intake import SourceFile
from labkit.agents.code_critic.sandbox import Limits, Outcome, run_contained
from labkit.agents.code_critic.sbfl import Suspect, ochiai
from labkit.agents.code_critic.schema import Finding
from labkit.agents.code_critic.workspace import Workspace

__all__ = ["PLUGIN_NAME", "run_tests"]

PLUGIN_NAME = "_labkit_critic_plugin"
_PLUGIN = textwrap.dedent(
    '''
    """Loaded only inside the contained test run: per-test coverage contexts and outcomes."""
    import json, os
    import coverage, pytest

    _out = open(os.environ["LABKIT_CRITIC_RESULTS"], "a", encoding="utf-8", buffering=1)

    def _write(record):
        _out.write(json.dumps(record) + "\\n")

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(item, nextitem):
        _write({"start": item.nodeid, "location": list(item.location)})
        cov = coverage.Coverage.current()
        if cov is not None:
            cov.switch_context(item.nodeid)
        yield
        if cov is not None:
            cov.switch_context("")

    def pytest_runtest_logreport(report):
        crash = getattr(report.longrepr, "reprcrash", None)
        _write({
            "nodeid": report.nodeid, "when": report.when, "outcome": report.outcome,
            "location": list(report.location),
            "crash": [crash.path, crash.lineno, crash.message] if crash is not None else None,
        })

    def pytest_collectreport(report):
        if report.failed:
            _write({"collect_error": report.nodeid, "text": str(report.longrepr)[-4000:]})
    '''
)
_NETWORK_HINTS = (
    "network access is disabled",
    "Network is unreachable",
    "name resolution",
    "Name or service",
)
_LOCATION = re.compile(r"^(?P<path>[^\s:][^:\n]*\.py):(?P<line>\d+)", re.M)


def _finding(source: SourceFile, line: int, **fields: Any) -> dict[str, Any]:
    lines = source.lines
    line = min(max(line, 1), max(len(lines), 1))
    code = lines[line - 1] if lines else ""
    return Finding(
        file=source.path, line_start=line, line_end=line, code=code, source="tests", **fields
    ).model_dump()


def _records(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    out = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a run killed mid-write leaves half a line
    return out


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in (text or "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if re.match(r"^E\s+\w*(Error|Exception)", ln) or "Error:" in ln]
    return (errors[-1] if errors else lines[-1] if lines else "no message").removeprefix("E").strip()[:300]


def run_tests(
    ws: Workspace,
    files: list[SourceFile],
    tests: list[SourceFile],
    *,
    limits: Limits | None = None,
) -> dict[str, Any]:
    """Run the given tests against the reviewed files; findings, notes and suspects."""
    if not ws.tests:
        return {"findings": [], "notes": ["tests: no test files given (pass --tests PATH)"], "suspects": []}
    limits = limits or Limits()
    by_shown = {s.path: s for s in [*files, *tests]}
    box = Path(tempfile.mkdtemp(prefix="labkit-critic-run-"))
    plugin_dir = Path(tempfile.mkdtemp(prefix="labkit-critic-plugin-"))
    try:
        work = box / "work"
        work.mkdir()
        ws.copy_to(work)
        (plugin_dir / f"{PLUGIN_NAME}.py").write_text(_PLUGIN, encoding="utf-8")
        results = box / "results.jsonl"
        data_file = box / "coverage.sqlite"
        rc = box / "coveragerc"
        rc.write_text(f"[run]\nsource = {work}\ndata_file = {data_file}\n", encoding="utf-8")
        source_dirs = sorted({str((work / rel).parent) for rel in ws.sources} | {str(work)})
        outcome = run_contained(
            [
                sys.executable, "-m", "coverage", "run", f"--rcfile={rc}", "-m", "pytest",
                "-p", PLUGIN_NAME, "-p", "no:cacheprovider", "-q", "-o", "addopts=",
                "--rootdir", str(work), *ws.tests,
            ],
            work,
            limits=limits,
            env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "LABKIT_CRITIC_RESULTS": str(results)},
            python_path=[str(plugin_dir), *source_dirs],
        )  # fmt: skip
        return _interpret(ws, by_shown, work, _records(results), data_file, outcome, limits)
    finally:
        shutil.rmtree(box, ignore_errors=True)
        shutil.rmtree(plugin_dir, ignore_errors=True)


def _test_source(ws: Workspace, by_shown: dict[str, SourceFile], nodeid: str) -> SourceFile | None:
    shown = ws.to_shown(nodeid.split("::", 1)[0])
    return by_shown.get(shown or "")


def _interpret(
    ws: Workspace,
    by_shown: dict[str, SourceFile],
    work: Path,
    records: list[dict[str, Any]],
    data_file: Path,
    outcome: Outcome,
    limits: Limits,
) -> dict[str, Any]:
    findings: list[dict[str, Any]] = []
    notes = [f"tests: network isolation by {outcome.network}; ran {outcome.duration_s:.2f}s"]
    first_test = by_shown[ws.shown[ws.tests[0]]]
    passed: dict[str, bool] = {}
    started: dict[str, list[Any]] = {}
    crashes: dict[str, str] = {}
    finished: set[str] = set()
    for rec in records:
        if "start" in rec:
            started[rec["start"]] = rec["location"]
        elif "collect_error" in rec:
            source = _test_source(ws, by_shown, rec["collect_error"]) or first_test
            text = rec.get("text", "")
            line = next(
                (int(m["line"]) for m in _LOCATION.finditer(text) if ws.to_shown(m["path"]) == source.path), 1
            )
            findings.append(
                _finding(
                    source,
                    line,
                    rule_id="TEST-COLLECT",
                    category="tests",
                    severity="high",
                    why=f"the tests in {source.path} do not import/collect: {_first_line(text)}",
                    suggested_fix="fix the import (module name, path, or the error it raises at import time)",
                )
            )
        elif "nodeid" in rec and rec.get("outcome") != "skipped":
            ok = rec["outcome"] == "passed"
            if rec.get("when") == "teardown":
                finished.add(rec["nodeid"])
            passed[rec["nodeid"]] = passed.get(rec["nodeid"], True) and ok
            started.setdefault(rec["nodeid"], rec["location"])
            if not ok and rec.get("crash"):
                crashes.setdefault(rec["nodeid"], str(rec["crash"][2]))
    if outcome.timed_out:
        hung = [n for n in started if n not in finished]
        hung_source = _test_source(ws, by_shown, hung[-1]) if hung else None
        source = hung_source or first_test
        line = int(started[hung[-1]][1]) + 1 if hung_source is not None else 1
        findings.append(
            _finding(
                source,
                line,
                rule_id="TEST-TIMEOUT",
                category="tests",
                severity="high",
                why=(
                    f"the tests did not finish within {limits.timeout_s:g}s"
                    + (f" (last started: {hung[-1]})" if hung else "")
                    + "; the whole process group was killed (a hang, a runaway fork, or a wait on the network)"
                ),
                suggested_fix="make the test finish: no sleeps or waits on real services, join the processes it forks",
            )
        )
    elif outcome.stray_processes_killed:
        findings.append(
            _finding(
                first_test,
                1,
                rule_id="TEST-FORK",
                category="tests",
                severity="medium",
                why="the tests left processes running after pytest exited; they were killed",
                suggested_fix="wait for (join) every process a test starts, or stop it in a fixture's teardown",
            )
        )
    for nodeid, ok in passed.items():
        if ok:
            continue
        source = _test_source(ws, by_shown, nodeid) or first_test
        message = crashes.get(nodeid, "failed")
        network = any(h in message for h in _NETWORK_HINTS)
        findings.append(
            _finding(
                source,
                int(started.get(nodeid, [None, 0])[1]) + 1,
                rule_id="TEST-NETWORK" if network else "TEST-FAIL",
                category="tests",
                severity="high",
                why=f"{nodeid} fails: {message.splitlines()[0][:300] if message else 'failed'}",
                suggested_fix=(
                    "tests must not use the network: fake the service (a stub or a loopback server it starts)"
                    if network
                    else "fix the code the test exercises (see the fault-localisation finding) or the test"
                ),
            )
        )
    if not outcome.timed_out and not records and outcome.returncode not in (0, 5):
        notes.append(f"tests: pytest exited {outcome.returncode}: {outcome.stderr.strip()[-300:]}")
    if outcome.returncode == 5:
        notes.append("tests: no tests were collected")
    suspects = _localise(ws, by_shown, work, data_file, passed) if not all(passed.values()) else []
    top = [s for s in suspects if suspects and abs(s.score - suspects[0].score) < 1e-9][:3]
    failing = sum(1 for ok in passed.values() if not ok)
    for s in top:
        findings.append(
            _finding(
                by_shown[s.file],
                s.line,
                rule_id="SBFL",
                category="bug",
                severity="medium",
                why=(
                    f"the most suspicious line by spectrum-based fault localisation (Ochiai {s.score:.2f}): "
                    f"run by {s.failed} of {failing} failing test(s) and {s.passed} passing test(s)"
                ),
                suggested_fix="start debugging here: the failing tests run this line and the passing ones mostly do not",
            )
        )
    notes.append(f"tests: {len(passed)} test(s), {failing} failing")
    return {
        "findings": findings,
        "notes": notes,
        "suspects": [{"file": s.file, "line": s.line, "score": round(s.score, 4)} for s in suspects[:10]],
    }


def _localise(
    ws: Workspace, by_shown: dict[str, SourceFile], work: Path, data_file: Path, passed: dict[str, bool]
) -> list[Suspect]:
    """Ochiai over the reviewed (non-test) files, from coverage's per-test contexts."""
    if not data_file.is_file():
        return []
    from coverage import CoverageData

    data = CoverageData(basename=str(data_file))
    data.read()
    sources = set(ws.sources)
    spectra: dict[str, dict[str, set[int]]] = {}
    for measured in data.measured_files():
        try:
            rel = Path(measured).resolve().relative_to(work.resolve()).as_posix()
        except ValueError:
            continue
        if rel not in sources:
            continue
        shown = ws.shown[rel]
        for line, contexts in data.contexts_by_lineno(measured).items():
            for ctx in contexts:
                if ctx in passed:
                    spectra.setdefault(ctx, {}).setdefault(shown, set()).add(int(line))
    ranked = ochiai(spectra, passed)
    return [s for s in ranked if s.file in by_shown]
