"""10,000+ random and mutated OTLP payloads: only 2xx/4xx, no crash, no partial writes."""

from __future__ import annotations

import base64
import copy
import gzip
import importlib
import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest
from google.protobuf import json_format

from labkit.lgtm.db import Database
from labkit.lgtm.otlp.decode import DecodeError, decode_request
from labkit.lgtm.otlp.ingest import load_store_fn
from labkit.lgtm.testing import running_server
from labkit.lgtm.traces import store as trace_store

from .payloads import make_logs, make_metrics, make_traces

N_PAYLOADS = 10_000
SEED = 20251126
PB, JS = "application/x-protobuf", "application/json"
CONTENT_TYPES = [PB, JS, "application/protobuf", "application/json; charset=utf-8", "text/plain", "", None]
ENCODINGS = [None, None, None, "gzip", "identity", "deflate", "br"]
# signal -> (path, table, rows per accepted request as a function of the decoded request)
SIGNALS: dict[str, tuple[str, str, str]] = {
    "traces": ("/v1/traces", "spans", "labkit.lgtm.traces.store"),
    "logs": ("/v1/logs", "log_entries", "labkit.lgtm.logs.store"),
    "metrics": ("/v1/metrics", "otlp_metric_points", "labkit.lgtm.metrics.store"),
}


def _expected_rows(signal: str, request: Any) -> int | None:
    if signal == "traces":
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    return None  # metric points expand by type (buckets, quantiles): only check "something or nothing"


def _otlp_json(message: Any) -> dict[str, Any]:
    """Canonical proto JSON with ids turned into OTLP/JSON hex."""

    def fix(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: base64.b64decode(v).hex() if k in ("traceId", "spanId", "parentSpanId") else fix(v)
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [fix(x) for x in node]
        return node

    return fix(json_format.MessageToDict(message))


def _mutate_bytes(rnd: random.Random, data: bytes) -> bytes:
    buf = bytearray(data)
    for _ in range(rnd.randint(1, 6)):
        op = rnd.randrange(6)
        if op == 0 and buf:  # flip bits
            i = rnd.randrange(len(buf))
            buf[i] ^= 1 << rnd.randrange(8)
        elif op == 1:  # insert random bytes
            i = rnd.randint(0, len(buf))
            buf[i:i] = rnd.randbytes(rnd.randint(1, 8))
        elif op == 2 and buf:  # delete a run
            i = rnd.randrange(len(buf))
            del buf[i : i + rnd.randint(1, 16)]
        elif op == 3 and buf:  # truncate
            del buf[rnd.randrange(len(buf)) :]
        elif op == 4 and buf:  # interesting byte values (varint edges, length prefixes)
            buf[rnd.randrange(len(buf))] = rnd.choice([0x00, 0x7F, 0x80, 0xFF, 0x0A, 0x12, 0x1A])
        elif op == 5 and len(buf) > 4:  # duplicate a slice
            i = rnd.randrange(len(buf) - 2)
            j = rnd.randint(i + 1, min(len(buf), i + 64))
            buf[j:j] = buf[i:j]
    return bytes(buf)


_WEIGHTS = {"traces": 5, "logs": 4, "metrics": 2}
_WEIRD = [
    None,
    True,
    -1,
    2**64,
    1.5e308,
    "",
    "zz",
    "0" * 33,
    "Ω",
    [],
    {},
    {"stringValue": 5},
    "SPAN_KIND_BOGUS",
]


def _mutate_json(rnd: random.Random, doc: Any) -> Any:
    doc = json.loads(json.dumps(doc))
    for _ in range(rnd.randint(1, 4)):
        path: list[tuple[Any, Any]] = []
        node = doc
        while isinstance(node, dict | list) and node and rnd.random() < 0.85:
            key = rnd.choice(list(node)) if isinstance(node, dict) else rnd.randrange(len(node))
            path.append((node, key))
            node = node[key]
        if not path:
            return copy.deepcopy(rnd.choice(_WEIRD))
        parent, key = path[-1]
        if isinstance(parent, dict) and rnd.random() < 0.2:
            del parent[key]
        else:
            parent[key] = copy.deepcopy(rnd.choice(_WEIRD))
    return doc


class Fuzzer:
    def __init__(self, signals: list[str], rnd: random.Random) -> None:
        self.rnd = rnd
        self.signals = signals
        self.seeds: dict[str, list[Any]] = {}
        for s in signals:
            make = {"traces": make_traces, "logs": make_logs}.get(s)
            reqs = (
                [make(rnd.randint(1, 8), seed=i) for i in range(4)]
                if make
                else [make_metrics(seed=i) for i in range(4)]
            )
            self.seeds[s] = reqs
        self.json_seeds = {s: [_otlp_json(r) for r in reqs] for s, reqs in self.seeds.items()}

    def payload(self) -> tuple[str, bytes, str | None, str | None]:
        rnd = self.rnd
        # Metric batches cost the most to store; they get a smaller share of the mix.
        signal = rnd.choices(self.signals, weights=[_WEIGHTS[s] for s in self.signals])[0]
        k = rnd.randrange(len(self.seeds[signal]))
        req = self.seeds[signal][k]
        as_json = rnd.random() < 0.45
        if as_json:
            doc: Any = self.json_seeds[signal][k]
            if rnd.random() < 0.7:
                doc = _mutate_json(rnd, doc)
            body = json.dumps(doc).encode()
        else:
            body = req.SerializeToString()
        if rnd.random() < 0.7:
            body = _mutate_bytes(rnd, body) if rnd.random() < 0.8 else rnd.randbytes(rnd.randint(0, 300))
        content_type: str | None = JS if as_json else PB
        if rnd.random() < 0.15:
            content_type = rnd.choice(CONTENT_TYPES)
        encoding = rnd.choice(ENCODINGS) if rnd.random() < 0.3 else None
        if encoding == "gzip":
            body = gzip.compress(body)
            if rnd.random() < 0.3:
                body = _mutate_bytes(rnd, body)
        return signal, body, content_type, encoding


def test_random_and_mutated_payloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    signals = []
    for name, (_, _, module) in SIGNALS.items():
        try:
            importlib.import_module(module)
            signals.append(name)
        except ModuleNotFoundError:
            pass
    rnd = random.Random(SEED)
    fuzzer = Fuzzer(signals, rnd)
    statuses: Counter[int] = Counter()
    with running_server(tmp_path, ingest_max_body_bytes=64 * 1024) as srv:
        # This test is about the receivers and the stores' all-or-nothing contract; the
        # span-metrics hook (tested with the Tempo API) would dominate its run time.
        # Patched after start, when every module that appends a hook has been imported.
        monkeypatch.setattr(trace_store, "TRACE_HOOKS", [])
        tables = [SIGNALS[s][1] for s in signals]

        def counts() -> dict[str, int]:
            return {t: int(srv.db.query(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}

        accepted: list[tuple[str, Any]] = []
        with httpx.Client(base_url=srv.urls["otlp_http"], timeout=30) as client:
            for i in range(N_PAYLOADS):
                signal, body, content_type, encoding = fuzzer.payload()
                headers = {}
                if content_type is not None:
                    headers["Content-Type"] = content_type
                if encoding is not None:
                    headers["Content-Encoding"] = encoding
                r = client.post(SIGNALS[signal][0], content=body, headers=headers)
                statuses[r.status_code] += 1
                assert r.status_code < 500, (
                    f"payload {i} ({signal}, {content_type}, {encoding}): {r.text[:300]}"
                )
                if r.status_code >= 400:
                    assert r.status_code in (400, 413, 415), r.status_code
                    continue
                # Accepted by the server, so the decoder must accept it on its own too.
                try:
                    decoded = decode_request(signal, body, content_type, encoding, 64 * 1024)  # type: ignore[arg-type]
                except DecodeError as exc:  # pragma: no cover - would be a server bug
                    raise AssertionError(f"payload {i} accepted but does not decode: {exc}") from None
                accepted.append((signal, decoded))
        stored = counts()

    # No partial writes: the server holds exactly what the accepted batches hold when
    # stored one by one into a fresh store, so no refused batch left anything behind.
    reference = Database(None)
    try:
        for signal, decoded in accepted:
            store_fn = load_store_fn(signal)
            with reference.transaction() as con:
                store_fn(reference, con, decoded)
        expected = {t: int(reference.query(f"SELECT count(*) FROM {t}")[0][0]) for t in tables}
    finally:
        reference.close()
    assert stored == expected
    sent = {s: sum(_expected_rows(s, d) or 0 for sig, d in accepted if sig == s) for s in ("traces", "logs")}
    assert stored["spans"] == sent["traces"]
    assert sum(statuses.values()) >= N_PAYLOADS
    # The mix must exercise both outcomes, or the test proves nothing.
    assert statuses[200] > 500 and statuses[400] > 2000 and statuses[415] > 100, statuses
