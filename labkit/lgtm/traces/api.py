"""The Tempo HTTP API of the embedded server (port 3200), answered the way Tempo answers.

Every shape here was checked against real Tempo answers (tests/golden/tempo.json):
JSON bodies are ``application/json`` without charset, errors ``text/plain``, an unknown
trace on v1 is a bare 404 while v2 answers ``{"trace":{},"metrics":{}}``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from aiohttp import web
from google.protobuf import json_format
from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

from labkit import __version__
from labkit.lgtm.context import ServerContext
from labkit.lgtm.otlp.decode import DecodeError, decode_request, media_kind
from labkit.lgtm.traces import query as tq
from labkit.lgtm.traces import spanmetrics  # noqa: F401  (registers the metrics-generator hook)
from labkit.lgtm.traces.render import go_json
from labkit.lgtm.traces.store import store_traces
from labkit.lgtm.traces.traceql import ParseError, QueryError, parse_field
from labkit.lgtm.traces.traceql.lexer import parse_duration

__all__ = ["add_routes"]

_PROTOBUF = "application/x-protobuf"
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


class BadRequest(ValueError):
    """A query parameter Tempo would refuse with 400 and this text."""


def _json(body: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=go_json(body), content_type="application/json")


def _text(text: str, status: int = 400) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


def parse_trace_id(raw: str) -> str:
    """Tempo's trace id rules: hex only, at most 128 bits, left-padded with zeros."""
    for i, ch in enumerate(raw):
        if ch not in "0123456789abcdefABCDEF":
            raise BadRequest(
                f"trace IDs can only contain hex characters: invalid character '{ch}' at position {i + 1}"
            )
    if len(raw) > 32:
        raise BadRequest("trace IDs can't be larger than 128 bits")
    if not raw:
        raise BadRequest("trace ID is empty")
    return raw.lower().rjust(32, "0")


def parse_time_ns(name: str, value: str | None) -> int | None:
    """Unix seconds (Tempo's search/tag params), nanoseconds for long values, or RFC 3339."""
    if value is None or value == "":
        return None
    if _NUMBER.match(value):
        number = float(value) if "." in value else int(value)
        # Seconds for anything shorter than 13 digits; longer values are ms/us/ns epochs.
        digits = len(str(abs(int(number))))
        scale = 10**9 if digits <= 12 else 10**6 if digits <= 15 else 10**3 if digits <= 17 else 1
        return int(number * scale)
    try:
        t = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f'invalid {name}: "{value}" is neither unix seconds nor RFC 3339') from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return int(t.timestamp()) * 10**9 + t.microsecond * 1000


def _int_param(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f'invalid {name}: strconv.Atoi: parsing "{raw}": invalid syntax') from None
    if value < 0:
        raise BadRequest(f"invalid {name}: must be a non-negative number")
    return value or default  # Tempo reads 0 as "use the default"


def _duration_param(request: web.Request, name: str) -> int | None:
    raw = request.query.get(name)
    if not raw:
        return None
    ns = parse_duration(raw)
    if ns is None:
        raise BadRequest(f'invalid {name}: time: invalid duration "{raw}"')
    return ns


def _range(request: web.Request) -> tuple[int | None, int | None]:
    start = parse_time_ns("start", request.query.get("start"))
    end = parse_time_ns("end", request.query.get("end"))
    if start is not None and end is not None and end < start:
        raise BadRequest("invalid start: start must not be after end")
    return start, end


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    """Register Tempo's query API, ``/ready``, ``/api/echo`` and ``POST /v1/traces``."""

    async def guarded(request: web.Request, fn: Any) -> web.StreamResponse:
        try:
            return await fn(request)
        except BadRequest as exc:
            return _text(str(exc))
        except (ParseError, QueryError) as exc:
            return _text(f"invalid TraceQL query: {exc}")

    def route(fn: Any) -> Any:
        async def handler(request: web.Request) -> web.StreamResponse:
            return await guarded(request, fn)

        return handler

    async def find_trace(request: web.Request) -> list[dict[str, Any]] | None:
        trace_id = parse_trace_id(request.match_info["trace_id"])
        start, end = _range(request)
        return await ctx.read(tq.find_trace, ctx.db, trace_id, start, end)

    async def tags(request: web.Request, fn: Any) -> web.StreamResponse:
        start, end = _range(request)
        try:
            body = await ctx.read(fn, ctx.db, request.query.get("scope"), start, end)
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return _json(body)

    @route
    async def trace_v1(request: web.Request) -> web.StreamResponse:
        batches = await find_trace(request)
        if batches is None:
            return web.Response(status=404)
        if "application/protobuf" in request.headers.get("Accept", ""):
            # tempopb.Trace{batches=1} has the wire format of OTLP TracesData{resource_spans=1}.
            message = json_format.ParseDict({"resourceSpans": batches}, TracesData())
            return web.Response(body=message.SerializeToString(), content_type="application/protobuf")
        return _json({"batches": batches})

    @route
    async def trace_v2(request: web.Request) -> web.StreamResponse:
        batches = await find_trace(request)
        if batches is None:
            return _json({"trace": {}, "metrics": {}})
        size = len(go_json(batches))
        return _json({"trace": {"resourceSpans": batches}, "metrics": {"inspectedBytes": str(size)}})

    @route
    async def search(request: web.Request) -> web.StreamResponse:
        q = request.query.get("q")
        tags_raw = request.query.get("tags")
        start, end = _range(request)
        limit = _int_param(request, "limit", 20)
        spss = _int_param(request, "spss", 3)
        min_d, max_d = _duration_param(request, "minDuration"), _duration_param(request, "maxDuration")
        if q is not None and q.strip():
            query = tq.parse_query(q)
            if query.metrics is not None:
                raise BadRequest("invalid TraceQL query: metrics queries go to /api/metrics/query_range")
            # Tempo ignores minDuration/maxDuration once a TraceQL query is given.
            params = tq.SearchParams(query, (), start, end, limit, spss)
        else:
            try:
                tags = tq.parse_legacy_tags(tags_raw) if tags_raw else ()
            except ValueError as exc:
                raise BadRequest(str(exc)) from None
            params = tq.SearchParams(None, tags, start, end, limit, spss, min_d, max_d)
        return _json(await ctx.read(tq.search, ctx.db, params))

    @route
    async def tags_v1(request: web.Request) -> web.StreamResponse:
        return await tags(request, tq.search_tags)

    @route
    async def tags_v2(request: web.Request) -> web.StreamResponse:
        return await tags(request, tq.search_tags_v2)

    @route
    async def tag_values_v1(request: web.Request) -> web.StreamResponse:
        start, end = _range(request)
        tag = request.match_info["tag"]
        return _json(await ctx.read(tq.search_tag_values, ctx.db, tag, start, end))

    @route
    async def tag_values_v2(request: web.Request) -> web.StreamResponse:
        start, end = _range(request)
        tag = request.match_info["tag"]
        try:
            field = parse_field(tag)
        except ParseError:
            raise BadRequest(f"invalid tag name: {tag}") from None
        q = request.query.get("q")
        query = tq.parse_query(q) if q and q.strip() else None
        return _json(await ctx.read(tq.search_tag_values_v2, ctx.db, field, query, start, end))

    @route
    async def metrics_query_range(request: web.Request) -> web.StreamResponse:
        q = request.query.get("q") or request.query.get("query") or ""
        query = tq.parse_query(q)
        if query.metrics is None:
            raise BadRequest(
                "invalid TraceQL query: a metrics query needs a metrics function such as | rate()"
            )
        start, end = _range(request)
        now = int(dt.datetime.now(dt.UTC).timestamp()) * 10**9
        end = end if end is not None else now
        start = start if start is not None else end - 3600 * 10**9
        step_raw = request.query.get("step")
        if step_raw:
            step = parse_duration(step_raw)
            if step is None and _NUMBER.match(step_raw):
                step = int(float(step_raw) * 10**9)
            if not step or step <= 0:
                raise BadRequest(f'invalid step: time: invalid duration "{step_raw}"')
        else:
            step = max(10**9, (end - start) // 50)
        if (end - start) // step > 11_000:
            raise BadRequest("invalid step: too many points, use a larger step")
        return _json(await ctx.read(tq.metrics_query_range, ctx.db, query, start, end, step))

    async def echo(request: web.Request) -> web.StreamResponse:
        return web.Response(text="echo\n", content_type="text/plain")

    async def ready(request: web.Request) -> web.StreamResponse:
        return web.Response(text="ready\n", content_type="text/plain")

    async def buildinfo(request: web.Request) -> web.StreamResponse:
        # Same keys as Tempo; the values are labkit's own (the design allows it).
        return _json(
            {
                "version": f"labkit-{__version__}",
                "revision": "",
                "branch": "",
                "buildUser": "",
                "buildDate": "",
                "goVersion": "",
            }
        )

    async def otlp_traces(request: web.Request) -> web.StreamResponse:
        content_type = request.headers.get("Content-Type")
        try:
            kind = media_kind(content_type)
        except DecodeError as exc:
            return web.Response(status=exc.status, body=exc.message.encode(), content_type="text/plain")
        limit = ctx.settings.ingest_max_body_bytes
        try:
            body = await request.read()
            decoded = await ctx.run(
                decode_request, "traces", body, content_type, request.headers.get("Content-Encoding"), limit
            )
            await ctx.write(store_traces, decoded)
        except web.HTTPRequestEntityTooLarge:
            return _otlp_error(413, f"request body too large: more than the limit of {limit} bytes", kind)
        except DecodeError as exc:
            return _otlp_error(exc.status, exc.message, kind)
        except ValueError as exc:  # refused by the store (e.g. timestamps beyond int64)
            return _otlp_error(400, str(exc), kind)
        if kind == "protobuf":
            return web.Response(body=b"", content_type=_PROTOBUF)
        return web.Response(body=b'{"partialSuccess":{}}', content_type="application/json")

    r = app.router
    r.add_get("/api/traces/{trace_id}", trace_v1)
    r.add_get("/api/v2/traces/{trace_id}", trace_v2)
    r.add_get("/api/search", search)
    r.add_get("/api/search/tags", tags_v1)
    r.add_get("/api/v2/search/tags", tags_v2)
    r.add_get("/api/search/tag/{tag}/values", tag_values_v1)
    r.add_get("/api/v2/search/tag/{tag}/values", tag_values_v2)
    r.add_get("/api/metrics/query_range", metrics_query_range)
    r.add_get("/api/echo", echo)
    r.add_get("/ready", ready)
    r.add_get("/api/status/buildinfo", buildinfo)
    r.add_post("/v1/traces", otlp_traces)


def _otlp_error(status: int, message: str, kind: str) -> web.Response:
    # google.rpc.Status: code 3 INVALID_ARGUMENT for 400, 8 RESOURCE_EXHAUSTED for 413.
    code = {400: 3, 413: 8}.get(status, 13)
    if kind == "protobuf":
        from google.rpc import status_pb2

        body = status_pb2.Status(code=code, message=message).SerializeToString()
        return web.Response(status=status, body=body, content_type=_PROTOBUF)
    return web.Response(
        status=status, body=go_json({"code": code, "message": message}), content_type="application/json"
    )
