"""Replay the recorded Tempo requests (tests/golden/tempo.json) against the embedded server.

Follows tests/golden/README.md: a whole-minute T0', the dataset generated for it, one
JSON push of traces.json, then every request with its time parameters shifted; the
answers are written in the recording's own format so ``compare.normalise``/``diff``
can compare them with the golden ones.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.util
import json
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlencode

import httpx

GOLDEN_DIR = Path(__file__).resolve().parents[1] / "golden"

__all__ = [
    "GOLDEN_DIR",
    "compare_module",
    "load_golden",
    "make_dataset",
    "replay",
    "shifted_path",
    "whole_minute_t0",
]


def compare_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("golden_compare", GOLDEN_DIR / "compare.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_golden() -> dict[str, Any]:
    return json.loads((GOLDEN_DIR / "tempo.json").read_text())


def whole_minute_t0() -> int:
    return int(time.time()) // 60 * 60 * 10**9


def make_dataset(t0_ns: int, out: Path) -> dict[str, Any]:
    subprocess.run(
        [sys.executable, str(GOLDEN_DIR / "make_dataset.py"), str(t0_ns), str(out)],
        check=True,
        capture_output=True,
    )
    return json.loads((out / "manifest.json").read_text())


def _format_time(value_ns: int, unit: str) -> str:
    if unit == "ns":
        return str(value_ns)
    if unit == "s":
        return str(value_ns // 10**9)
    return dt.datetime.fromtimestamp(value_ns // 10**9, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def shifted_path(record: dict[str, Any], t0_ns: int) -> tuple[str, list[list[str]]]:
    """The record's path and params with every time parameter moved to ``t0_ns``."""
    base = record["path"].split("?", 1)[0]
    params = [list(p) for p in record.get("params", [])]
    for p in params:
        spec = record.get("time_params", {}).get(p[0])
        if spec:
            p[1] = _format_time(t0_ns + int(spec["offset_ns"]), spec["unit"])
    path = base + ("?" + urlencode([tuple(p) for p in params]) if params else "")
    return path, params


def _body(resp: httpx.Response) -> Any:
    ctype = resp.headers.get("content-type", "")
    if "json" in ctype:
        return resp.json()
    try:
        return resp.content.decode("utf-8")
    except UnicodeDecodeError:
        return {"$base64": base64.b64encode(resp.content).decode()}


def _record(
    template: dict[str, Any], resp: httpx.Response, path: str, params: list[list[str]]
) -> dict[str, Any]:
    out = dict(template)
    out["path"] = path
    if "params" in template:
        out["params"] = params
    out["status"] = resp.status_code
    out["content_type"] = resp.headers.get("content-type", "")
    out["body"] = _body(resp)
    return out


def replay(base_url: str, golden: dict[str, Any], t0_ns: int, dataset_dir: Path) -> dict[str, Any]:
    """Push the dataset and replay every request; returns a document shaped like tempo.json."""
    doc: dict[str, Any] = {"t0_ns": t0_ns, "server": golden["server"], "requests": [], "after": []}
    with httpx.Client(base_url=base_url, timeout=60) as client:
        data = (dataset_dir / "traces.json").read_bytes()
        resp = client.post("/v1/traces", content=data, headers={"Content-Type": "application/json"})
        doc["ingest"] = [
            {
                "name": "otlp_traces",
                "method": "POST",
                "path": "/v1/traces",
                "request_content_type": "application/json",
                "request_bytes": len(data),
                "status": resp.status_code,
                "content_type": resp.headers.get("content-type", ""),
                "body": _body(resp),
            }
        ]
        for rec in golden["requests"]:
            path, params = shifted_path(rec, t0_ns)
            resp = client.request(rec["method"], path, headers=rec.get("request_headers") or {})
            doc["requests"].append(_record(rec, resp, path, params))
        for rec in golden["after"]:
            resp = client.request(
                rec["method"],
                rec["path"],
                content=rec["request_body"].encode(),
                headers={"Content-Type": rec["request_content_type"]},
            )
            doc["after"].append(_record(rec, resp, rec["path"], []))
    return doc
