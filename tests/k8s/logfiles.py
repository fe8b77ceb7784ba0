"""Kubelet pod log fixtures: a ``/var/log/pods`` tree in a temporary folder, in both formats."""

from __future__ import annotations

import json
import time
import zlib
from pathlib import Path
from typing import Any

import httpx

from labkit.lgtm.server import EmbeddedServer

T0 = time.time_ns() - 600 * 1_000_000_000  # ten minutes ago: inside every query window


def rfc3339(ts_ns: int) -> str:
    seconds, nanos = divmod(ts_ns, 1_000_000_000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{nanos:09d}Z"


def docker_line(text: str, ts_ns: int, stream: str = "stdout", partial: bool = False) -> str:
    log = text if partial else text + "\n"
    return json.dumps({"log": log, "stream": stream, "time": rfc3339(ts_ns)}) + "\n"


def cri_line(text: str, ts_ns: int, stream: str = "stdout", partial: bool = False) -> str:
    return f"{rfc3339(ts_ns)} {stream} {'P' if partial else 'F'} {text}\n"


def log_file(pods_dir: Path, namespace: str, pod: str, container: str = "agent", n: int = 0) -> Path:
    uid = f"0f6e2a3c-1111-4222-8333-{zlib.crc32(pod.encode()):012d}"
    folder = pods_dir / f"{namespace}_{pod}_{uid}" / container
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{n}.log"
    path.touch()
    return path


def append(path: Path, *lines: str) -> None:
    with path.open("a", encoding="utf-8") as f:
        f.write("".join(lines))


def query(srv: EmbeddedServer, selector: str, limit: int = 5000) -> list[dict[str, Any]]:
    """The streams Loki returns for ``selector`` over the fixtures' time range (oldest first)."""
    params = {
        "query": selector,
        "start": str(T0 - 3600 * 1_000_000_000),
        "end": str(time.time_ns() + 3600 * 1_000_000_000),
        "limit": str(limit),
        "direction": "forward",
    }
    resp = httpx.get(srv.urls["loki"] + "/loki/api/v1/query_range", params=params, timeout=10)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["data"]["result"])


def lines_of(srv: EmbeddedServer, selector: str) -> list[str]:
    values = [v for s in query(srv, selector) for v in s["values"]]
    return [line for _, line in sorted(values, key=lambda v: int(v[0]))]
