"""``python -m labkit.lgtm``: run the embedded LGTM server in the foreground until SIGTERM/SIGINT.

Settings come from ``LABKIT_*`` / ``labkit.toml`` like everywhere else. ``labkit stack
up`` runs this detached; the pid file is written only once every port is bound, so
its presence plus a live pid means the server is (or was) ready.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys

from labkit.config import ConfigError, load_settings
from labkit.lgtm.process import remove_pid_file, write_pid_file
from labkit.lgtm.server import EmbeddedServer, ServerStartError

__all__ = ["main"]

EXIT_START_FAILED = 3


async def _serve() -> int:
    try:
        settings = load_settings()
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    server = EmbeddedServer(settings)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        await server.start()
    except ServerStartError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return EXIT_START_FAILED
    write_pid_file(settings)
    print(
        "labkit embedded LGTM server ready: " + ", ".join(f"{k}={v}" for k, v in server.urls.items()),
        flush=True,
    )
    try:
        await stop.wait()
    finally:
        await server.stop()
        remove_pid_file(settings)
    print("labkit embedded LGTM server stopped", flush=True)
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return asyncio.run(_serve())


if __name__ == "__main__":
    sys.exit(main())
