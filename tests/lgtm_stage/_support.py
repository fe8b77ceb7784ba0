"""Shared test helpers: golden Tempo/Loki answers and a recording MockTransport handler."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx

GOLDEN = Path(__file__).resolve().parents[1] / "golden"


@cache
def _golden(kind: str) -> dict[str, dict[str, Any]]:
    data = json.loads((GOLDEN / f"{kind}.json").read_text(encoding="utf-8"))
    return {r["name"]: r for r in data["requests"]}


def golden_response(kind: str, name: str) -> httpx.Response:
    """The recorded answer of a real Tempo/Loki, as an httpx response."""
    record = _golden(kind)[name]
    body = record["body"]
    headers = {"content-type": record["content_type"]} if record["content_type"] else {}
    content = json.dumps(body).encode() if isinstance(body, (dict, list)) else str(body).encode()
    return httpx.Response(record["status"], headers=headers, content=content)


class Recorder:
    """A MockTransport handler that remembers requests and answers from a callable."""

    def __init__(self, answer: Callable[[httpx.Request], httpx.Response]) -> None:
        self.answer = answer
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)
