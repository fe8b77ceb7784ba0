"""Every acknowledged batch survives SIGKILL of the server process."""

from __future__ import annotations

import signal
from pathlib import Path

import duckdb
import httpx

from .payloads import make_logs, make_traces
from .procs import get_status, otlp_url, spawn_server, stack_env

PB = {"Content-Type": "application/x-protobuf"}


def test_acknowledged_batches_survive_sigkill(tmp_path: Path) -> None:
    has_logs = True
    try:
        import labkit.lgtm.logs.store  # noqa: F401
    except ModuleNotFoundError:
        has_logs = False
    env = stack_env(tmp_path / "data")
    proc = spawn_server(env, tmp_path)
    acked_traces: set[str] = set()
    acked_spans = acked_logs = 0
    try:
        with httpx.Client(base_url=otlp_url(env), timeout=10) as client:
            for i in range(40):
                req = make_traces(25, seed=i)
                r = client.post("/v1/traces", content=req.SerializeToString(), headers=PB)
                assert r.status_code == 200
                acked_spans += 25
                acked_traces |= {s.trace_id.hex() for s in req.resource_spans[0].scope_spans[0].spans}
                if has_logs:
                    r = client.post("/v1/logs", content=make_logs(30, seed=i).SerializeToString(), headers=PB)
                    assert r.status_code == 200
                    acked_logs += 30
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        if proc.stdout:
            proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL

    # A fresh server replays the write-ahead log and sees everything that was acknowledged.
    proc = spawn_server(env, tmp_path)
    try:
        status = get_status(env)
        assert status is not None
        assert status["signals"]["traces"]["spans"] == acked_spans
        if has_logs:
            assert status["signals"]["logs"]["log_entries"] == acked_logs
    finally:
        proc.terminate()
        assert proc.wait(15) == 0
        if proc.stdout:
            proc.stdout.close()
    con = duckdb.connect(str(tmp_path / "data" / "lgtm.duckdb"), read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT DISTINCT trace_id FROM spans").fetchall()}
        counts = con.execute("SELECT count(*), count(DISTINCT seq) FROM spans").fetchone()
    finally:
        con.close()
    assert stored == acked_traces
    assert counts == (acked_spans, acked_spans)
