"""The Prometheus HTTP API (Mimir's ``/prometheus/api/v1/`` prefix and plain ``/api/v1/``) and remote write.

Answers use Prometheus's envelope: ``{"status": "success", "data": ...}`` or
``{"status": "error", "errorType": ..., "error": ...}`` with ``bad_data`` -> 400,
``execution`` -> 422, ``timeout`` -> 503.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

from aiohttp import web

from labkit.lgtm.context import ServerContext
from labkit.lgtm.metrics.index import MetricIndex, index_for
from labkit.lgtm.metrics.promql import PromQLError, instant_query, range_query
from labkit.lgtm.metrics.promql.evaluate import parse
from labkit.lgtm.metrics.promql.selectors import match_series, matchers_of
from labkit.lgtm.metrics.remote_write import RemoteWriteError, decode_write_request
from labkit.lgtm.metrics.store import store_remote_write

__all__ = ["add_routes", "parse_duration_ms", "parse_time_ms"]

log = logging.getLogger("labkit.lgtm.metrics.api")

_STATUS = {"bad_data": 400, "execution": 422, "timeout": 503, "internal": 500, "unavailable": 503}
_DEFAULT_TIMEOUT_S = 120.0
_DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
# Prometheus's "min/max time" sentinels, accepted where clients send them.
_MIN_TIME_MS = -9223372036854775 // 1000 * 1000
# Times and durations the engine accepts, in ms (about +-3,000 years around 1970): the engine
# adds windows, offsets and steps to times in int64, which must not overflow.
_MAX_QUERY_MS = 10**14


class ApiError(Exception):
    def __init__(self, message: str, error_type: str = "bad_data") -> None:
        super().__init__(message)
        self.error_type = error_type


def parse_time_ms(text: str, what: str) -> int:
    """A float of unix seconds or an RFC 3339 timestamp, as milliseconds."""
    try:
        value = float(text)
    except ValueError:
        try:
            return round(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)
        except ValueError:
            raise ApiError(
                f'invalid parameter "{what}": cannot parse "{text}" to a valid timestamp'
            ) from None
    if not math.isfinite(value) or abs(value) * 1000 > _MAX_QUERY_MS:
        raise ApiError(f'invalid parameter "{what}": cannot parse "{text}" to a valid timestamp')
    return round(value * 1000)


def parse_duration_ms(text: str, what: str) -> int:
    """Float seconds or a Prometheus duration (``1h30m``, ``15s``), as milliseconds."""
    try:
        value = float(text)
    except ValueError:
        m = _DURATION.match(text)
        if not text or m is None:
            raise ApiError(f'invalid parameter "{what}": cannot parse "{text}" to a valid duration') from None
        groups = m.groups()[1::2]
        return sum(int(g) * u for g, u in zip(groups, _UNITS_MS, strict=True) if g)
    if not math.isfinite(value) or abs(value) * 1000 > _MAX_QUERY_MS:
        raise ApiError(f'invalid parameter "{what}": cannot parse "{text}" to a valid duration')
    return round(value * 1000)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":"), allow_nan=False),
        status=status,
        content_type="application/json",
    )


def _error(exc: ApiError | PromQLError) -> web.Response:
    kind = exc.error_type
    return _json({"status": "error", "errorType": kind, "error": str(exc)}, _STATUS.get(kind, 400))


def _enveloped(
    fn: Callable[[web.Request], Awaitable[Any]],
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """Wrap a handler that returns ``data`` in the success envelope; API/PromQL errors get the error one."""

    async def handler(request: web.Request) -> web.Response:
        try:
            data = await fn(request)
        except (ApiError, PromQLError) as exc:
            return _error(exc)
        return _json({"status": "success", "data": data})

    return handler


async def _params(request: web.Request) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for k, v in request.query.items():
        out.setdefault(k, []).append(v)
    if request.method == "POST":
        ctype = request.content_type
        if ctype not in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
            "",
            "application/octet-stream",
        ):
            raise ApiError(f"unsupported Content-Type {ctype!r}: send application/x-www-form-urlencoded")
        form = await request.post()
        for k, field in form.items():
            out.setdefault(k, []).append(str(field))
    return out


def _one(params: dict[str, list[str]], name: str) -> str | None:
    values = params.get(name)
    return values[-1] if values else None


def _timeout(params: dict[str, list[str]]) -> float:
    text = _one(params, "timeout")
    return _DEFAULT_TIMEOUT_S if not text else parse_duration_ms(text, "timeout") / 1000.0


async def _run(ctx: ServerContext, timeout_s: float, fn: Any, *args: Any) -> Any:
    try:
        return await asyncio.wait_for(ctx.read(fn, *args), timeout_s)
    except TimeoutError:
        raise ApiError("query timed out in expression evaluation", "timeout") from None
    except (ApiError, PromQLError):
        raise
    except Exception as exc:
        # A bug in the engine must still answer in the API's envelope, never a bare 500 page.
        log.exception("PromQL evaluation failed")
        raise ApiError(
            f"internal error while evaluating the query: {type(exc).__name__}: {exc}", "internal"
        ) from exc


def _index(ctx: ServerContext) -> MetricIndex:
    return index_for(ctx.db)


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    @_enveloped
    async def query(request: web.Request) -> Any:
        p = await _params(request)
        q = _one(p, "query")
        if q is None:
            raise ApiError('invalid parameter "query": query is required')
        t_text = _one(p, "time")
        t = parse_time_ms(t_text, "time") if t_text else int(time.time() * 1000)
        return await _run(ctx, _timeout(p), _instant, ctx, q, t)

    @_enveloped
    async def query_range(request: web.Request) -> Any:
        p = await _params(request)
        q = _one(p, "query")
        if q is None:
            raise ApiError('invalid parameter "query": query is required')
        for name in ("start", "end", "step"):
            if not _one(p, name):
                raise ApiError(f'invalid parameter "{name}": {name} is required')
        start = parse_time_ms(_one(p, "start") or "", "start")
        end = parse_time_ms(_one(p, "end") or "", "end")
        step = parse_duration_ms(_one(p, "step") or "", "step")
        if end < start:
            raise ApiError('invalid parameter "end": end timestamp must not be before start time')
        if step <= 0:
            raise ApiError(
                'invalid parameter "step": zero or negative query resolution step widths are not '
                "accepted. Try a positive integer"
            )
        return await _run(ctx, _timeout(p), _range, ctx, q, start, end, step)

    @_enveloped
    async def series(request: web.Request) -> Any:
        p = await _params(request)
        matches = p.get("match[]") or []
        if not matches:
            raise ApiError("no match[] parameter provided")
        window = _window(p)
        return await ctx.read(_series, ctx, matches, window)

    @_enveloped
    async def labels(request: web.Request) -> Any:
        p = await _params(request)
        return await ctx.read(_label_names, ctx, p.get("match[]") or [], _window(p))

    @_enveloped
    async def label_values(request: web.Request) -> Any:
        name = request.match_info["name"]
        if not re.match(r"^[a-zA-Z_][a-zA-Z0-9_]*$", name):
            raise ApiError(f"invalid label name: {name!r}")
        p = await _params(request)
        return await ctx.read(_label_values, ctx, name, p.get("match[]") or [], _window(p))

    async def push(request: web.Request) -> web.Response:
        limit = ctx.settings.ingest_max_body_bytes
        body = await request.read()
        if len(body) > limit:
            return web.Response(status=413, text=f"remote write body is {len(body)} bytes, limit {limit}\n")
        try:
            decoded = await ctx.run(
                decode_write_request, body, request.headers.get("Content-Encoding"), limit
            )
            await ctx.write(store_remote_write, decoded)
        except RemoteWriteError as exc:
            return web.Response(status=exc.status, text=f"{exc}\n")
        except ValueError as exc:
            return web.Response(status=400, text=f"{exc}\n")
        return web.Response(status=204)

    for prefix in ("/prometheus/api/v1", "/api/v1"):
        for path, handler in (
            ("/query", query),
            ("/query_range", query_range),
            ("/series", series),
            ("/labels", labels),
        ):
            app.router.add_get(prefix + path, handler)
            app.router.add_post(prefix + path, handler)
        app.router.add_get(prefix + "/label/{name}/values", label_values)
    app.router.add_post("/api/v1/push", push)


def _instant(ctx: ServerContext, q: str, t: int) -> dict[str, Any]:
    return instant_query(_index(ctx), q, t)


def _range(ctx: ServerContext, q: str, start: int, end: int, step: int) -> dict[str, Any]:
    return range_query(_index(ctx), q, start, end, step)


def _window(p: dict[str, list[str]]) -> tuple[int | None, int | None]:
    s, e = _one(p, "start"), _one(p, "end")
    return (parse_time_ms(s, "start") if s else None, parse_time_ms(e, "end") if e else None)


def _selected(ctx: ServerContext, matches: list[str], window: tuple[int | None, int | None]) -> list[int]:
    import promql_parser as pp

    index = _index(ctx)
    ids: set[int] = set()
    if not matches:
        ids = set(index.labels)
    for text in matches:
        node = parse(text)
        if not isinstance(node, pp.VectorSelector):
            raise ApiError(f'invalid parameter "match[]": {text!r} is not a series selector')
        ids.update(match_series(index, matchers_of(node)))
    start, end = window
    out = []
    for sid in ids:
        if start is None and end is None:
            out.append(sid)
            continue
        ts, _ = index.samples(sid)
        lo = start if start is not None else -(2**62)
        hi = end if end is not None else 2**62
        a = int(ts.searchsorted(lo, side="left"))
        if a < len(ts) and ts[a] <= hi:
            out.append(sid)
    return out


def _series(
    ctx: ServerContext, matches: list[str], window: tuple[int | None, int | None]
) -> list[dict[str, str]]:
    index = _index(ctx)
    rows = [index.labels[sid] for sid in _selected(ctx, matches, window)]
    rows.sort(key=lambda labels: sorted(labels.items()))
    return [dict(sorted(r.items())) for r in rows]


def _label_names(ctx: ServerContext, matches: list[str], window: tuple[int | None, int | None]) -> list[str]:
    index = _index(ctx)
    names: set[str] = set()
    for sid in _selected(ctx, matches, window):
        names.update(index.labels[sid])
    return sorted(names)


def _label_values(
    ctx: ServerContext, name: str, matches: list[str], window: tuple[int | None, int | None]
) -> list[str]:
    index = _index(ctx)
    values = {index.labels[sid].get(name, "") for sid in _selected(ctx, matches, window)}
    values.discard("")
    return sorted(values)
