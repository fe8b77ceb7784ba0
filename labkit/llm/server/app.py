"""The aiohttp application of the local Messages API server.

Wire behaviour follows the real API so that the unmodified ``anthropic`` SDK works:
``x-api-key`` (or ``Authorization: Bearer``) and ``anthropic-version`` are required,
every answer carries a ``request-id`` header, errors use the
``{"type": "error", "error": {"type", "message"}, "request_id"}`` envelope with the
API's status codes, rate limits carry ``retry-after`` (seconds) and
``retry-after-ms`` (which the SDK prefers, so tests can retry in milliseconds), and
529/500 carry ``x-should-retry: true``.

Admin endpoints under ``/_labkit/`` (loopback only, like the whole server) configure
faults and expose a request log, so tests can count the SDK's attempts.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import math
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from labkit.llm.offline import OFFLINE_MODEL, InvalidRequest, OfflineModel
from labkit.llm.server.faults import Fault, FaultPlan
from labkit.llm.server.sse import encode_event, events

__all__ = ["ServerState", "make_app", "mask_key"]

_LOG_LIMIT = 1000
_STATUS_ERRORS = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    405: "invalid_request_error",
    413: "request_too_large",
}


def mask_key(key: str | None) -> str:
    """What a log or repr may show of a key: never more than its last 2 characters."""
    if not key:
        return "-"
    return "****" + key[-2:] if len(key) > 8 else "****"


@dataclass
class ServerState:
    """Everything the handlers share; tests and the admin API read and change it."""

    model: OfflineModel = field(default_factory=OfflineModel)
    faults: FaultPlan = field(default_factory=FaultPlan)
    api_key: str | None = None  # None: any non-empty key is accepted, like a fresh account would be
    # Newer Claude models answer 400 to forced tool use; switch this on to rehearse that.
    reject_forced_tool_choice: bool = False
    max_body_bytes: int = 32 * 1024 * 1024
    requests: deque[dict[str, Any]] = field(default_factory=lambda: deque(maxlen=_LOG_LIMIT))
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def next_request_id(self) -> str:
        return f"req_offline_{next(self._ids):08d}"

    def log(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.requests.append(entry)

    def request_log(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.requests)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()

    def __repr__(self) -> str:  # never print the key
        return f"ServerState(model={self.model.model_id!r}, api_key={mask_key(self.api_key)})"


STATE = web.AppKey("labkit_llm_state", ServerState)
REQUEST_ID = web.RequestKey("labkit_request_id", str)
LOG_ENTRY = web.RequestKey("labkit_log_entry", dict)


def _error(status: int, error_type: str, message: str, request_id: str, **headers: str) -> web.Response:
    body = {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}
    return web.json_response(body, status=status, headers={"request-id": request_id, **headers})


def make_app(state: ServerState) -> web.Application:
    app = web.Application(client_max_size=state.max_body_bytes, middlewares=[_envelope(state)])
    app[STATE] = state
    app.router.add_post("/v1/messages", _messages)
    app.router.add_post("/v1/messages/count_tokens", _count_tokens)
    app.router.add_get("/v1/models", _models)
    app.router.add_get("/_labkit/health", _health)
    app.router.add_get("/_labkit/requests", _get_requests)
    app.router.add_delete("/_labkit/requests", _clear_requests)
    app.router.add_get("/_labkit/faults", _get_faults)
    app.router.add_post("/_labkit/faults", _set_faults)
    return app


def _envelope(state: ServerState) -> Any:
    @web.middleware
    async def middleware(request: web.Request, handler: Any) -> web.StreamResponse:
        request_id = state.next_request_id()
        request[REQUEST_ID] = request_id
        started = time.time()
        entry: dict[str, Any] = {
            "request_id": request_id,
            "method": request.method,
            "path": request.path,
            "time": started,
        }
        request[LOG_ENTRY] = entry
        try:
            if request.path.startswith("/v1/"):
                denied = _check_headers(request, state, request_id)
                entry["api_key"] = mask_key(_token(request))
                entry["traceparent"] = request.headers.get("traceparent")
                if denied is not None:
                    response: web.StreamResponse = denied
                    return response
            response = await handler(request)
        except web.HTTPException as exc:
            error_type = _STATUS_ERRORS.get(exc.status, "api_error")
            message = "Not found" if exc.status == 404 else exc.reason
            response = _error(exc.status, error_type, message, request_id)
        except Exception as exc:  # a bug must still answer in the API's shape
            response = _error(500, "api_error", f"internal error: {type(exc).__name__}: {exc}", request_id)
        finally:
            entry.setdefault("status", None)
        entry["status"] = response.status
        entry["duration_s"] = round(time.time() - started, 6)
        response.headers.setdefault("request-id", request_id)
        if request.path.startswith("/v1/"):
            state.log(entry)
        return response

    return middleware


def _token(request: web.Request) -> str:
    # SDK 2.x sends the API key as "Authorization: Bearer"; older SDKs and curl use x-api-key.
    key = request.headers.get("x-api-key", "")
    bearer = request.headers.get("authorization", "")
    return key or (bearer[7:].strip() if bearer.lower().startswith("bearer ") else "")


def _check_headers(request: web.Request, state: ServerState, request_id: str) -> web.Response | None:
    token = _token(request)
    if not token:
        return _error(401, "authentication_error", "x-api-key header is required", request_id)
    if state.api_key is not None and token != state.api_key:
        return _error(401, "authentication_error", "invalid x-api-key", request_id)
    if not request.headers.get("anthropic-version"):
        return _error(400, "invalid_request_error", "anthropic-version: header is required", request_id)
    return None


async def _read_json(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw or b"null")
    except ValueError as exc:
        raise InvalidRequest(f"request body is not valid JSON: {exc}") from exc


async def _apply_fault(state: ServerState, request: web.Request) -> tuple[Fault | None, web.Response | None]:
    latency = state.faults.latency_for(request[LOG_ENTRY].get("model"))
    if latency:
        await asyncio.sleep(latency)
    fault = state.faults.take()
    if fault is None:
        return None, None
    request[LOG_ENTRY]["fault"] = fault.kind
    if fault.delay_s:
        await asyncio.sleep(fault.delay_s)
    if fault.status == 200:
        return fault, None
    request_id = request[REQUEST_ID]
    headers = {}
    if fault.retry_after_s is not None:
        headers["retry-after"] = str(max(0, math.ceil(fault.retry_after_s)))
        headers["retry-after-ms"] = str(round(fault.retry_after_s * 1000))
    if fault.status >= 500:
        headers["x-should-retry"] = "true"
    messages = {
        "rate_limit_error": "Request tokens exceeded your per-minute rate limit (offline fault)",
        "overloaded_error": "Overloaded (offline fault)",
        "api_error": "Internal server error (offline fault)",
    }
    return fault, _error(fault.status, fault.error_type, messages[fault.error_type], request_id, **headers)


async def _messages(request: web.Request) -> web.StreamResponse:
    state: ServerState = request.app[STATE]
    request_id = request[REQUEST_ID]
    try:
        body = await _read_json(request)
        if isinstance(body, dict):
            request[LOG_ENTRY].update(model=body.get("model"), stream=bool(body.get("stream")))
        fault, failure = await _apply_fault(state, request)
        if failure is not None:
            return failure
        choice = body.get("tool_choice") if isinstance(body, dict) else None
        if (
            state.reject_forced_tool_choice
            and isinstance(choice, dict)
            and choice.get("type") in ("any", "tool")
        ):
            raise InvalidRequest(
                f"tool_choice: forced tool use ({choice.get('type')!r}) is not supported with this model; "
                'use {"type": "auto"}'
            )
        kind = fault.kind if fault is not None else None
        reply = state.model.respond(
            body, malformed_tool_input=kind == "bad_tool_input", fabricate=kind == "fabricate"
        )
    except InvalidRequest as exc:
        return _error(400, "invalid_request_error", str(exc), request_id)
    headers = {"request-id": request_id, "labkit-offline": "1"}
    request[LOG_ENTRY]["usage"] = reply.usage
    if not body.get("stream"):
        return web.json_response(reply.message, headers=headers)
    response = web.StreamResponse(
        status=200, headers={**headers, "content-type": "text/event-stream", "cache-control": "no-cache"}
    )
    await response.prepare(request)
    delay = state.faults.stream_delay_s
    for name, data in events(reply.message):
        await response.write(encode_event(name, data))
        if delay:
            await asyncio.sleep(delay)
    await response.write_eof()
    return response


async def _count_tokens(request: web.Request) -> web.Response:
    state: ServerState = request.app[STATE]
    try:
        body = await _read_json(request)
        if isinstance(body, dict):
            body = {"max_tokens": 1, **body}  # count_tokens takes no max_tokens
        _, failure = await _apply_fault(state, request)
        if failure is not None:
            return failure
        tokens = state.model.count_input_tokens(body)
    except InvalidRequest as exc:
        return _error(400, "invalid_request_error", str(exc), request[REQUEST_ID])
    return web.json_response({"input_tokens": tokens})


async def _models(request: web.Request) -> web.Response:
    state: ServerState = request.app[STATE]
    entry = {
        "type": "model",
        "id": state.model.model_id,
        "display_name": "labkit offline model",
        "created_at": "2026-01-01T00:00:00Z",
    }
    return web.json_response(
        {"data": [entry], "has_more": False, "first_id": entry["id"], "last_id": entry["id"]}
    )


async def _health(request: web.Request) -> web.Response:
    state: ServerState = request.app[STATE]
    return web.json_response(
        {
            "status": "ok",
            "server": "labkit-llm",
            "model": state.model.model_id,
            "offline_model": OFFLINE_MODEL,
        }
    )


async def _get_requests(request: web.Request) -> web.Response:
    return web.json_response({"requests": request.app[STATE].request_log()})


async def _clear_requests(request: web.Request) -> web.Response:
    request.app[STATE].clear_log()
    return web.json_response({"cleared": True})


async def _get_faults(request: web.Request) -> web.Response:
    faults: FaultPlan = request.app[STATE].faults
    return web.json_response(
        {
            "pending": faults.pending(),
            "latency_s": faults.latency_s,
            "model_latency_s": dict(faults.model_latency_s),
            "stream_delay_s": faults.stream_delay_s,
        }
    )


async def _set_faults(request: web.Request) -> web.Response:
    faults: FaultPlan = request.app[STATE].faults
    try:
        body = await request.json()
        if not isinstance(body, dict):
            raise ValueError("body must be a JSON object")
        faults.configure(body)
    except ValueError as exc:
        return web.json_response({"error": str(exc)}, status=400)
    return web.json_response(
        {
            "pending": faults.pending(),
            "latency_s": faults.latency_s,
            "model_latency_s": dict(faults.model_latency_s),
            "stream_delay_s": faults.stream_delay_s,
        }
    )
