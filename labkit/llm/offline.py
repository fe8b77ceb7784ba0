"""``labkit-offline-1``: a deterministic model behind the local Messages API server.

It never invents knowledge. What it does is real and repeatable:

* **Prompt reviews**: a tool whose name is :data:`REVIEW_TOOL_NAME` (or a message
  asking to review a prompt in ``<prompt>`` tags) gets the rubric analysis of
  :mod:`labkit.llm.rubric`, shaped by the caller's JSON schema via
  :func:`labkit.llm.schema_fill.fill`.
* **Any other forced tool** gets an input that validates against the tool's
  ``input_schema``.
* **Questions about documents** given in ``<documents>`` (Anthropic's long-context
  layout) get an extractive answer from them with ``[source]`` citations
  (:mod:`labkit.llm.extractive`); the ``fabricate`` fault adds one unsupported sentence.
* **Tool use, one generic policy**: offered tools are called in the order given, each
  once (``auto``/``any``), and a forced tool is called when asked. A tool called after
  tool results came back gets its input filled *from those results*: every
  ``tool_result`` whose content is a JSON object is merged (lists concatenated, first
  scalar wins) into the hint for :func:`labkit.llm.schema_fill.fill`. So an agent that
  offers its data tools and then its output tool gets its output schema filled from
  what its own tools returned; the model knows no agent. Once every tool was called,
  an ``auto`` request is answered in text. Every tool input validates against the
  tool's ``input_schema``.
* **Plain chat** gets an extractive answer: the request's key sentences and counts,
  prefixed with ``[offline labkit-offline-1]`` so nobody mistakes it for Claude.
* **Usage** comes from :mod:`labkit.llm.tokenizer`, including prompt caching:
  blocks marked ``cache_control`` write a prefix cache (5 minute or 1 hour TTL) that
  later identical prefixes read, with the real API's minimum cacheable length.

The same request always yields the same content; only ``id`` differs per call.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from labkit.llm import extractive, rubric
from labkit.llm.schema_fill import SchemaError, fill
from labkit.llm.tokenizer import count_tokens

__all__ = [
    "OFFLINE_MODEL",
    "REVIEW_TOOL_NAME",
    "InvalidRequest",
    "OfflineModel",
    "Reply",
]

OFFLINE_MODEL = "labkit-offline-1"
REVIEW_TOOL_NAME = "submit_prompt_review"
LABEL = f"[offline {OFFLINE_MODEL}]"

# The real API prepends a tool-use system prompt of a few hundred tokens whenever
# tools are present; charging it keeps offline budgets honest about tool calls.
TOOL_SYSTEM_TOKENS = 300
MESSAGE_OVERHEAD_TOKENS = 4
MIN_CACHEABLE_TOKENS = 1024
_TTL_S = {"5m": 300.0, "1h": 3600.0}
# The innermost <prompt>...</prompt> pair: an instruction may mention the tag before it.
_PROMPT_TAG = re.compile(r"<prompt>((?:(?!<prompt>).)*?)</prompt>", re.S | re.I)


class InvalidRequest(ValueError):
    """The request breaks the Messages API contract; the server answers 400 with this message."""


@dataclass
class Reply:
    """A finished message, ready to be sent as JSON or as an SSE stream."""

    message: dict[str, Any]

    @property
    def usage(self) -> dict[str, Any]:
        return self.message["usage"]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    parts: list[str] = []
    for block in content or []:
        if not isinstance(block, Mapping):
            continue
        kind = block.get("type")
        if kind == "text":
            parts.append(str(block.get("text", "")))
        elif kind == "tool_use":
            parts.append(json.dumps(block.get("input", {}), sort_keys=True))
        elif kind == "tool_result":
            parts.append(_text_of(block.get("content", "")))
    return "\n".join(parts)


def _validate(request: Mapping[str, Any]) -> None:
    if not isinstance(request, Mapping):
        raise InvalidRequest("request body must be a JSON object")
    model = request.get("model")
    if not isinstance(model, str) or not model:
        raise InvalidRequest("model: Field required")
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise InvalidRequest("max_tokens: Field required (an integer)")
    if max_tokens < 1:
        raise InvalidRequest(f"max_tokens: must be >= 1, got {max_tokens}")
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InvalidRequest("messages: at least one message is required")
    for i, msg in enumerate(messages):
        if not isinstance(msg, Mapping) or msg.get("role") not in ("user", "assistant"):
            raise InvalidRequest(f"messages.{i}.role: Input should be 'user' or 'assistant'")
        if not isinstance(msg.get("content"), (str, list)):
            raise InvalidRequest(f"messages.{i}.content: Field required (a string or a list of blocks)")
    if messages[0].get("role") != "user":
        raise InvalidRequest("messages: the first message must use the 'user' role")
    tools = request.get("tools") or []
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    names = set()
    for i, tool in enumerate(tools):
        if not isinstance(tool, Mapping) or not isinstance(tool.get("name"), str):
            raise InvalidRequest(f"tools.{i}.name: Field required")
        if "input_schema" in tool and not isinstance(tool["input_schema"], Mapping):
            raise InvalidRequest(f"tools.{i}.input_schema: Input should be a valid dictionary")
        names.add(tool["name"])
    choice = request.get("tool_choice")
    if choice is not None:
        kind = choice.get("type") if isinstance(choice, Mapping) else None
        if kind not in ("auto", "any", "tool", "none"):
            raise InvalidRequest("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if kind in ("any", "tool") and not tools:
            raise InvalidRequest("tool_choice: requires `tools` to be set")
        if kind == "tool" and choice.get("name") not in names:
            raise InvalidRequest(f"tool_choice.name: tool {choice.get('name')!r} is not in `tools`")
    temperature = request.get("temperature")
    if temperature is not None and (not isinstance(temperature, (int, float)) or not 0 <= temperature <= 1):
        raise InvalidRequest(f"temperature: must be between 0 and 1, got {temperature!r}")


def _segments(request: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """The request in cache order (tools, system, messages): (kind, canonical text, cache ttl)."""
    out: list[tuple[str, str, str | None]] = []

    def ttl_of(block: Any) -> str | None:
        control = block.get("cache_control") if isinstance(block, Mapping) else None
        if isinstance(control, Mapping) and control.get("type") == "ephemeral":
            return str(control.get("ttl", "5m"))
        return None

    for tool in request.get("tools") or []:
        text = f"{tool.get('name')}\n{tool.get('description', '')}\n" + json.dumps(
            tool.get("input_schema", {}), sort_keys=True
        )
        out.append(("tool", text, ttl_of(tool)))
    system = request.get("system")
    if isinstance(system, str):
        out.append(("system", system, None))
    elif isinstance(system, list):
        for block in system:
            out.append(("system", _text_of([block]), ttl_of(block)))
    for msg in request["messages"]:
        content = msg["content"]
        if isinstance(content, str):
            out.append((msg["role"], content, None))
        else:
            for block in content:
                out.append((msg["role"], _text_of([block]), ttl_of(block)))
    return out


class OfflineModel:
    """The deterministic model. Thread-safe: the server may call it from several requests."""

    def __init__(self, model_id: str = OFFLINE_MODEL, clock: Callable[[], float] = time.monotonic) -> None:
        self.model_id = model_id
        self._clock = clock
        self._cache: dict[str, float] = {}  # prefix hash -> expiry
        self._lock = threading.Lock()
        self._ids = itertools.count(1)

    # -- usage --------------------------------------------------------------------------------
    def count_input_tokens(self, request: Mapping[str, Any]) -> int:
        _validate(request)
        return sum(t for t, _ in self._segment_tokens(request)) + self._fixed_overhead(request)

    def _fixed_overhead(self, request: Mapping[str, Any]) -> int:
        overhead = MESSAGE_OVERHEAD_TOKENS * len(request["messages"])
        return overhead + (TOOL_SYSTEM_TOKENS if request.get("tools") else 0)

    def _segment_tokens(self, request: Mapping[str, Any]) -> list[tuple[int, str | None]]:
        return [(count_tokens(text), ttl) for _, text, ttl in _segments(request)]

    def _cache_usage(self, request: Mapping[str, Any], total: int) -> dict[str, Any]:
        """Split ``total`` input tokens into fresh, cache-read and cache-write, updating the cache."""
        segments = _segments(request)
        running = 0
        digest = hashlib.sha256()
        breakpoints: list[tuple[str, int, str]] = []
        for kind, text, ttl in segments:
            running += count_tokens(text)
            digest.update(f"{kind}\x00{text}\x01".encode())
            if ttl is not None:
                breakpoints.append((digest.copy().hexdigest(), running, ttl))
        now = self._clock()
        read = write = 0
        write_ttl = "5m"
        with self._lock:
            hit_index = -1
            for i, (key, _, _) in enumerate(breakpoints):
                if self._cache.get(key, -1.0) > now:
                    hit_index = i
            if hit_index >= 0:
                key, read, ttl = breakpoints[hit_index]
                self._cache[key] = now + _TTL_S.get(ttl, 300.0)  # a hit refreshes the entry
            if breakpoints and hit_index < len(breakpoints) - 1:
                key, tokens, ttl = breakpoints[-1]
                if tokens >= MIN_CACHEABLE_TOKENS:
                    write = tokens - read
                    write_ttl = ttl
                    self._cache[key] = now + _TTL_S.get(ttl, 300.0)
        fresh = max(0, total - read - write)
        return {
            "input_tokens": fresh,
            "cache_creation_input_tokens": write,
            "cache_read_input_tokens": read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": write if write_ttl != "1h" else 0,
                "ephemeral_1h_input_tokens": write if write_ttl == "1h" else 0,
            },
        }

    # -- answering ----------------------------------------------------------------------------
    def respond(
        self, request: Mapping[str, Any], *, malformed_tool_input: bool = False, fabricate: bool = False
    ) -> Reply:
        """Answer one Messages API request. ``malformed_tool_input`` is a fault for resilience
        lessons; ``fabricate`` makes a document-grounded answer end with an unsupported sentence."""
        _validate(request)
        total_in = self.count_input_tokens(request)
        usage = self._cache_usage(request, total_in)
        max_tokens = int(request["max_tokens"])
        tool = self._tool_to_call(request)
        stop_reason = "end_turn"
        stop_sequence = None
        content: list[dict[str, Any]]
        if tool is not None:
            tool_input = {} if malformed_tool_input else self._tool_input(tool, request)
            out_tokens = count_tokens(json.dumps(tool_input)) + 8
            if out_tokens > max_tokens:
                # Like the real API: the call stops mid tool input, which then fails validation.
                tool_input, out_tokens, stop_reason = {}, max_tokens, "max_tokens"
            else:
                stop_reason = "tool_use"
            call_id = (
                "toolu_offline_"
                + hashlib.sha256(json.dumps(tool_input, sort_keys=True).encode()).hexdigest()[:20]
            )
            content = [{"type": "tool_use", "id": call_id, "name": tool["name"], "input": tool_input}]
        else:
            text = self._text_answer(request, fabricate=fabricate)
            text, stop_sequence = _apply_stop_sequences(text, request.get("stop_sequences") or [])
            if stop_sequence is not None:
                stop_reason = "stop_sequence"
            out_tokens = count_tokens(text)
            if out_tokens > max_tokens:
                text = _truncate_to_tokens(text, max_tokens)
                out_tokens = count_tokens(text)
                stop_reason = "max_tokens"
            content = [{"type": "text", "text": text}]
        usage["output_tokens"] = out_tokens
        usage["service_tier"] = "standard"
        message = {
            "id": f"msg_offline_{next(self._ids):06d}{_short_hash(request)}",
            "type": "message",
            "role": "assistant",
            "model": self.model_id,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": usage,
        }
        return Reply(message)

    def _tool_to_call(self, request: Mapping[str, Any]) -> Mapping[str, Any] | None:
        tools: Sequence[Mapping[str, Any]] = request.get("tools") or []
        if not tools:
            return None
        choice = request.get("tool_choice") or {"type": "auto"}
        kind = choice.get("type")
        if kind == "none":
            return None
        if kind == "tool":
            return next(t for t in tools if t["name"] == choice["name"])
        review = next((t for t in tools if t["name"] == REVIEW_TOOL_NAME), None)
        called = _called_tools(request)
        uncalled = next((t for t in tools if t["name"] not in called), None)
        if kind == "any":
            return uncalled or review or tools[0]
        # auto: call each offered tool once, in order; then answer in text.
        return uncalled

    def _tool_input(self, tool: Mapping[str, Any], request: Mapping[str, Any]) -> dict[str, Any]:
        schema = tool.get("input_schema") or {"type": "object", "properties": {}}
        hint: Any = None
        if tool["name"] == REVIEW_TOOL_NAME:
            hint = rubric.analyse(_prompt_under_review(request)).as_dict()
        else:
            hint = _results_hint(request)
        seed = _short_hash(request)
        try:
            value = fill(schema, hint, seed=seed)
        except SchemaError as exc:
            raise InvalidRequest(f"tools.{tool['name']}.input_schema: {exc}") from exc
        if not isinstance(value, dict):
            raise InvalidRequest(f"tools.{tool['name']}.input_schema: the top level must be an object")
        return value

    def _text_answer(self, request: Mapping[str, Any], *, fabricate: bool = False) -> str:
        last_user = next(m for m in reversed(request["messages"]) if m["role"] == "user")
        text = _text_of(last_user["content"]).strip()
        passages, question = extractive.parse_documents(text)
        if passages:
            return f"{LABEL} " + extractive.answer(question, passages, fabricate=fabricate)
        if _PROMPT_TAG.search(text) or "review this prompt" in text.lower():
            result = rubric.analyse(_prompt_under_review(request))
            lines = [f"{LABEL} {result.summary}"]
            lines += [f"- {d}: {s}/10" for d, s in result.scores.items()]
            lines += [f'- issue ({i.dimension}): "{i.quote}" - {i.problem}' for i in result.issues]
            return "\n".join(lines)
        sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", text) if s.strip()]
        key = " ".join(sentences[:2]) if sentences else "(empty message)"
        return (
            f"{LABEL} This is labkit's offline model: it analyses but does not generate new knowledge. "
            f"Your message has {len(text.split())} words and {count_tokens(text)} tokens. "
            f"Its key point: {key}"
        )


def _called_tools(request: Mapping[str, Any]) -> set[str]:
    """Names of the tools the assistant already called in this conversation."""
    names: set[str] = set()
    for msg in request["messages"]:
        if msg["role"] == "assistant" and isinstance(msg["content"], list):
            names.update(
                str(b.get("name"))
                for b in msg["content"]
                if isinstance(b, Mapping) and b.get("type") == "tool_use"
            )
    return names


def _results_hint(request: Mapping[str, Any]) -> dict[str, Any] | None:
    """Every JSON-object tool result of the conversation, merged: lists concatenate, first scalar wins."""
    merged: dict[str, Any] = {}
    found = False
    for msg in request["messages"]:
        if msg["role"] != "user" or not isinstance(msg["content"], list):
            continue
        for block in msg["content"]:
            if not isinstance(block, Mapping) or block.get("type") != "tool_result" or block.get("is_error"):
                continue
            try:
                value = json.loads(_text_of(block.get("content", "")))
            except (json.JSONDecodeError, TypeError):
                continue
            if not isinstance(value, dict):
                continue
            found = True
            for key, item in value.items():
                if isinstance(item, list) and isinstance(merged.get(key), list):
                    merged[key] = [*merged[key], *item]
                else:
                    merged.setdefault(key, item)
    return merged if found else None


def _prompt_under_review(request: Mapping[str, Any]) -> str:
    """The latest ``<prompt>``-tagged text of a user turn, else the last user text.

    A retry conversation ends with a ``tool_result`` error, so the prompt is searched
    in every user turn, newest first.
    """
    users = [_text_of(m["content"]) for m in request["messages"] if m["role"] == "user"]
    for text in reversed(users):
        match = _PROMPT_TAG.search(text)
        if match:
            return match.group(1).strip() or "(empty prompt)"
    return users[-1].strip() or "(empty prompt)"


def _apply_stop_sequences(text: str, stops: Sequence[str]) -> tuple[str, str | None]:
    best: tuple[int, str] | None = None
    for stop in stops:
        index = text.find(stop)
        if stop and index >= 0 and (best is None or index < best[0]):
            best = (index, stop)
    return (text[: best[0]], best[1]) if best else (text, None)


def _truncate_to_tokens(text: str, limit: int) -> str:
    words = text.split(" ")
    out: list[str] = []
    for word in words:
        candidate = " ".join([*out, word])
        if count_tokens(candidate) > limit:
            break
        out.append(word)
    return " ".join(out)


def _short_hash(request: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()[:12]
