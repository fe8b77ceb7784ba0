"""What every HTTP/gRPC handler of the embedded server gets: the store and the settings.

Handlers run on the one asyncio loop; DuckDB calls block, so they go to worker
threads through :meth:`ServerContext.read` and :meth:`ServerContext.write`.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

import duckdb

from labkit.config import Settings
from labkit.lgtm.db import Database

__all__ = ["ServerContext", "StoreFn"]

T = TypeVar("T")
StoreFn = Callable[[Database, duckdb.DuckDBPyConnection, Any], int]


@dataclass
class ServerContext:
    db: Database
    settings: Settings
    # Writes are serialised by the Database lock anyway; a couple of threads let a read
    # run while a batch is being decoded.
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="labkit-lgtm")
    )

    async def write(self, store_fn: StoreFn, payload: Any) -> int:
        """Run ``store_fn(db, con, payload)`` in ONE transaction in a worker thread.

        Returns the number of rows stored. Raises whatever ``store_fn`` raises, after
        the whole batch has been rolled back. When this returns, the batch is in the
        ingest log (it survives a kill of the process) and every later read sees it, so
        the caller may acknowledge it.
        """
        return await self.run(self._write_sync, store_fn, payload)

    async def decode_and_write(
        self, decode: Callable[..., Any], args: tuple[Any, ...], store_fn: StoreFn
    ) -> int:
        """``write(store_fn, decode(*args))`` in one worker call: one thread hand-off per batch, not two.

        Raises what ``decode`` raises (nothing is stored then) or what :meth:`write` raises.
        """
        return await self.run(self._decode_write_sync, decode, args, store_fn)

    def _decode_write_sync(self, decode: Callable[..., Any], args: tuple[Any, ...], store_fn: StoreFn) -> int:
        return self._write_sync(store_fn, decode(*args))

    def _write_sync(self, store_fn: StoreFn, payload: Any) -> int:
        # Acknowledged from the ingest log; DuckDB gets it with the next flush (see Database.deferred).
        with self.db.deferred() as con:
            return int(store_fn(self.db, con, payload))

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking query function in a worker thread."""
        return await self.run(fn, *args)

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run any blocking function (decoding a large body, a query) off the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, functools.partial(fn, *args, **kwargs))

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=False)
