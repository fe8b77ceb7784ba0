"""Ruler HTTP APIs with the real shapes: Prometheus ``/api/v1/rules`` + ``/api/v1/alerts``, Loki YAML.

On the Mimir port: ``GET /prometheus/api/v1/rules``, ``/prometheus/api/v1/alerts`` (and the
plain ``/api/v1/`` prefix), and ``/prometheus/config/v1/rules`` (YAML, Mimir's ruler config
API). On the Loki port: ``GET /loki/api/v1/rules[/{namespace}[/{group}]]`` (YAML: namespace
-> list of groups, as Loki answers), ``/prometheus/api/v1/rules`` and
``/prometheus/api/v1/alerts``. ``POST /-/reload`` on either reloads every rule file and
answers 500 naming what failed (the previous rules keep running).

``/rules`` takes ``type=alert|record``, ``rule_name[]``, ``rule_group[]``, ``file[]`` and
``exclude_alerts=true`` as Prometheus does. ``POST .../rules/{namespace}`` with one rule
group as YAML creates or replaces it (202), ``DELETE .../rules/{namespace}[/{group}]``
removes it; they are kept under ``<data_dir>/rules/{mimir,loki}/<namespace>.yaml``.
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from typing import Any

import numpy as np
import yaml
from aiohttp import web

from labkit.lgtm.rules.alerting import Alert
from labkit.lgtm.rules.manager import GroupState, Ruler, RuleState
from labkit.lgtm.rules.model import RuleFileError
from labkit.lgtm.rules.namespaces import delete_group, set_group

__all__ = ["add_routes", "alerts_data", "format_time", "format_value", "rules_data", "rules_yaml"]

# What Loki's and Mimir's rulers answer to a rule-group write.
_ACCEPTED = {"status": "success", "data": None, "errorType": "", "error": ""}
_ZERO_TIME = "0001-01-01T00:00:00Z"  # Go's zero time.Time, what Prometheus shows before a first run


def format_time(ms: int) -> str:
    """RFC 3339 in UTC with the fraction Go prints (trailing zeros dropped)."""
    if not ms:
        return _ZERO_TIME
    dt = datetime.fromtimestamp(ms // 1000, tz=UTC)
    frac = f"{ms % 1000:03d}".rstrip("0")
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + (f".{frac}" if frac else "") + "Z"


def format_value(v: float) -> str:
    """``strconv.FormatFloat(v, 'e', -1, 64)``, how Prometheus prints an alert's value."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return np.format_float_scientific(v, unique=True, trim="-", exp_digits=2)


def _seconds(ms: int) -> float | int:
    # Go marshals float64 seconds without a trailing ".0".
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _alert_json(a: Alert) -> dict[str, Any]:
    out: dict[str, Any] = {
        "labels": dict(sorted(a.labels.items())),
        "annotations": dict(sorted(a.annotations.items())),
        "state": a.state,
        "activeAt": format_time(a.active_at_ms),
        "value": format_value(a.value),
    }
    if a.keep_firing_since_ms:
        out["keepFiringSince"] = format_time(a.keep_firing_since_ms)
    return out


def _active(state: RuleState) -> list[Alert]:
    if state.alerting is None:
        return []
    return [a for a in state.alerting.active.values() if a.state != "inactive"]


def _rule_json(state: RuleState, exclude_alerts: bool) -> dict[str, Any]:
    rule = state.rule
    common = {
        "name": rule.name,
        "query": rule.expr,
        "labels": dict(sorted(rule.labels.items())),
        "health": state.health,
        "lastError": state.last_error,
        "evaluationTime": round(state.eval_seconds, 9),
        "lastEvaluation": format_time(state.last_eval_ms),
    }
    if state.alerting is None:
        return {**common, "type": "recording"}
    out: dict[str, Any] = {
        "state": state.alerting.state(),
        **common,
        "duration": _seconds(rule.for_ms),
        "keepFiringFor": _seconds(rule.keep_firing_for_ms),
        "annotations": dict(sorted(rule.annotations.items())),
        "type": "alerting",
    }
    if not exclude_alerts:
        out["alerts"] = [_alert_json(a) for a in _active(state)]
    return out


def _filters(query: Any) -> dict[str, Any]:
    kind = query.get("type", "")
    if kind not in ("", "alert", "record"):
        raise ValueError(f'unsupported type "{kind}": use type=alert or type=record')
    return {
        "kind": kind,
        "names": set(query.getall("rule_name[]", [])),
        "rule_groups": set(query.getall("rule_group[]", [])),
        "files": set(query.getall("file[]", [])),
        "exclude_alerts": query.get("exclude_alerts", "false").lower() == "true",
    }


def rules_data(groups: list[GroupState], **filters: Any) -> dict[str, Any]:
    """The ``data`` of ``/api/v1/rules``: ``{"groups": [{name, file, rules: [...], ...}]}``."""
    kind = filters.get("kind", "")
    names, wanted_groups, files = (filters.get(k) or set() for k in ("names", "rule_groups", "files"))
    out = []
    for g in groups:
        if (wanted_groups and g.name not in wanted_groups) or (files and g.file not in files):
            continue
        rules = [
            _rule_json(r, bool(filters.get("exclude_alerts")))
            for r in g.rules
            if (not kind or r.rule.kind == kind) and (not names or r.rule.name in names)
        ]
        if (kind or names) and not rules:
            continue
        out.append(
            {
                "name": g.name,
                "file": g.file,
                "rules": rules,
                "interval": _seconds(g.interval_ms),
                "limit": g.group.limit,
                "evaluationTime": round(g.eval_seconds, 9),
                "lastEvaluation": format_time(g.last_eval_ms),
            }
        )
    return {"groups": out}


def alerts_data(groups: list[GroupState]) -> dict[str, Any]:
    """The ``data`` of ``/api/v1/alerts``: every pending and firing alert."""
    return {"alerts": [_alert_json(a) for g in groups for r in g.rules for a in _active(r)]}


def rules_yaml(groups: list[GroupState], namespace: str | None = None, group: str | None = None) -> str:
    """Loki's ``/loki/api/v1/rules`` body: YAML mapping namespace -> list of rule groups."""
    by_ns: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        if (namespace and g.namespace != namespace) or (group and g.name != group):
            continue
        by_ns.setdefault(g.namespace, []).append(g.group.to_yaml_dict())
    return yaml.safe_dump(by_ns, sort_keys=False, allow_unicode=True)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":"), allow_nan=False),
        status=status,
        content_type="application/json",
    )


def _bad(message: str) -> web.Response:
    return _json({"status": "error", "errorType": "bad_data", "error": message}, 400)


def add_routes(app: web.Application, ruler: Ruler, port: str) -> None:
    """Mount the ruler's routes on the ``port`` app ("mimir" or "loki")."""
    engine = "promql" if port == "mimir" else "logql"

    async def rules(request: web.Request) -> web.Response:
        try:
            filters = _filters(request.query)
        except ValueError as exc:
            return _bad(str(exc))
        with ruler.lock:
            data = rules_data(ruler.snapshot(engine), **filters)
        return _json({"status": "success", "data": data})

    async def alerts(request: web.Request) -> web.Response:
        with ruler.lock:
            data = alerts_data(ruler.snapshot(engine))
        return _json({"status": "success", "data": data})

    async def rules_config(request: web.Request) -> web.Response:
        ns, grp = request.match_info.get("namespace"), request.match_info.get("group")
        with ruler.lock:
            groups = ruler.snapshot(engine)
            body = rules_yaml(groups, ns, grp)
        if (ns or grp) and body.strip() == "{}":
            what = f"rule group {grp!r} in namespace {ns!r}" if grp else f"namespace {ns!r}"
            return web.Response(status=404, text=f"no rule groups found: {what}\n")
        return web.Response(text=body, content_type="application/yaml")

    async def set_rule_group(request: web.Request) -> web.Response:
        body = await request.text()
        try:
            await asyncio.to_thread(set_group, ruler, engine, request.match_info["namespace"], body)
        except (RuleFileError, ValueError) as exc:
            return _bad(str(exc))
        return _json(_ACCEPTED, 202)

    async def delete_rule_group(request: web.Request) -> web.Response:
        ns, grp = request.match_info["namespace"], request.match_info.get("group")
        try:
            found = await asyncio.to_thread(delete_group, ruler, engine, ns, grp)
        except ValueError as exc:
            return _bad(str(exc))
        if not found:
            return web.Response(status=404, text=f"no rule groups found: {grp or ns!r}\n")
        return _json(_ACCEPTED, 202)

    async def reload(request: web.Request) -> web.Response:
        problems = await asyncio.to_thread(ruler.reload, True)
        if problems:
            return web.Response(status=500, text="failed to reload rules: " + "; ".join(problems) + "\n")
        return web.Response(text="rules reloaded\n")

    prefixes = ("/prometheus/api/v1", "/api/v1") if port == "mimir" else ("/prometheus/api/v1",)
    for prefix in prefixes:
        app.router.add_get(prefix + "/rules", rules)
        app.router.add_get(prefix + "/alerts", alerts)
    base = "/prometheus/config/v1/rules" if port == "mimir" else "/loki/api/v1/rules"
    app.router.add_get(base, rules_config)
    app.router.add_get(base + "/{namespace}", rules_config)
    app.router.add_get(base + "/{namespace}/{group}", rules_config)
    app.router.add_post(base + "/{namespace}", set_rule_group)
    app.router.add_delete(base + "/{namespace}", delete_rule_group)
    app.router.add_delete(base + "/{namespace}/{group}", delete_rule_group)
    app.router.add_post("/-/reload", reload)
