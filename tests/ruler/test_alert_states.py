"""Alerting rules on a hand-moved clock: inactive -> pending -> firing -> resolved, and ALERTS."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from labkit.lgtm.metrics.index import index_for, is_stale
from labkit.lgtm.rules.alerting import RESOLVED_RETENTION_MS
from labkit.lgtm.server import EmbeddedServer

from .conftest import T0_MS, Clock, add_samples, manual_ruler

RULES = """\
groups:
  - name: queue
    rules:
      - alert: QueueBacklog
        expr: queue_depth > 100
        for: 30s
        labels:
          severity: page
        annotations:
          summary: "{{ $labels.queue }} holds {{ $value }} jobs"
"""


def _rules(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def _depth(srv: EmbeddedServer, queue: str, ts_ms: int, value: float) -> None:
    add_samples(srv, [({"__name__": "queue_depth", "queue": queue}, ts_ms, value)])


def _last(srv: EmbeddedServer, labels: dict[str, str]) -> tuple[int, float] | None:
    index = index_for(srv.db)
    sid = index.lookup(labels)
    if sid is None:
        return None
    ts, vals = index.samples(sid)
    return (int(ts[-1]), float(vals[-1])) if len(ts) else None


def test_pending_then_firing_after_for_then_resolved(server: EmbeddedServer, tmp_path: Path) -> None:
    text = RULES
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_rules(tmp_path, text)])
    [group] = ruler.groups()
    [state] = group.rules
    assert state.alerting is not None

    _depth(server, "emails", T0_MS, 50)
    ruler.evaluate_all(clock.now_ms)
    assert state.alerting.state() == "inactive" and state.health == "ok"

    t1 = clock.advance(10)
    _depth(server, "emails", t1, 150)
    ruler.evaluate_all(t1)
    [alert] = state.alerting.active.values()
    assert (alert.state, alert.active_at_ms, alert.value) == ("pending", t1, 150.0)
    assert alert.labels == {"alertname": "QueueBacklog", "queue": "emails", "severity": "page"}
    assert alert.annotations == {"summary": "emails holds 150 jobs"}
    labels = {"__name__": "ALERTS", "alertname": "QueueBacklog", "queue": "emails", "severity": "page"}
    assert _last(server, {**labels, "alertstate": "pending"}) == (t1, 1.0)
    for_state = {k: v for k, v in labels.items() if k != "__name__"} | {"__name__": "ALERTS_FOR_STATE"}
    assert _last(server, for_state) == (t1, t1 / 1000)

    # 20 s later: still pending (for: 30s), the value and annotations follow the data
    t2 = clock.advance(20)
    _depth(server, "emails", t2, 180)
    ruler.evaluate_all(t2)
    assert (alert.state, alert.value, alert.annotations["summary"]) == (
        "pending",
        180.0,
        "emails holds 180 jobs",
    )

    # 30 s after activeAt: firing; the pending series goes stale, the firing one appears
    t3 = clock.advance(10)
    _depth(server, "emails", t3, 200)
    ruler.evaluate_all(t3)
    assert alert.state == "firing" and alert.fired_at_ms == t3 and alert.active_at_ms == t1
    assert _last(server, {**labels, "alertstate": "firing"}) == (t3, 1.0)
    pending = _last(server, {**labels, "alertstate": "pending"})
    assert pending is not None and pending[0] == t3 and bool(is_stale(np.array([pending[1]]))[0])
    assert state.alerting.state() == "firing"

    # the condition clears: resolved (inactive) and kept for notification, ALERTS goes stale
    t4 = clock.advance(10)
    _depth(server, "emails", t4, 20)
    ruler.evaluate_all(t4)
    assert alert.state == "inactive" and alert.resolved_at_ms == t4
    assert state.alerting.state() == "inactive"
    firing = _last(server, {**labels, "alertstate": "firing"})
    assert firing is not None and firing[0] == t4 and math.isnan(firing[1])

    # after the resolved retention the alert is forgotten
    t5 = clock.advance(RESOLVED_RETENTION_MS / 1000 + 1)
    _depth(server, "emails", t5, 20)
    ruler.evaluate_all(t5)
    assert state.alerting.active == {}


def test_a_pending_alert_that_clears_never_fires(server: EmbeddedServer, tmp_path: Path) -> None:
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_rules(tmp_path, RULES)])
    [state] = ruler.groups()[0].rules
    assert state.alerting is not None
    _depth(server, "a", T0_MS, 500)
    ruler.evaluate_all(T0_MS)
    assert state.alerting.state() == "pending"
    _depth(server, "a", T0_MS + 10_000, 1)
    ruler.evaluate_all(T0_MS + 10_000)
    assert state.alerting.active == {}  # dropped, not resolved: it never fired


def test_for_zero_fires_at_once_and_keep_firing_for_holds_it(server: EmbeddedServer, tmp_path: Path) -> None:
    text = RULES.replace("for: 30s", "keep_firing_for: 20s")
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_rules(tmp_path, text)])
    [state] = ruler.groups()[0].rules
    assert state.alerting is not None
    _depth(server, "a", T0_MS, 500)
    ruler.evaluate_all(T0_MS)
    [alert] = state.alerting.active.values()
    assert alert.state == "firing"
    for step, expected in ((10, "firing"), (20, "firing"), (30, "inactive")):
        t = T0_MS + step * 1000
        _depth(server, "a", t, 1)
        ruler.evaluate_all(t)
        assert alert.state == expected, step
    assert alert.keep_firing_since_ms == T0_MS + 10_000


def test_each_label_set_is_its_own_alert(server: EmbeddedServer, tmp_path: Path) -> None:
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_rules(tmp_path, RULES)])
    [state] = ruler.groups()[0].rules
    assert state.alerting is not None
    add_samples(
        server,
        [
            ({"__name__": "queue_depth", "queue": "a"}, T0_MS, 500),
            ({"__name__": "queue_depth", "queue": "b"}, T0_MS, 5),
            ({"__name__": "queue_depth", "queue": "c"}, T0_MS, 700),
        ],
    )
    ruler.evaluate_all(T0_MS)
    assert sorted(a.labels["queue"] for a in state.alerting.active.values()) == ["a", "c"]


def test_evaluate_due_respects_each_group_interval(server: EmbeddedServer, tmp_path: Path) -> None:
    text = "groups:\n  - name: fast\n    interval: 5s\n    rules:\n"
    text += "      - record: one\n        expr: vector(1)\n"
    text += "  - name: slow\n    rules:\n      - record: two\n        expr: vector(2)\n"
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[_rules(tmp_path, text)])
    fast, slow = ruler.groups()
    assert (fast.interval_ms, slow.interval_ms) == (5_000, 10_000)  # slow: the ruler default
    assert ruler.evaluate_due(T0_MS) == 2
    assert ruler.evaluate_due(T0_MS + 5_000) == 1 and fast.last_eval_ms == T0_MS + 5_000
    assert ruler.evaluate_due(T0_MS + 10_000) == 2
    assert ruler.evaluate_due(T0_MS + 11_000) == 0


def test_reload_keeps_alerts_and_ends_the_series_of_removed_rules(
    server: EmbeddedServer, tmp_path: Path
) -> None:
    path = _rules(tmp_path, RULES + "      - record: depth:max\n        expr: max(queue_depth)\n")
    clock = Clock(T0_MS)
    ruler = manual_ruler(server, clock, rules=[path])
    _depth(server, "a", T0_MS, 500)
    ruler.evaluate_all(T0_MS)
    [alert] = ruler.groups()[0].rules[0].alerting.active.values()  # type: ignore[union-attr]
    assert _last(server, {"__name__": "depth:max"}) == (T0_MS, 500.0)
    # edit an annotation and drop the recording rule: the alert keeps its activeAt
    path.write_text(RULES.replace("holds", "has"))
    clock.advance(5)
    assert ruler.reload() == []
    [state] = ruler.groups()[0].rules
    assert state.alerting is not None and list(state.alerting.active.values()) == [alert]
    ended = _last(server, {"__name__": "depth:max"})
    assert ended is not None and ended[0] == clock.now_ms and math.isnan(ended[1])
