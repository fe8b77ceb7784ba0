"""Contract test: the embedded Loki API answers tests/golden/loki.json like the real Loki 3.

Dataset from tests/golden/make_dataset.py at T0' = the current whole minute, pushed as
the README says; every recorded request is replayed with its time parameters shifted
(the ``after`` items last) and compared with compare.py's ``normalise``/``diff``.
"""

from __future__ import annotations

import httpx
import pytest
from compare import diff, normalise
from golden_replay import load_golden, make_dataset, replay, whole_minute_t0

from labkit.lgtm.testing import running_server

# Known deviations, each with its reason. Everything else must match exactly.
KNOWN_DEVIATIONS = {
    # The recorded binary was built without version ldflags (empty strings, its own Go
    # version); the README allows an emulator to report its own build information.
    "buildinfo": "build information describes labkit, not the recorded Loki binary",
}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("loki_golden")
    golden = load_golden()
    t0 = whole_minute_t0()
    make_dataset(t0, tmp / "dataset")
    with running_server(tmp) as srv, httpx.Client(base_url=srv.urls["loki"], timeout=60) as client:
        ingest = []
        for name, path in (("loki_push", "/loki/api/v1/push"), ("otlp_logs", "/otlp/v1/logs")):
            body = (tmp / "dataset" / f"{name}.json").read_bytes()
            r = client.post(path, content=body, headers={"Content-Type": "application/json"})
            ingest.append((name, r.status_code, r.headers.get("content-type", ""), r.text))
        mine = replay(client, golden, t0)
    return golden, mine, ingest


def test_ingest_answers_like_loki(replayed):
    golden, _, ingest = replayed
    expected = [(i["name"], i["status"], i["content_type"], i["body"]) for i in golden["ingest"]]
    assert ingest == expected


def _records(doc):
    return {r["name"]: r for r in doc["requests"] + doc["after"]}


def test_every_golden_request_matches(replayed):
    golden, mine, _ = replayed
    a, b = _records(normalise(golden)), _records(normalise(mine))
    assert list(a) == list(b)
    problems, matched = {}, 0
    for name, want in a.items():
        got = b[name]
        fields = ("status", "content_type", "body")
        found = diff({k: want[k] for k in fields}, {k: got[k] for k in fields})
        if name in KNOWN_DEVIATIONS:
            # Still the same status, content type and keys.
            assert (got["status"], got["content_type"]) == (want["status"], want["content_type"]), name
            assert set(got["body"]) == set(want["body"]), name
            continue
        if found:
            problems[name] = found[:5]
        else:
            matched += 1
    assert not problems, problems
    assert matched == len(a) - len(KNOWN_DEVIATIONS) == 47
