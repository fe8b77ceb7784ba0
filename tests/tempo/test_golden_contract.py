"""Contract test: the embedded Tempo API answers the 44 recorded requests like real Tempo.

Every request of tests/golden/tempo.json is replayed (time parameters shifted to a
whole-minute T0') and compared with ``compare.normalise``/``diff``. Only the requests
in KNOWN_DEVIATIONS may differ, and only in the fields named there.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labkit.lgtm.testing import running_server

from .golden_replay import compare_module, load_golden, make_dataset, replay, whole_minute_t0

# name -> (dotted body fields that may differ, why)
KNOWN_DEVIATIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "buildinfo": (
        ("version", "goVersion"),
        "labkit reports its own version; the README allows an emulator its own build values",
    ),
    "otlp_traces_invalid_json": (
        ("message",),
        "the text comes from the JSON library (Go's json-iterator in Tempo, Python's json here); "
        "status, content type and the google.rpc.Status shape (code 3) are the same",
    ),
}


@pytest.fixture(scope="module")
def replayed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    tmp = tmp_path_factory.mktemp("tempo_golden")
    golden = load_golden()
    t0 = whole_minute_t0()
    make_dataset(t0, tmp / "dataset")
    with running_server(Path(tmp)) as srv:
        doc = replay(srv.urls["tempo"], golden, t0, tmp / "dataset")
    yield golden, doc


def _names() -> list[str]:
    golden = load_golden()
    return [r["name"] for r in golden["requests"] + golden["after"]]


def _without(record: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    record = copy.deepcopy(record)
    for f in fields:
        if isinstance(record.get("body"), dict):
            record["body"].pop(f, None)
    return record


def test_ingest_answer_matches(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    golden, doc = replayed
    cmp = compare_module()
    a, b = cmp.normalise(golden), cmp.normalise(doc)
    assert cmp.diff(a["ingest"], b["ingest"]) == []


@pytest.mark.parametrize("name", _names())
def test_request_matches_real_tempo(name: str, replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    golden, doc = replayed
    cmp = compare_module()
    a, b = cmp.normalise(golden), cmp.normalise(doc)
    ra = {r["name"]: r for r in a["requests"] + a["after"]}[name]
    rb = {r["name"]: r for r in b["requests"] + b["after"]}[name]
    if name in KNOWN_DEVIATIONS:
        fields, _why = KNOWN_DEVIATIONS[name]
        # The deviating fields must still exist, with the same type.
        for f in fields:
            assert type(ra["body"][f]) is type(rb["body"][f]), f
        ra, rb = _without(ra, fields), _without(rb, fields)
    assert cmp.diff(ra, rb) == []


def test_all_golden_requests_replayed(replayed: tuple[dict[str, Any], dict[str, Any]]) -> None:
    golden, doc = replayed
    assert len(doc["requests"]) == len(golden["requests"]) == 42
    assert len(doc["after"]) == len(golden["after"]) == 2
    assert set(KNOWN_DEVIATIONS) <= set(_names())
