"""The one ingest path behind every OTLP receiver: decode, validate, store in one transaction.

HTTP (:4318, and the Tempo/Loki convenience routes) and gRPC (:4317) only move
bytes into :func:`ingest`; they differ only in how they answer.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable
from typing import Any

import duckdb

from labkit.lgtm.context import ServerContext, StoreFn
from labkit.lgtm.otlp.decode import DecodeError, Signal, decode_request

__all__ = ["STORE_TARGETS", "StoreUnavailable", "ingest", "load_store_fn", "store_decoded"]

log = logging.getLogger("labkit.lgtm.ingest")

# signal -> (module, function) of the store owning that signal's tables.
STORE_TARGETS: dict[str, tuple[str, str]] = {
    "traces": ("labkit.lgtm.traces.store", "store_traces"),
    "logs": ("labkit.lgtm.logs.store", "store_otlp_logs"),
    "metrics": ("labkit.lgtm.metrics.store", "store_otlp_metrics"),
}

# Errors from DuckDB that mean "this data cannot be stored" rather than "the store is broken".
_DATA_ERRORS: tuple[type[BaseException], ...] = (
    ValueError,
    OverflowError,
    duckdb.ConversionException,
    duckdb.InvalidInputException,
    duckdb.OutOfRangeException,
    duckdb.ConstraintException,
)


class StoreUnavailable(RuntimeError):
    """The store module of a signal is not part of this build."""


def load_store_fn(signal: str) -> StoreFn:
    module_name, attr = STORE_TARGETS[signal]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        message = f"the embedded server cannot store {signal} yet ({module_name} is missing)"
        raise StoreUnavailable(message) from None
    return getattr(module, attr)


def _with_settings(ctx: ServerContext, signal: str, store_fn: StoreFn) -> StoreFn:
    # Metrics translation depends on one setting: which resource attributes become labels.
    if signal == "metrics":
        promote = tuple(ctx.settings.otlp_promote_resource_attributes)
        with_promote: Callable[..., int] = store_fn  # store_otlp_metrics takes promote= too
        return functools.partial(with_promote, promote=promote)
    return store_fn


async def store_decoded(ctx: ServerContext, signal: Signal, request: Any) -> int:
    """Store an already decoded request; data the store refuses becomes DecodeError(400)."""
    store_fn = _with_settings(ctx, signal, load_store_fn(signal))
    try:
        return await ctx.write(store_fn, request)
    except _DATA_ERRORS as exc:
        # The transaction was rolled back: nothing of the batch is stored.
        raise DecodeError(f"cannot store {signal} batch: {exc}") from None


async def ingest(
    ctx: ServerContext,
    signal: Signal,
    body: bytes,
    content_type: str | None,
    content_encoding: str | None = None,
) -> int:
    """Decode ``body`` and store it all-or-nothing; returns rows stored. Raises DecodeError."""
    args = (signal, body, content_type, content_encoding, ctx.settings.ingest_max_body_bytes)

    def store_fn(db: Any, con: duckdb.DuckDBPyConnection, request: Any) -> int:
        # Looked up after decoding, as before: a malformed body is a 400 even where a store is missing.
        return _with_settings(ctx, signal, load_store_fn(signal))(db, con, request)

    try:
        # Decoding and storing run in one worker call (a thread hand-off per batch saved).
        return await ctx.decode_and_write(decode_request, args, store_fn)
    except DecodeError:
        raise
    except _DATA_ERRORS as exc:
        # The transaction was rolled back: nothing of the batch is stored.
        raise DecodeError(f"cannot store {signal} batch: {exc}") from None
