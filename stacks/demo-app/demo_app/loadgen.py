"""A tiny traffic generator for the two-service compose file: calls the demo app by its
service name, so the lesson shows compose's DNS between containers.

Bounded: ``LOADGEN_REQUESTS`` requests (default 200) at ``LOADGEN_INTERVAL`` seconds
apart, then it idles so ``docker compose up --wait`` sees a running service.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("loadgen")
_PATHS = ("/", "/work?n=5000", "/flaky", "/slow")
HEARTBEAT = Path(tempfile.gettempdir()) / "loadgen-heartbeat"
_STALE_AFTER = 30.0


def check() -> int:
    """Exit status for the container healthcheck: 0 while the heartbeat is fresh."""
    try:
        age = time.time() - HEARTBEAT.stat().st_mtime
    except FileNotFoundError:
        return 1
    return 0 if age < _STALE_AFTER else 1


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # As the container's PID 1 this process gets no default signal handling: without a
    # handler `docker compose down` would wait out its whole stop timeout, then SIGKILL.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    target = os.environ.get("TARGET_URL", "http://demo-app:8000").rstrip("/")
    total = int(os.environ.get("LOADGEN_REQUESTS", "200"))
    interval = float(os.environ.get("LOADGEN_INTERVAL", "0.5"))
    ok = failed = 0
    for i in range(total):
        HEARTBEAT.touch()
        url = target + _PATHS[i % len(_PATHS)]
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                ok += response.status < 400
        except urllib.error.HTTPError as exc:
            failed += 1
            log.info("%s answered %d", url, exc.code)
        except OSError as exc:
            failed += 1
            log.warning("%s unreachable: %s", url, exc)
        if i % 20 == 0:
            log.info("sent %d requests to %s: %d ok, %d failed", i + 1, target, ok, failed)
        time.sleep(interval)
    log.info("done: %d ok, %d failed; idling", ok, failed)
    while True:
        HEARTBEAT.touch()
        time.sleep(5)


if __name__ == "__main__":
    if sys.argv[1:] == ["--check"]:
        sys.exit(check())
    main()
