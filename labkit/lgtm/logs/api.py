"""The Loki HTTP API of the embedded server (port 3100).

Routes: ``/loki/api/v1/{push, query, query_range, labels, label/<name>/values, series,
status/buildinfo}``, ``/otlp/v1/logs`` and ``/ready``. Answers copy Loki 3's shapes,
content types and error texts (see tests/golden/loki.json): JSON envelopes with
``application/json; charset=UTF-8``, errors as 400 ``text/plain``, pushes as 204.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any, cast

import duckdb
from aiohttp import web
from google.rpc import status_pb2

import labkit
from labkit.lgtm.context import ServerContext
from labkit.lgtm.otlp.decode import DecodeError

from . import store
from .labels import format_sample_value
from .logql import ast
from .logql.errors import LogQLError
from .logql.evaluate import (
    LogEntry,
    Scalar,
    Series,
    evaluate_instant,
    evaluate_range,
    iter_streams,
    match_streams,
    select_logs,
)
from .logql.parser import parse, parse_selector
from .params import ParamError, parse_range_params, parse_step, parse_timestamp
from .push import PushError, _first_json_problem, decode_push
from .source import StoreSource

__all__ = ["add_routes"]

# What DuckDB raises for data it cannot store (the batch is rejected, the store is fine).
_DATA_ERRORS = (
    ValueError,
    OverflowError,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
)

JSON_TYPE = "application/json; charset=UTF-8"
TEXT_TYPE = "text/plain; charset=utf-8"
CATEGORIZE = "categorize-labels"


def _json(data: Any) -> web.Response:
    body = json.dumps(data, separators=(",", ":"), ensure_ascii=False)
    return web.Response(body=body.encode("utf-8"), headers={"Content-Type": JSON_TYPE})


def _text(status: int, message: str) -> web.Response:
    return web.Response(status=status, body=message.encode("utf-8"), headers={"Content-Type": TEXT_TYPE})


def _no_content() -> web.Response:
    return web.Response(status=204)


async def _params(request: web.Request) -> dict[str, str]:
    params = dict(request.query)
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        params.update({k: str(v) for k, v in form.items()})
    return params


async def _all_params(request: web.Request, name: str) -> list[str]:
    values = [v for k, v in request.query.items() if k == name]
    if request.method == "POST" and request.content_type == "application/x-www-form-urlencoded":
        form = await request.post()
        values += [str(v) for k, v in form.items() if k == name]
    return values


def _ts_seconds(ts_ns: int) -> int | float:
    # Loki prints sample times as JSON numbers in seconds (fractional only when needed).
    return ts_ns // 10**9 if ts_ns % 10**9 == 0 else ts_ns / 1e9


def _stats(entries: int, lines: int = 0, byte_count: int = 0, exec_s: float = 0.0) -> dict[str, Any]:
    """Loki's ``stats`` object; the figures are this engine's own (the golden treats them as volatile)."""
    return {
        "summary": {
            "bytesProcessedPerSecond": int(byte_count / exec_s) if exec_s else 0,
            "linesProcessedPerSecond": int(lines / exec_s) if exec_s else 0,
            "totalBytesProcessed": byte_count,
            "totalLinesProcessed": lines,
            "execTime": exec_s,
            "queueTime": 0,
            "subqueries": 0,
            "totalEntriesReturned": entries,
            "splits": 0,
            "shards": 1,
            "totalPostFilterLines": entries,
            "totalStructuredMetadataBytesProcessed": 0,
        },
        "querier": {"store": {}},
        "ingester": {"totalReached": 1, "store": {}},
        "cache": {},
    }


def _streams_result(entries: list[LogEntry], backward: bool, categorize: bool) -> list[dict[str, Any]]:
    result = []
    for labels, group in iter_streams(entries, categorize):
        group = sorted(group, key=lambda e: e.ts_ns, reverse=backward)
        values: list[list[Any]] = []
        for e in group:
            value: list[Any] = [str(e.ts_ns), e.line]
            if categorize:
                _, metadata, parsed = e.labels.categories()
                extra: dict[str, Any] = {}
                if metadata:
                    extra["structuredMetadata"] = metadata
                if parsed:
                    extra["parsed"] = parsed
                if extra:
                    value.append(extra)
            values.append(value)
        result.append({"stream": labels, "values": values})
    return result


def _run_query_range(ctx: ServerContext, params: dict[str, str], categorize: bool) -> dict[str, Any]:
    started = time.perf_counter()
    rp = parse_range_params(params)
    query = parse(rp.query)
    source = StoreSource(ctx.db)
    data: dict[str, Any]
    if isinstance(query, ast.LogSelector):
        entries = select_logs(query, source, rp.start_ns, rp.end_ns, rp.limit, rp.backward)
        data = {"resultType": "streams"}
        if categorize:
            data["encodingFlags"] = [CATEGORIZE]
        data["result"] = _streams_result(entries, rp.backward, categorize)
        count = len(entries)
    else:
        step = parse_step(rp.step, rp.start_ns, rp.end_ns)
        out = evaluate_range(query, source, rp.start_ns, rp.end_ns, step)
        if out and isinstance(out[0], tuple):
            data = {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": {},
                        "values": [
                            [_ts_seconds(t), format_sample_value(v)]
                            for t, v in out  # type: ignore[misc]
                        ],
                    }
                ],
            }
        else:
            data = {
                "resultType": "matrix",
                "result": [
                    {
                        "metric": s.labels,
                        "values": [[_ts_seconds(t), format_sample_value(v)] for t, v in s.points],
                    }
                    for s in cast("list[Series]", out)
                ],
            }
        count = len(data["result"])
    data["stats"] = _stats(count, exec_s=time.perf_counter() - started)
    return {"status": "success", "data": data}


def _run_instant(ctx: ServerContext, params: dict[str, str]) -> dict[str, Any]:
    started = time.perf_counter()
    t_ns = parse_timestamp(params.get("time"), time.time_ns(), "time")
    query = parse(params.get("query", ""))
    out = evaluate_instant(query, StoreSource(ctx.db), t_ns)
    ts = _ts_seconds(t_ns)
    data: dict[str, Any]
    if isinstance(out, Scalar):
        data = {"resultType": "scalar", "result": [ts, format_sample_value(out.value)]}
        count = 1
    else:
        data = {
            "resultType": "vector",
            "result": [{"metric": s.labels, "value": [ts, format_sample_value(s.value)]} for s in out],
        }
        count = len(out)
    data["stats"] = _stats(count, exec_s=time.perf_counter() - started)
    return {"status": "success", "data": data}


def _time_window(params: Mapping[str, str]) -> tuple[int, int]:
    rp = parse_range_params({k: v for k, v in params.items() if k in ("start", "end", "since")})
    return rp.start_ns, rp.end_ns


def _labels(ctx: ServerContext, params: dict[str, str]) -> dict[str, Any]:
    start, end = _time_window(params)
    source = StoreSource(ctx.db)
    if params.get("query"):
        streams = match_streams(source, parse_selector(params["query"]), start, end)
    else:
        streams = source.streams(start, end)
    names = sorted({name for s in streams for name in s})
    return {"status": "success", "data": names} if names else {"status": "success"}


def _label_values(ctx: ServerContext, name: str, params: dict[str, str]) -> dict[str, Any]:
    start, end = _time_window(params)
    source = StoreSource(ctx.db)
    if params.get("query"):
        streams = match_streams(source, parse_selector(params["query"]), start, end)
    else:
        streams = source.streams(start, end)
    values = sorted({s[name] for s in streams if name in s})
    # Loki leaves out ``data`` entirely when a label has no values.
    return {"status": "success", "data": values} if values else {"status": "success"}


def _series(ctx: ServerContext, matches: list[str], params: dict[str, str]) -> dict[str, Any]:
    if not matches:
        raise ParamError("at least one match[] argument is required")
    start, end = _time_window(params)
    source = StoreSource(ctx.db)
    seen: dict[str, dict[str, str]] = {}
    for text in matches:
        for s in match_streams(source, parse_selector(text), start, end):
            seen.setdefault(json.dumps(s, sort_keys=True), s)
    return {"status": "success", "data": list(seen.values())}


async def _guard(coro: Any) -> web.Response:
    try:
        return _json(await coro)
    except (LogQLError, ParamError) as exc:
        return _text(400, str(exc))


def add_routes(app: web.Application, ctx: ServerContext) -> None:
    """Mount the Loki API on ``app``."""

    async def ready(request: web.Request) -> web.Response:
        return _text(200, "ready\n")

    async def buildinfo(request: web.Request) -> web.Response:
        info = {
            "version": labkit.__version__,
            "revision": "",
            "branch": "",
            "buildUser": "",
            "buildDate": "",
            "goVersion": "",
        }
        return web.Response(body=json.dumps(info).encode(), headers={"Content-Type": "application/json"})

    async def query_range(request: web.Request) -> web.Response:
        params = await _params(request)
        flags = request.headers.get("X-Loki-Response-Encoding-Flags", "")
        categorize = CATEGORIZE in [f.strip() for f in flags.split(",")]
        return await _guard(ctx.read(_run_query_range, ctx, params, categorize))

    async def query(request: web.Request) -> web.Response:
        params = await _params(request)
        return await _guard(ctx.read(_run_instant, ctx, params))

    async def labels(request: web.Request) -> web.Response:
        return await _guard(ctx.read(_labels, ctx, await _params(request)))

    async def label_values(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        return await _guard(ctx.read(_label_values, ctx, name, await _params(request)))

    async def series(request: web.Request) -> web.Response:
        matches = await _all_params(request, "match[]") + await _all_params(request, "match")
        return await _guard(ctx.read(_series, ctx, matches, await _params(request)))

    async def push(request: web.Request) -> web.Response:
        body = await request.read()
        if len(body) > ctx.settings.ingest_max_body_bytes:
            return _text(413, f"request body too large: more than {ctx.settings.ingest_max_body_bytes} bytes")
        try:
            headers = request.headers
            args = (body, headers.get("Content-Type"), headers.get("Content-Encoding"))
            await ctx.decode_and_write(decode_push, args, store.store_loki_push)
        except PushError as exc:
            text = str(exc)
            return _text(400, text if text.endswith("\n") else text + "\n")
        except _DATA_ERRORS as exc:
            # The transaction was rolled back: nothing of the batch is stored.
            return _text(400, f"cannot store push batch: {exc}\n")
        return _no_content()

    async def otlp_logs(request: web.Request) -> web.Response:
        from labkit.lgtm.otlp.ingest import ingest

        body = await request.read()
        content_type = request.headers.get("Content-Type")
        encoding = request.headers.get("Content-Encoding")
        try:
            await ingest(ctx, "logs", body, content_type, encoding)
        except DecodeError as exc:
            if exc.status == 415:
                return _text(415, exc.message)
            message = exc.message
            if (content_type or "").startswith("application/json") and not encoding:
                message = _otlp_json_message(body) or message
            # Loki answers a refused OTLP request with a binary google.rpc.Status, whatever was sent.
            status = status_pb2.Status(message=message).SerializeToString()
            return web.Response(
                status=exc.status, body=status, headers={"Content-Type": "application/octet-stream"}
            )
        return _no_content()

    app.router.add_get("/ready", ready)
    app.router.add_get("/loki/api/v1/status/buildinfo", buildinfo)
    for path, handler in (
        ("/loki/api/v1/query_range", query_range),
        ("/loki/api/v1/query", query),
        ("/loki/api/v1/labels", labels),
        ("/loki/api/v1/label", labels),
        ("/loki/api/v1/label/{name}/values", label_values),
        ("/loki/api/v1/series", series),
    ):
        app.router.add_get(path, handler)
        app.router.add_post(path, handler)
    app.router.add_post("/loki/api/v1/push", push)
    app.router.add_post("/otlp/v1/logs", otlp_logs)


def _otlp_json_message(body: bytes) -> str | None:
    """jsoniter's wording for a JSON syntax error, which is what Loki's OTLP endpoint reports."""
    try:
        text = body.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError:
        return None
    except json.JSONDecodeError as exc:
        return _first_json_problem(text, exc, "ReadObject", 'expect " after {{, but found {char}')
    return None
