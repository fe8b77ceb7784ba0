"""Fault injection for the local Messages API server (resilience lessons and tests).

A :class:`FaultPlan` holds a FIFO schedule: each ``POST /v1/messages`` (and
``count_tokens``) takes the next fault, if any, so "fail the next 2 calls with 529,
then succeed" is exact and deterministic. A constant ``latency_s`` slows every
answer, ``model_latency_s`` slows only the answers to the models it names (one slow
model among several), and ``stream_delay_s`` spaces the SSE events of a stream.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["FAULT_KINDS", "Fault", "FaultPlan"]

# kind -> (HTTP status, error type); "slow", "bad_tool_input" and "fabricate" answer 200.
# "fabricate": an answer from given documents ends with a sentence none of them supports.
FAULT_KINDS: dict[str, tuple[int, str]] = {
    "rate_limit": (429, "rate_limit_error"),
    "overloaded": (529, "overloaded_error"),
    "api_error": (500, "api_error"),
    "slow": (200, ""),
    "bad_tool_input": (200, ""),
    "fabricate": (200, ""),
}


@dataclass(frozen=True)
class Fault:
    kind: str
    retry_after_s: float | None = None
    delay_s: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {', '.join(FAULT_KINDS)}")
        if self.retry_after_s is not None and self.retry_after_s < 0:
            raise ValueError(f"retry_after_s must be >= 0, got {self.retry_after_s}")
        if self.delay_s < 0:
            raise ValueError(f"delay_s must be >= 0, got {self.delay_s}")

    @property
    def status(self) -> int:
        return FAULT_KINDS[self.kind][0]

    @property
    def error_type(self) -> str:
        return FAULT_KINDS[self.kind][1]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fault:
        if not isinstance(data, Mapping):
            raise ValueError(f"a fault must be an object, got {data!r}")
        unknown = set(data) - {"kind", "retry_after_s", "delay_s"}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a fault needs a 'kind'")
        return cls(
            kind=str(data["kind"]),
            retry_after_s=None if data.get("retry_after_s") is None else float(data["retry_after_s"]),
            delay_s=float(data.get("delay_s", 0.0)),
        )


class FaultPlan:
    """Thread-safe schedule of faults plus constant latency settings."""

    def __init__(self, latency_s: float = 0.0, stream_delay_s: float = 0.0) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()
        self.latency_s = latency_s
        self.stream_delay_s = stream_delay_s
        self.model_latency_s: dict[str, float] = {}

    def latency_for(self, model: object) -> float:
        """The added latency of an answer to ``model``: the constant one plus the model's own."""
        extra = self.model_latency_s.get(model, 0.0) if isinstance(model, str) else 0.0
        return self.latency_s + extra

    def fail_next(self, n: int, kind: str = "overloaded", retry_after_s: float | None = None) -> None:
        """Queue ``n`` identical faults."""
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        self.extend([Fault(kind, retry_after_s) for _ in range(n)])

    def extend(self, faults: list[Fault]) -> None:
        with self._lock:
            self._queue.extend(faults)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self) -> Fault | None:
        with self._lock:
            return self._queue.popleft() if self._queue else None

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(f) for f in self._queue]

    def configure(self, body: Mapping[str, Any]) -> None:
        """Apply an admin request: ``schedule`` (list of faults), ``fail_next`` + ``kind``,
        ``latency_s``, ``model_latency_s`` (model id -> seconds, replaces the previous map),
        ``stream_delay_s``, ``append`` (default false: replace the schedule)."""
        known = {
            "schedule",
            "fail_next",
            "kind",
            "retry_after_s",
            "latency_s",
            "model_latency_s",
            "stream_delay_s",
            "append",
        }
        unknown = set(body) - known
        if unknown:
            raise ValueError(
                f"unknown field(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        faults = [Fault.from_json(f) for f in body.get("schedule", [])]
        if "fail_next" in body:
            n = int(body["fail_next"])
            if n < 0:
                raise ValueError(f"fail_next must be >= 0, got {n}")
            retry = body.get("retry_after_s")
            faults += [
                Fault(str(body.get("kind", "overloaded")), None if retry is None else float(retry))
                for _ in range(n)
            ]
        per_model = body.get("model_latency_s")
        if per_model is not None:
            if not isinstance(per_model, Mapping):
                raise ValueError(
                    f"model_latency_s must be an object of model id -> seconds, got {per_model!r}"
                )
            parsed = {str(m): float(v) for m, v in per_model.items()}
            negative = [m for m, v in parsed.items() if v < 0]
            if negative:
                raise ValueError(
                    f"model_latency_s must be >= 0, got {per_model[negative[0]]} for {negative[0]!r}"
                )
        for name in ("latency_s", "stream_delay_s"):
            if name in body:
                value = float(body[name])
                if value < 0:
                    raise ValueError(f"{name} must be >= 0, got {value}")
                setattr(self, name, value)
        if per_model is not None:
            self.model_latency_s = parsed
        with self._lock:
            if not body.get("append", False):
                self._queue.clear()
            self._queue.extend(faults)
