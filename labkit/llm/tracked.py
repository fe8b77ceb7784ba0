"""``TrackedClient``: budget, telemetry and cost around ``client.messages.create``.

```python
llm = labkit.llm.TrackedClient(agent="prompt_reviewer")
message = llm.messages.create(model=labkit.llm.default_model(), max_tokens=300, messages=[...])
llm.last.cost.usd, llm.last.usage.total
```

Order of one call: estimate input tokens -> reserve the budget (raises
``BudgetExceeded`` before anything is sent) -> start the chat span -> the SDK call
(with its own retries) -> record usage, cost, metrics -> settle the budget.
Streaming (``stream=True``) returns a wrapper that records when the stream ends.

A response cache (``cache=`` or ``settings.cache_enabled``, see :class:`ResponseCache`)
is asked first: a hit returns its Message without a budget reservation or a model
call; a miss goes on as above and stores the answer. ``labkit_cache=False`` on one
call skips the cache, and streaming calls always do.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import anthropic

from labkit.config import Settings, load_settings
from labkit.llm.budget import Budget, Reservation, estimate_input_tokens
from labkit.llm.pricing import Cost, cost_of
from labkit.llm.telemetry import CallRecord, ChatCall, LLMTelemetry, Usage, current_agent, default_telemetry

__all__ = [
    "CallResult",
    "ResponseCache",
    "TrackedClient",
    "call",
    "close_shared_clients",
    "reset_run_budget",
    "run_budget",
    "sdk_emits_spans",
]

_budget: Budget | None = None
_budget_lock = threading.Lock()


def run_budget(settings: Settings | None = None) -> Budget:
    """The budget of this run (process), from ``settings.budget_tokens`` / ``budget_usd``."""
    global _budget
    with _budget_lock:
        if _budget is None:
            _budget = Budget.from_settings(settings or load_settings())
        return _budget


def reset_run_budget(budget: Budget | None = None) -> Budget:
    """Start a new run budget (from settings, or the one given)."""
    global _budget
    with _budget_lock:
        _budget = budget or Budget.from_settings(load_settings())
        return _budget


def sdk_emits_spans(sdk_client: Any) -> bool:
    """Whether the SDK client emits its own call span (anthropic >= 2 with tracing on)."""
    options = getattr(sdk_client, "_open_telemetry", None)
    if not isinstance(options, Mapping):
        return False
    traces = options.get("traces")
    return bool(traces.get("enabled")) if isinstance(traces, Mapping) else bool(traces)


def _server_of(sdk_client: Any) -> tuple[str, int] | None:
    url = getattr(sdk_client, "base_url", None)
    host = getattr(url, "host", None)
    if not host:
        return None
    port = getattr(url, "port", None) or (443 if getattr(url, "scheme", "https") == "https" else 80)
    return str(host), int(port)


@runtime_checkable
class ResponseCache(Protocol):
    """What TrackedClient needs of a response cache (``labkit.cache.SemanticCache`` is one).

    ``get`` returns an SDK-shaped Message or None and never raises; ``put`` stores the
    model's answer; ``bypass`` counts a call that skipped the cache.
    """

    def get(self, request: Mapping[str, Any], *, agent: str | None = None) -> Any | None: ...

    def put(
        self, request: Mapping[str, Any], message: Any, *, agent: str | None = None, cost: Cost | None = None
    ) -> Any: ...

    def bypass(self, request: Mapping[str, Any], *, agent: str | None = None) -> None: ...


# One cache (one index) per store and process; settings that differ only in threshold, TTL
# or size get views of it (SemanticCache.with_policy), so a verifier comparing two thresholds
# in one process really compares them.
_shared_cache: Any = None
_shared_store: tuple[Any, ...] | None = None
_policy_views: dict[tuple[float, float, int], ResponseCache] = {}


def _store_identity(settings: Settings) -> tuple[Any, ...]:
    return (settings.backend, str(settings.data_dir), settings.qdrant_url)


def settings_cache(settings: Settings) -> ResponseCache | None:
    """The process-wide cache when ``settings.cache_enabled``, under these settings' policy."""
    global _shared_cache, _shared_store
    if not settings.cache_enabled:
        return None
    policy = (float(settings.cache_threshold), float(settings.cache_ttl_s), int(settings.cache_max_entries))
    with _budget_lock:
        store = _store_identity(settings)
        if _shared_cache is None or _shared_store != store:
            from labkit.cache import SemanticCache

            _shared_cache = SemanticCache.from_settings(settings)
            _shared_store = store
            _policy_views.clear()
            _policy_views[policy] = _shared_cache
        view = _policy_views.get(policy)
        if view is None:
            view = _policy_views[policy] = _shared_cache.with_policy(
                threshold=policy[0], ttl_s=policy[1], max_entries=policy[2]
            )
        return view


def reset_settings_cache() -> None:
    """Forget the process-wide cache (tests, or after changing the cache settings)."""
    global _shared_cache, _shared_store
    with _budget_lock:
        _shared_cache = None
        _shared_store = None
        _policy_views.clear()


@dataclass(frozen=True)
class CallResult:
    message: Any
    record: CallRecord

    @property
    def text(self) -> str:
        return "".join(
            getattr(b, "text", "") for b in self.message.content if getattr(b, "type", "") == "text"
        )


class _TrackedStream:
    """Iterates the SDK's raw stream events and records usage when the stream ends."""

    def __init__(self, stream: Any, chat: ChatCall, owner: TrackedClient, reservation: Reservation) -> None:
        self._stream = stream
        self._chat = chat
        self._owner = owner
        self._reservation = reservation
        self._usage: dict[str, int] = {}
        self._model: str | None = None
        self._done = False
        self.events: list[str] = []

    def __iter__(self) -> Iterator[Any]:
        try:
            for event in self._stream:
                self.events.append(event.type)
                if event.type == "message_start":
                    self._model = event.message.model
                    self._usage.update(
                        {k: v for k, v in event.message.usage.model_dump().items() if isinstance(v, int)}
                    )
                elif event.type == "message_delta":
                    # message_delta carries the cumulative usage; it replaces the provisional counts.
                    self._usage.update(
                        {k: v for k, v in event.usage.model_dump().items() if isinstance(v, int)}
                    )
                yield event
        except BaseException as exc:
            self._finish(error=exc)
            raise
        self._finish()

    def _finish(self, error: BaseException | None = None) -> None:
        if self._done:
            return
        self._done = True
        message = {"model": self._model, "usage": self._usage} if self._model else None
        self._owner._complete(self._chat, self._reservation, message, error)

    def close(self) -> None:
        self._stream.close()
        self._finish()

    def __enter__(self) -> _TrackedStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Messages:
    def __init__(self, owner: TrackedClient) -> None:
        self._owner = owner

    def create(self, **kwargs: Any) -> Any:
        return self._owner._create(kwargs)

    def count_tokens(self, **kwargs: Any) -> Any:
        return self._owner.client.messages.count_tokens(**kwargs)


class TrackedClient:
    """Wraps an ``anthropic.Anthropic`` (default: ``labkit.llm.client()``)."""

    def __init__(
        self,
        sdk_client: anthropic.Anthropic | None = None,
        *,
        agent: str | None = None,
        budget: Budget | None = None,
        telemetry: LLMTelemetry | None = None,
        settings: Settings | None = None,
        cache: ResponseCache | None = None,
    ) -> None:
        from labkit.llm.client import client as make_client

        self.settings = settings or load_settings()
        self.client = sdk_client if sdk_client is not None else make_client(self.settings)
        self.agent = agent
        self.budget = budget if budget is not None else run_budget(self.settings)
        self.telemetry = telemetry or default_telemetry()
        self.cache = cache if cache is not None else settings_cache(self.settings)
        self.emit_chat_span = not sdk_emits_spans(self.client)
        self.messages = _Messages(self)
        self.records: list[CallRecord] = []
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"TrackedClient(agent={self.agent!r}, calls={len(self.records)}, budget={self.budget!r})"

    @property
    def last(self) -> CallRecord:
        if not self.records:
            raise LookupError("no call has been made through this TrackedClient yet")
        return self.records[-1]

    def _create(self, kwargs: dict[str, Any]) -> Any:
        use_cache = kwargs.pop("labkit_cache", True)
        model = kwargs.get("model")
        max_tokens = kwargs.get("max_tokens")
        if not isinstance(model, str) or not model:
            raise ValueError("messages.create needs model=<model id>, e.g. labkit.llm.default_model()")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise ValueError(f"messages.create needs max_tokens=<int >= 1>, got {max_tokens!r}")
        cache = self.cache
        if cache is not None:
            agent = self.agent or current_agent()[0]
            if not use_cache or kwargs.get("stream"):
                cache.bypass(kwargs, agent=agent)
                cache = None
            else:
                hit = cache.get(kwargs, agent=agent)
                if hit is not None:
                    self._record_hit(model, hit, agent)
                    return hit
        # A miss spends tokens like any call: the budget stop applies here, after the lookup.
        reservation = self.budget.reserve(model, estimate_input_tokens(kwargs), max_tokens)
        chat = self.telemetry.start_chat(kwargs, _server_of(self.client), emit_span=self.emit_chat_span)
        if self.agent and chat.record.agent is None:
            chat.record.agent = self.agent
        headers = {**(kwargs.pop("extra_headers", None) or {}), **chat.trace_headers()}
        try:
            result = self.client.messages.create(**kwargs, extra_headers=headers or None)
        except BaseException as exc:
            self._complete(chat, reservation, None, exc)
            raise
        if kwargs.get("stream"):
            return _TrackedStream(result, chat, self, reservation)
        record = self._complete(chat, reservation, result, None)
        if cache is not None:
            cache.put(kwargs, result, agent=record.agent, cost=record.cost)
        return result

    def _record_hit(self, model: str, message: Any, agent: str | None) -> None:
        # A hit spent nothing: a record with zero usage keeps `llm.last` truthful.
        record = CallRecord(
            request_model=model,
            response_model=getattr(message, "model", None),
            usage=Usage(),
            cost=Cost(model=model, usd=0.0, live_equivalent_usd=0.0, live_model=self.settings.model),
            agent=agent,
        )
        with self._lock:
            self.records.append(record)

    def _complete(
        self, chat: ChatCall, reservation: Reservation, message: Any, error: BaseException | None
    ) -> CallRecord:
        cost = None
        if message is not None:
            model = (
                getattr(message, "model", None)
                or (message.get("model") if isinstance(message, Mapping) else None)
                or chat.record.request_model
            )
            usage = getattr(message, "usage", None) or (
                message.get("usage") if isinstance(message, Mapping) else None
            )
            cost = cost_of(model, usage, live_model=self.settings.model)
        record = chat.finish(message, error=error, cost=cost)
        self.budget.settle(
            reservation, record.usage.total if message is not None else 0, cost.usd if cost else None
        )
        with self._lock:
            self.records.append(record)
        return record

    def call(
        self,
        messages: list[dict[str, Any]] | str,
        *,
        model: str | None = None,
        max_tokens: int = 1024,
        **kwargs: Any,
    ) -> CallResult:
        """One non-streaming call; a string is sent as a single user message."""
        from labkit.llm.client import default_model

        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        request = {
            "model": model or default_model(self.settings),
            "max_tokens": max_tokens,
            "messages": messages,
        }
        message = self._create({**request, **kwargs})
        return CallResult(message, self.last)


_shared: dict[str, anthropic.Anthropic] = {}


def close_shared_clients() -> None:
    """Close the SDK clients that :func:`call` keeps (their connection pools)."""
    with _budget_lock:
        for sdk_client in _shared.values():
            sdk_client.close()
        _shared.clear()


def call(messages: list[dict[str, Any]] | str, *, agent: str | None = None, **kwargs: Any) -> CallResult:
    """Convenience: one tracked call under the run budget.

    The SDK client is shared per backend URL (it holds a connection pool), so calling
    this in a loop does not open a new pool each time.
    """
    from labkit.llm.client import choose_backend
    from labkit.llm.client import client as make_client

    settings = load_settings()
    url = choose_backend(settings).base_url
    with _budget_lock:
        if url not in _shared:
            _shared[url] = make_client(settings)
        sdk_client = _shared[url]
    return TrackedClient(sdk_client, agent=agent, settings=settings).call(messages, **kwargs)
