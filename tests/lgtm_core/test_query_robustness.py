"""Random and mutated TraceQL, LogQL and PromQL queries over HTTP: only 2xx/4xx answers, never a
5xx, the server keeps serving, and queries never change what is stored."""

from __future__ import annotations

import json
import random
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import httpx

from labkit.lgtm.testing import running_server

from .payloads import make_logs, make_traces

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
PROMQL_CORPUS = Path(__file__).resolve().parents[1] / "promql" / "queries.txt"
N_PER_API = 2_000
SEED = 20261126
# Characters that matter to the three grammars: delimiters, operators, quotes, escapes, units.
ALPHABET = [
    *'{}()[]|&=!~<>"`\\.,:;+-*/%^@ 0123456789abcdefxyz_$\n\t\x00é',
    *("by", "| json", "| logfmt", "rate(", "[5m]", "span.", "resource.", "&&", ">>", "offset 1h"),
    *("unwrap ", "count()"),
]


def _golden_queries(name: str, param: str) -> list[str]:
    record = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    out = []
    for request in record["requests"]:
        for key, value in parse_qsl(urlsplit(request["path"]).query):
            if key == param:
                out.append(value)
    return out


def _promql_queries() -> list[str]:
    lines = PROMQL_CORPUS.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _mutate(rng: random.Random, query: str) -> str:
    """One to three random edits: delete, insert, replace, swap halves, truncate, duplicate."""
    for _ in range(rng.randint(1, 3)):
        pos = rng.randint(0, len(query))
        op = rng.randrange(6)
        if op == 0 and query:
            query = query[:pos] + query[pos + rng.randint(1, 4) :]
        elif op == 1:
            query = query[:pos] + rng.choice(ALPHABET) + query[pos:]
        elif op == 2 and query:
            query = query[:pos] + rng.choice(ALPHABET) + query[pos + 1 :]
        elif op == 3:
            query = query[pos:] + query[:pos]
        elif op == 4:
            query = query[:pos]
        else:
            query = query + query[pos:]
    return query


def _random_query(rng: random.Random, seeds: list[str]) -> str:
    if rng.random() < 0.15:  # pure noise
        return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 40)))
    return _mutate(rng, rng.choice(seeds))


def _random_time(rng: random.Random, now_s: int) -> str:
    return rng.choice(
        [
            str(now_s - rng.randint(0, 7200)),
            str((now_s - rng.randint(0, 7200)) * 10**9),
            "2026-11-26T05:00:00Z",
            "-1",
            "abc",
            "",
            "1e400",
            str(10**25),
        ]
    )


def test_random_queries_only_get_client_errors(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    traceql = _golden_queries("tempo.json", "q")
    logql = _golden_queries("loki.json", "query")
    promql = _promql_queries()
    assert len(traceql) > 20 and len(logql) > 20 and len(promql) > 80

    with running_server(tmp_path) as srv, httpx.Client(timeout=30) as http:
        urls = srv.urls
        assert http.post(
            urls["otlp_http"] + "/v1/traces",
            content=make_traces(20).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        ).is_success
        assert http.post(
            urls["otlp_http"] + "/v1/logs",
            content=make_logs(50).SerializeToString(),
            headers={"Content-Type": "application/x-protobuf"},
        ).is_success
        before = {t: srv.db.query(f"SELECT count(*) FROM {t}")[0][0] for t in ("spans", "log_entries")}
        now_s = int(__import__("time").time())

        statuses: dict[int, int] = {}
        server_errors: list[str] = []

        def send(method: str, url: str, params: dict[str, str]) -> None:
            response = http.request(
                method,
                url,
                params=params if method == "GET" else None,
                data=params if method == "POST" else None,
            )
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                server_errors.append(f"{response.status_code} {url} {params!r}: {response.text[:200]}")

        for _ in range(N_PER_API):
            params = {
                "q": _random_query(rng, traceql),
                "start": _random_time(rng, now_s),
                "end": _random_time(rng, now_s),
                "limit": rng.choice(["5", "0", "-3", "x", "20"]),
                "spss": rng.choice(["1", "3", "-1", "y"]),
            }
            send("GET", urls["tempo"] + "/api/search", params)
        for _ in range(N_PER_API):
            path = rng.choice(["/loki/api/v1/query_range", "/loki/api/v1/query"])
            params = {
                "query": _random_query(rng, logql),
                "start": _random_time(rng, now_s),
                "end": _random_time(rng, now_s),
                "limit": rng.choice(["10", "0", "-1", "z"]),
                "step": rng.choice(["60", "1m", "0", "-5", "q"]),
                "direction": rng.choice(["forward", "backward", "sideways"]),
            }
            send(rng.choice(["GET", "POST"]), urls["loki"] + path, params)
        for _ in range(N_PER_API):
            path = rng.choice(["/api/v1/query", "/api/v1/query_range"])
            params = {
                "query": _random_query(rng, promql),
                "time": _random_time(rng, now_s),
                "start": _random_time(rng, now_s),
                "end": _random_time(rng, now_s),
                "step": rng.choice(["15", "15s", "0", "-1", "1e9", "w"]),
            }
            send(rng.choice(["GET", "POST"]), urls["mimir"] + path, params)

        assert not server_errors, server_errors[:10]
        assert sum(statuses.values()) == 3 * N_PER_API
        assert statuses.get(200, 0) > 0 and any(400 <= s < 500 for s in statuses), statuses
        assert http.get(urls["tempo"] + "/ready").is_success
        after = {t: srv.db.query(f"SELECT count(*) FROM {t}")[0][0] for t in ("spans", "log_entries")}
        assert after == before  # queries never write
