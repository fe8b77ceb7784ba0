"""Turn a finished message into the Messages API's server-sent event sequence.

The order is the one the SDK's stream accumulator expects: ``message_start`` (with
input usage and empty content), then per block ``content_block_start``, deltas
(``text_delta`` or ``input_json_delta``), ``content_block_stop``; a ``ping`` after
the first block start, as the real API sends; ``message_delta`` with the stop reason
and the cumulative usage; ``message_stop``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["encode_event", "events"]

_TEXT_CHUNK = 24  # characters per text delta: small enough to show streaming
_JSON_CHUNK = 40


def encode_event(name: str, data: Mapping[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


def _chunks(text: str, size: int) -> Iterator[str]:
    for start in range(0, len(text), size):
        yield text[start : start + size]


def events(message: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    usage = dict(message["usage"])
    start_usage = {**usage, "output_tokens": 1}  # the real API reports a provisional 1 here
    yield (
        "message_start",
        {
            "type": "message_start",
            "message": {
                **message,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": start_usage,
            },
        },
    )
    for index, block in enumerate(message["content"]):
        if block["type"] == "text":
            yield (
                "content_block_start",
                {
                    "type": "content_block_start",
                    "index": index,
                    "content_block": {"type": "text", "text": ""},
                },
            )
            if index == 0:
                yield "ping", {"type": "ping"}
            for piece in _chunks(block["text"], _TEXT_CHUNK):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "text_delta", "text": piece},
                    },
                )
        elif block["type"] == "tool_use":
            yield (
                "content_block_start",
                {"type": "content_block_start", "index": index, "content_block": {**block, "input": {}}},
            )
            if index == 0:
                yield "ping", {"type": "ping"}
            payload = json.dumps(block["input"], separators=(",", ":"))
            for piece in _chunks(payload, _JSON_CHUNK):
                yield (
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "input_json_delta", "partial_json": piece},
                    },
                )
        else:  # pragma: no cover - the offline model emits only text and tool_use
            raise ValueError(f"cannot stream a {block['type']!r} block")
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]},
            "usage": usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}
