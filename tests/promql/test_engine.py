"""Run engine_cases.test (promqltest-style cases) against the engine over an in-memory store."""

from __future__ import annotations

import math
import re
from pathlib import Path

import pytest

from labkit.lgtm.db import Database
from labkit.lgtm.metrics.index import STALE_NAN, index_for
from labkit.lgtm.metrics.promql import PromQLError, instant_query
from labkit.lgtm.metrics.store import append_samples

CASES = Path(__file__).parent / "engine_cases.test"
_SERIES = re.compile(r"^(\w*)\s*(\{.*?\})?\s*(.*)$")
_DUR = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


def _ms(text: str) -> int:
    m = re.fullmatch(r"(\d+)(ms|s|m|h)?", text)
    assert m, text
    return int(m.group(1)) * _DUR[m.group(2) or "s"]


def _labels(name: str, body: str | None) -> dict[str, str]:
    labels = dict(re.findall(r'(\w+)\s*=\s*"([^"]*)"', body or ""))
    if name:
        labels["__name__"] = name
    return labels


def _values(text: str) -> list[float | None]:
    out: list[float | None] = []
    for tok in text.split():
        if tok == "_":
            out.append(None)
        elif tok == "stale":
            out.append(STALE_NAN)
        elif m := re.fullmatch(r"(-?[\d.]+)x(\d+)([+-][\d.]+)", tok):
            start, n, inc = float(m.group(1)), int(m.group(2)), float(m.group(3))
            out.extend(start + i * inc for i in range(n + 1))
        else:
            out.append(float(tok))
    return out


def _blocks() -> tuple[Database, list[tuple[str, int, str, list[str]]]]:
    db = Database(None)
    evals: list[tuple[str, int, str, list[str]]] = []
    lines = [ln.rstrip() for ln in CASES.read_text().splitlines() if not ln.lstrip().startswith("#")]
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("load "):
            step = _ms(line.split()[1])
            samples = []
            i += 1
            while i < len(lines) and lines[i].startswith("  "):
                m = _SERIES.match(lines[i].strip())
                assert m
                labels = _labels(m.group(1), m.group(2))
                for k, v in enumerate(_values(m.group(3))):
                    if v is not None:
                        samples.append((labels, k * step, v))
                i += 1
            with db.transaction() as con:
                append_samples(db, con, samples)
            continue
        if line.startswith(("eval ", "eval_fail ")):
            m = re.match(r"(eval|eval_fail) instant at (\S+) (.*)$", line)
            assert m, line
            expected = []
            i += 1
            while i < len(lines) and lines[i].startswith("  "):
                expected.append(lines[i].strip())
                i += 1
            evals.append((m.group(1), _ms(m.group(2)), m.group(3), expected))
            continue
        i += 1
    return db, evals


DB, EVALS = _blocks()


@pytest.mark.parametrize(("kind", "at", "query", "expected"), EVALS, ids=[e[2] for e in EVALS])
def test_engine_case(kind: str, at: int, query: str, expected: list[str]) -> None:
    index = index_for(DB)
    if kind == "eval_fail":
        with pytest.raises(PromQLError, match=re.escape(expected[0])):
            instant_query(index, query, at)
        return
    data = instant_query(index, query, at)
    if expected and expected[0].startswith("scalar "):
        assert data["resultType"] == "scalar"
        assert math.isclose(float(data["result"][1]), float(expected[0].split()[1]), rel_tol=1e-12)
        return
    want = {}
    for line in expected:
        m = _SERIES.match(line)
        assert m
        want[tuple(sorted(_labels(m.group(1), m.group(2)).items()))] = float(m.group(3))
    got = {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}
    assert got.keys() == want.keys()
    for key, value in want.items():
        assert math.isclose(got[key], value, rel_tol=1e-12), (key, got[key], value)
