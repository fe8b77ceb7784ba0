"""Replay tests/golden/loki.json against a running embedded server (shared by the contract test)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

GOLDEN_DIR = Path(__file__).resolve().parent.parent / "golden"


def load_golden() -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / "loki.json").read_text())


def whole_minute_t0() -> int:
    """T0' = the current whole minute (the README's shift rule), in ns."""
    return int(time.time()) // 60 * 60 * 10**9


def make_dataset(t0_ns: int, out_dir: Path) -> None:
    subprocess.run(
        [sys.executable, str(GOLDEN_DIR / "make_dataset.py"), str(t0_ns), str(out_dir)],
        check=True,
        capture_output=True,
    )


def _format_time(unit: str, ns: int) -> str:
    if unit == "ns":
        return str(ns)
    if unit == "s":
        return str(ns // 10**9)
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ns // 10**9))


def shifted_path(record: dict[str, Any], t0_ns: int) -> str:
    path = record["path"].split("?", 1)[0]
    params = []
    for name, value in record.get("params", []):
        spec = record.get("time_params", {}).get(name)
        if spec is not None:
            value = _format_time(spec["unit"], t0_ns + spec["offset_ns"])
        params.append((name, value))
    return path + ("?" + urlencode(params) if params else "")


_NS_DIGITS = re.compile(r"(?<![0-9])\d{19}(?![0-9])")


def shift_body(text: str, golden_t0_ns: int, t0_ns: int) -> str:
    """Shift the absolute ns timestamps inside an ``after`` push body to the new T0.

    The recorded bodies carry the recording's own times (T0 - 1 s); sent unshifted they
    would land far outside the window the following ``series`` request asks about.
    """

    def shift(m: re.Match[str]) -> str:
        v = int(m.group(0))
        return str(v - golden_t0_ns + t0_ns) if abs(v - golden_t0_ns) <= 2 * 86400 * 10**9 else m.group(0)

    return _NS_DIGITS.sub(shift, text)


def _body(response: httpx.Response) -> Any:
    ctype = response.headers.get("content-type", "")
    if "json" in ctype:
        return response.json()
    if ctype.startswith("text/") or not response.content:
        return response.text
    import base64

    return {"$base64": base64.b64encode(response.content).decode("ascii")}


def replay(client: httpx.Client, golden: dict[str, Any], t0_ns: int) -> dict[str, Any]:
    """Send every request (then the ``after`` items) and record the answers in the golden format."""
    out = {k: v for k, v in golden.items() if k not in ("requests", "after")}
    out["t0_ns"] = t0_ns
    out["requests"], out["after"] = [], []
    for section in ("requests", "after"):
        for record in golden[section]:
            if record["method"] == "GET":
                response = client.get(
                    shifted_path(record, t0_ns), headers=record.get("request_headers") or {}
                )
            else:
                response = client.post(
                    record["path"],
                    content=shift_body(record["request_body"], golden["t0_ns"], t0_ns).encode(),
                    headers={"Content-Type": record["request_content_type"]},
                )
            mine = dict(record)
            mine.update(
                status=response.status_code,
                content_type=response.headers.get("content-type", ""),
                body=_body(response),
            )
            out[section].append(mine)
    return out
