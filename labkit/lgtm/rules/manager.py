"""The embedded ruler: load rule files, evaluate groups on their interval, write results back.

``Ruler(db, settings)`` reads the files named by ``rule_files`` (PromQL, Mimir's ruler)
and ``loki_rule_files`` (LogQL, Loki's ruler). ``evaluate_due(now_ms)`` first reloads
files whose modification time or size changed, then evaluates every group whose interval
has elapsed, in file order and rule order as Prometheus does. Recording rules write their
series to the metric store; alerting rules advance their alerts and write ``ALERTS`` and
``ALERTS_FOR_STATE``. Series a rule stopped producing get a stale marker.

A file that fails to load (YAML or query syntax) is reported in ``errors`` and by
``reload()``; the groups loaded from it before keep running, unchanged.
"""

from __future__ import annotations

import glob
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labkit.lgtm.db import Database
from labkit.lgtm.rules.alerting import AlertingState, LabelKey
from labkit.lgtm.rules.engines import CycleReads, Engine, RuleEvalError, engine_for
from labkit.lgtm.rules.model import Rule, RuleFileError, RuleGroup, parse_rule_file

__all__ = ["GroupState", "RuleState", "Ruler", "expand_rule_files"]

log = logging.getLogger("labkit.lgtm.rules")

_GLOB_CHARS = set("*?[")
# Rule groups set through the ruler API (POST /loki/api/v1/rules/{namespace}, Mimir's
# /prometheus/config/v1/rules/{namespace}) live in the data dir, one file per namespace.
API_DIRS = {"promql": "mimir", "logql": "loki"}


@dataclass
class RuleState:
    """A rule plus what its last evaluation left: health, error, timing, alerts, output series."""

    rule: Rule
    health: str = "unknown"  # "ok" | "err" | "unknown"
    last_error: str = ""
    last_eval_ms: int = 0
    eval_seconds: float = 0.0
    alerting: AlertingState | None = None
    series: set[LabelKey] = field(default_factory=set)

    def __post_init__(self) -> None:
        if self.rule.kind == "alert" and self.alerting is None:
            self.alerting = AlertingState(self.rule)


@dataclass
class GroupState:
    group: RuleGroup
    engine: str  # "promql" | "logql"
    namespace: str  # Loki/Mimir namespace: the rule file's name
    interval_ms: int
    rules: list[RuleState]
    last_eval_ms: int = 0
    eval_seconds: float = 0.0
    next_eval_ms: int = 0

    @property
    def name(self) -> str:
        return self.group.name

    @property
    def file(self) -> str:
        return self.group.file


@dataclass
class _LoadedFile:
    engine: str
    stamp: tuple[int, int]  # (mtime_ns, size) of the version loaded
    groups: list[GroupState]
    error: RuleFileError | None = None
    error_stamp: tuple[int, int] | None = None


def expand_rule_files(patterns: Iterable[str]) -> tuple[list[Path], list[str]]:
    """Files matched by the patterns (sorted per pattern, deduplicated) and problems found."""
    files: list[Path] = []
    problems: list[str] = []
    seen: set[Path] = set()
    for pattern in patterns:
        expanded = os.path.expanduser(pattern)
        if _GLOB_CHARS & set(expanded):
            matches = sorted(Path(p) for p in glob.glob(expanded, recursive=True) if Path(p).is_file())
        else:
            matches = [Path(expanded)]
            if not matches[0].is_file():
                problems.append(f"{expanded}: rule file does not exist")
                continue
        for path in matches:
            resolved = path.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(path)
    return files, problems


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_mtime_ns, st.st_size)


class Ruler:
    """Rule groups of both engines over one store; thread-safe (evaluation runs in a worker)."""

    def __init__(
        self,
        db: Database,
        *,
        rule_files: Iterable[str] = (),
        loki_rule_files: Iterable[str] = (),
        default_interval_s: float = 15.0,
        clock: Callable[[], float] = time.time,
        api_dir: Path | None = None,
    ) -> None:
        self.db = db
        self.patterns = {"promql": list(rule_files), "logql": list(loki_rule_files)}
        self.api_dir = api_dir
        if api_dir is not None:
            for engine, sub in API_DIRS.items():
                self.patterns[engine].append(str(api_dir / sub / "*.yaml"))
        self.default_interval_ms = max(1, round(default_interval_s * 1000))
        self.clock = clock
        self._files: dict[str, _LoadedFile] = {}
        self._lock = threading.RLock()
        self.errors: list[str] = []

    @classmethod
    def from_settings(cls, db: Database, settings: Any, **kwargs: Any) -> Ruler:
        return cls(
            db,
            rule_files=settings.rule_files,
            loki_rule_files=settings.loki_rule_files,
            default_interval_s=settings.ruler_evaluation_interval_s,
            api_dir=Path(settings.data_dir) / "rules",
            **kwargs,
        )

    def namespace_file(self, engine: str, namespace: str) -> Path:
        """Where the API keeps a namespace's groups (``<data_dir>/rules/<mimir|loki>/<ns>.yaml``)."""
        if self.api_dir is None:
            raise ValueError("this ruler has no data dir for rule groups set through the API")
        if not namespace or not all(c.isalnum() or c in "-_." for c in namespace) or namespace[0] == ".":
            raise ValueError(f"invalid namespace {namespace!r}: use letters, digits, '-', '_' and '.'")
        return self.api_dir / API_DIRS[engine] / f"{namespace}.yaml"

    # -- loading ------------------------------------------------------------------------

    def reload(self, force: bool = False) -> list[str]:
        """Load new and changed files; return every current load problem (empty: all loaded)."""
        problems: list[str] = []
        wanted: dict[str, tuple[str, Path]] = {}
        for engine, patterns in self.patterns.items():
            files, missing = expand_rule_files(patterns)
            problems += missing
            for path in files:
                wanted.setdefault(str(path), (engine, path))
        with self._lock:
            for key in list(self._files):
                if key not in wanted:
                    self._mark_stale(self._files.pop(key).groups)
            for key, (engine, path) in wanted.items():
                stamp = _stamp(path)
                if stamp is None:
                    problems.append(f"{path}: cannot read the rule file")
                    continue
                loaded = self._files.get(key)
                if not force and loaded is not None:
                    if loaded.stamp == stamp and loaded.engine == engine:
                        continue
                    if loaded.error is not None and loaded.error_stamp == stamp:
                        problems.append(str(loaded.error))
                        continue
                problem = self._load(key, engine, path, stamp)
                if problem:
                    problems.append(problem)
            self.errors = problems
        return problems

    def _load(self, key: str, engine_name: str, path: Path, stamp: tuple[int, int]) -> str | None:
        engine = engine_for(engine_name)
        old = self._files.get(key)
        try:
            parsed = parse_rule_file(path, engine.compile)
        except RuleFileError as exc:
            log.warning("rule file rejected, keeping the rules loaded before: %s", exc)
            if old is None:
                self._files[key] = _LoadedFile(engine_name, (0, 0), [], exc, stamp)
            else:
                old.error, old.error_stamp = exc, stamp
            return str(exc)
        old_groups = {g.name: g for g in old.groups} if old else {}
        groups = []
        dropped: list[GroupState] = []  # rules removed from a kept group: their series go stale
        for group in parsed.groups:
            interval = group.interval_ms or self.default_interval_ms
            namespace = path.name.removesuffix(".yaml").removesuffix(".yml")
            state = GroupState(group, engine_name, namespace, interval, [RuleState(r) for r in group.rules])
            previous = old_groups.pop(group.name, None)
            if previous is not None:
                dropped += _copy_state(previous, state)
            groups.append(state)
        self._mark_stale([*old_groups.values(), *dropped])
        self._files[key] = _LoadedFile(engine_name, stamp, groups)
        log.info("loaded %d rule group(s) from %s (%s)", len(groups), path, engine_name)
        return None

    def groups(self, engine: str | None = None) -> list[GroupState]:
        with self._lock:
            return [g for f in self._files.values() if engine is None or f.engine == engine for g in f.groups]

    # -- evaluation ---------------------------------------------------------------------

    def evaluate_due(self, now_ms: int | None = None) -> int:
        """Reload changed files, then evaluate the groups whose time has come; return how many."""
        now = int(self.clock() * 1000) if now_ms is None else now_ms
        self.reload()
        done = 0
        for group in self.groups():
            if group.next_eval_ms <= now:
                self.evaluate_group(group, now)
                done += 1
        return done

    def evaluate_all(self, now_ms: int | None = None) -> None:
        """Evaluate every group once at ``now_ms`` (tests, benchmarks, lessons)."""
        now = int(self.clock() * 1000) if now_ms is None else now_ms
        for group in self.groups():
            self.evaluate_group(group, now)

    def next_due_ms(self) -> int | None:
        groups = self.groups()
        return min((g.next_eval_ms for g in groups), default=None)

    def evaluate_group(self, group: GroupState, ts_ms: int) -> None:
        engine = engine_for(group.engine)
        started = time.perf_counter()
        eval_ts = ts_ms - group.group.query_offset_ms
        with self._lock:
            if group.engine == "promql":
                self._evaluate_promql_group(engine, group, eval_ts, ts_ms)
            else:
                # LogQL rules read only the log store, so their output is written once, and
                # they share one view of it: identical statements are sent once per cycle.
                reads = CycleReads(self.db)
                writes = []
                for state in group.rules:
                    writes += self._evaluate_rule(engine, group, state, eval_ts, ts_ms, reads)
                if writes:
                    self._write(writes)
            group.last_eval_ms = ts_ms
            group.next_eval_ms = ts_ms + group.interval_ms
            group.eval_seconds = time.perf_counter() - started

    def _evaluate_promql_group(self, engine: Engine, group: GroupState, eval_ts: int, ts_ms: int) -> None:
        from labkit.lgtm.metrics.store import append_samples

        # One transaction and, mostly, one insert for the group: each insert costs more than a
        # rule. Prometheus stores a rule's output before the next rule runs, so pending
        # output is flushed before a rule whose query may read it (it names a series written
        # earlier in this cycle, or matches on __name__).
        pending: list[tuple[dict[str, str], int, float]] = []
        written: set[str] = set()
        try:
            with self.db.transaction() as con:
                for state in group.rules:
                    expr = state.rule.expr
                    if pending and ("__name__" in expr or any(name in expr for name in written)):
                        append_samples(self.db, con, pending)
                        pending = []
                    writes = self._evaluate_rule(engine, group, state, eval_ts, ts_ms)
                    pending += writes
                    written.update(labels["__name__"] for labels, _, _ in writes)
                if pending:
                    append_samples(self.db, con, pending)
        except Exception:  # the next cycle writes again; never crash the loop
            log.exception("could not store the results of rule group %r", group.name)

    def _evaluate_rule(
        self,
        engine: Engine,
        group: GroupState,
        state: RuleState,
        eval_ts: int,
        ts_ms: int,
        reads: CycleReads | None = None,
    ) -> list[tuple[dict[str, str], int, float]]:
        from labkit.lgtm.metrics.index import STALE_NAN

        rule = state.rule
        started = time.perf_counter()
        try:
            samples = engine.instant(reads or self.db, rule.compiled, eval_ts)
            if state.alerting is not None:
                out = state.alerting.evaluate(samples, ts_ms, group.group.limit)
            else:
                out = _recorded(rule, samples, group.group.limit)
        except RuleEvalError as exc:
            state.health, state.last_error = "err", str(exc)
            out = None
        except Exception as exc:  # an engine bug must not stop the other rules
            log.exception("rule %r of group %r failed", rule.name, group.name)
            state.health, state.last_error = "err", f"{type(exc).__name__}: {exc}"
            out = None
        state.last_eval_ms = ts_ms
        state.eval_seconds = time.perf_counter() - started
        if out is None:
            return []
        state.health, state.last_error = "ok", ""
        keys = {tuple(sorted(labels.items())) for labels, _ in out}
        writes = [(labels, ts_ms, value) for labels, value in out]
        writes += [(dict(k), ts_ms, STALE_NAN) for k in state.series - keys]
        state.series = keys
        return writes

    def _write(self, samples: list[tuple[dict[str, str], int, float]]) -> None:
        from labkit.lgtm.metrics.store import append_samples

        try:
            with self.db.transaction() as con:
                append_samples(self.db, con, samples)
        except Exception:  # the next cycle writes again; never crash the loop
            log.exception("could not store %d rule result sample(s)", len(samples))

    def _mark_stale(self, groups: list[GroupState]) -> None:
        from labkit.lgtm.metrics.index import STALE_NAN

        ts = int(self.clock() * 1000)
        stale = [(dict(k), ts, STALE_NAN) for g in groups for r in g.rules for k in r.series]
        if stale:
            self._write(stale)

    # -- views for the APIs ---------------------------------------------------------------

    def snapshot(self, engine: str | None = None) -> list[GroupState]:
        """The groups to render (callers hold no lock; values are read once)."""
        return self.groups(engine)

    @property
    def lock(self) -> threading.RLock:
        return self._lock


def _recorded(rule: Rule, samples: list[tuple[dict[str, str], float]], limit: int) -> list[Any]:
    out = []
    seen: set[LabelKey] = set()
    for metric, value in samples:
        labels = {**metric, "__name__": rule.name, **rule.labels}
        labels = {k: v for k, v in labels.items() if v != ""}
        key = tuple(sorted(labels.items()))
        if key in seen:
            raise RuleEvalError("vector contains metrics with the same labelset after applying rule labels")
        seen.add(key)
        out.append((labels, value))
    if limit > 0 and len(out) > limit:
        raise RuleEvalError(f"exceeded limit of {limit} with {len(out)} series")
    return out


def _copy_state(old: GroupState, new: GroupState) -> list[GroupState]:
    """Carry evaluation state to the reloaded group: same rule (kind, name, query) keeps its state.

    Returns the old rules that have no successor (as a group), so their series can be ended.
    """
    by_key = {(r.rule.kind, r.rule.name, r.rule.expr): r for r in old.rules}
    for state in new.rules:
        prev = by_key.pop((state.rule.kind, state.rule.name, state.rule.expr), None)
        if prev is None:
            continue
        state.health, state.last_error = prev.health, prev.last_error
        state.last_eval_ms, state.eval_seconds, state.series = (
            prev.last_eval_ms,
            prev.eval_seconds,
            prev.series,
        )
        if state.alerting is not None and prev.alerting is not None:
            state.alerting.copy_from(prev.alerting)
    new.last_eval_ms, new.eval_seconds = old.last_eval_ms, old.eval_seconds
    new.next_eval_ms = old.next_eval_ms if old.interval_ms == new.interval_ms else 0
    if not by_key:
        return []
    return [GroupState(old.group, old.engine, old.namespace, old.interval_ms, list(by_key.values()))]
