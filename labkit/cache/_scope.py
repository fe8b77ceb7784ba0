"""What part of a Messages request is the cache key, and what part is its scope.

The key is the text of the *last user turn*; everything else that can change the
answer is the scope, hashed: model, system prompt, tools and tool choice, sampling
(temperature, top_p, top_k), max_tokens, stop sequences, extended thinking, output
format, and every earlier turn of the conversation. Two requests share an entry only
when their scopes are byte-identical, so a hit can never cross scopes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from labkit.cache._text import text_hash

__all__ = ["SCOPE_PARAMS", "RequestKey", "request_key"]

# Request fields that change what the model answers. Fields absent here (metadata,
# extra_headers, timeout, service_tier) do not change the answer and stay out of the scope.
SCOPE_PARAMS = (
    "model",
    "system",
    "tools",
    "tool_choice",
    "temperature",
    "top_p",
    "top_k",
    "max_tokens",
    "stop_sequences",
    "thinking",
    "output_format",
    "response_format",
    "mcp_servers",
    "container",
)


class RequestKey:
    """The cacheable view of one request: its scope id and its final user text."""

    __slots__ = ("model", "scope", "text")

    def __init__(self, scope: str, text: str, model: str) -> None:
        self.scope = scope
        self.text = text
        self.model = model


def _plain(value: Any) -> Any:
    """JSON-able form of SDK objects (TextBlockParam dicts, pydantic models)."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return repr(value)


def _text_of(content: Any) -> str | None:
    """The text of a user turn, or None when it holds anything but text (images, tool results)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for block in content:
            block = _plain(block)
            if not isinstance(block, Mapping) or block.get("type") != "text":
                return None
            parts.append(str(block.get("text", "")))
        return "\n".join(parts)
    return None


def request_key(request: Mapping[str, Any]) -> RequestKey | None:
    """The key of a request, or None when the request is not cacheable."""
    messages = request.get("messages")
    if not isinstance(messages, list) or not messages:
        return None
    last = _plain(messages[-1])
    if not isinstance(last, Mapping) or last.get("role") != "user":
        return None
    text = _text_of(last.get("content"))
    if text is None or not text.strip():
        return None
    scope_fields = {name: _plain(request.get(name)) for name in SCOPE_PARAMS if request.get(name) is not None}
    scope_fields["history"] = _plain(messages[:-1])
    canonical = json.dumps(scope_fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return RequestKey(text_hash(canonical)[:16], text, str(request.get("model", "")))
