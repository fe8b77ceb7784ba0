"""The log shipper against a real embedded Loki: labels, formats, rotation, truncation,
positions, malformed lines, and exactly-once delivery across crashes (SIGKILL included)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from labkit.k8s.logship import LogShipError, LogShipper, ship_once
from labkit.lgtm.server import EmbeddedServer
from labkit.lgtm.testing import running_server
from tests.k8s.logfiles import T0, append, cri_line, docker_line, lines_of, log_file, query

S = 1_000_000_000


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    with running_server(tmp_path_factory.mktemp("logship-lgtm")) as server:
        yield server


@pytest.fixture
def pods(tmp_path: Path) -> Path:
    folder = tmp_path / "pods"
    folder.mkdir()
    return folder


def _ship(srv: EmbeddedServer, pods: Path, **kw: object) -> object:
    return ship_once(pods, settings=srv.settings, positions=pods.parent / "positions.json", **kw)  # type: ignore[arg-type]


def test_docker_lines_reach_loki_with_pod_labels(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "labkit", "agent-6b7c9-x1", "agent")
    append(
        path,
        docker_line("started", T0),
        docker_line("a very long ", T0 + 1, partial=True),
        docker_line("line, joined", T0 + 2),
        docker_line("oops", T0 + 3, stream="stderr"),
    )
    stats = _ship(srv, pods)
    assert stats.shipped == 3 and stats.skipped_malformed == 0  # type: ignore[attr-defined]
    streams = query(srv, '{namespace="labkit", container="agent", pod="agent-6b7c9-x1"}')
    by_stream = {s["stream"]["stream"]: s for s in streams}
    assert by_stream["stdout"]["stream"] | {"service_name": "x"} == {
        "namespace": "labkit",
        "pod": "agent-6b7c9-x1",
        "container": "agent",
        "node": "node-1",
        "job": "labkit/agent",
        "stream": "stdout",
        "service_name": "x",
    }
    assert [v[1] for v in by_stream["stdout"]["values"]] == ["started", "a very long line, joined"]
    # The joined line carries the time of its first piece, as Docker's reader does.
    assert by_stream["stdout"]["values"][1][0] == str(T0 + 1)
    assert [v[1] for v in by_stream["stderr"]["values"]] == ["oops"]
    # stream is structured metadata (merged into the answer's labels), not an index label.
    resp = httpx.get(
        srv.urls["loki"] + "/loki/api/v1/series",
        params={"match[]": '{pod="agent-6b7c9-x1"}', "start": str(T0 - S), "end": str(time.time_ns())},
        timeout=10,
    )
    assert [sorted(s) for s in resp.json()["data"]] == [
        ["container", "job", "namespace", "node", "pod", "service_name"]
    ]


def test_cri_lines_with_partial_pieces(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "crins", "web-1", "web")
    append(
        path,
        cri_line("one", T0),
        cri_line("tw", T0 + 1, partial=True),
        cri_line("o", T0 + 2, partial=True),
        cri_line("", T0 + 3),
        cri_line("three", T0 + 4),
    )
    assert _ship(srv, pods).shipped == 3  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="crins", pod="web-1"}') == ["one", "two", "three"]


def test_malformed_lines_are_counted_and_skipped(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "badns", "p-1")
    append(path, docker_line("good 1", T0), "garbage\n", "{not json\n", cri_line("good 2", T0 + 1), "\n")
    stats = _ship(srv, pods)
    assert (stats.shipped, stats.skipped_malformed) == (2, 3)  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="badns"}') == ["good 1", "good 2"]


def test_positions_ship_only_new_lines_and_wait_for_a_whole_line(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "incr", "p-1")
    append(path, docker_line("a", T0))
    assert _ship(srv, pods).shipped == 1  # type: ignore[attr-defined]
    half = docker_line("b", T0 + 1)
    append(path, half[:10])  # the writer is in the middle of this line
    assert _ship(srv, pods).shipped == 0  # type: ignore[attr-defined]
    append(path, half[10:], docker_line("c", T0 + 2))
    assert _ship(srv, pods).shipped == 2  # type: ignore[attr-defined]
    assert _ship(srv, pods).shipped == 0  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="incr"}') == ["a", "b", "c"]


def test_restart_inside_a_partial_line_loses_and_repeats_nothing(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "partial", "p-1")
    append(path, docker_line("long ", T0, partial=True), docker_line("other stream", T0 + 1, stream="stderr"))
    assert _ship(srv, pods).shipped == 1  # type: ignore[attr-defined]
    saved = json.loads((pods.parent / "positions.json").read_text())["files"][0]
    assert saved["offset"] == 0 and saved["shipped"] > 0  # resumes at the piece, skips the stderr line
    append(path, docker_line("line", T0 + 2))
    assert _ship(srv, pods).shipped == 1  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="partial"}') == ["long line", "other stream"]


def test_rotation_while_running_and_while_stopped(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "rot", "p-1")
    positions = pods.parent / "positions.json"
    shipper = LogShipper(pods, settings=srv.settings, positions=positions)
    try:
        append(path, docker_line("1", T0))
        shipper.ship_once()
        append(path, docker_line("2", T0 + 1))  # written, not yet shipped, then rotated away
        path.rename(path.with_name("0.log.20261203-143513"))
        append(path, docker_line("3", T0 + 2))
        stats = shipper.ship_once()
        assert stats.rotations == 1 and stats.shipped == 2
    finally:
        shipper.close()
    # Stopped: the current file gets a line, is rotated, and a new one starts.
    append(path, docker_line("4", T0 + 3))
    path.rename(path.with_name("0.log.20261203-143514"))
    append(path, docker_line("5", T0 + 4))
    stats = ship_once(pods, settings=srv.settings, positions=positions)
    assert stats.shipped == 2
    assert lines_of(srv, '{namespace="rot"}') == ["1", "2", "3", "4", "5"]


def test_truncation_starts_over(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "trunc", "p-1")
    append(path, docker_line("before 1", T0), docker_line("before 2", T0 + 1))
    assert _ship(srv, pods).shipped == 2  # type: ignore[attr-defined]
    path.write_text(docker_line("after", T0 + 2), encoding="utf-8")  # copytruncate
    stats = _ship(srv, pods)
    assert stats.shipped == 1 and stats.truncations == 1  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="trunc"}') == ["before 1", "before 2", "after"]


def test_a_crash_after_the_push_does_not_repeat_it(
    srv: EmbeddedServer, pods: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = log_file(pods, "crash", "p-1")
    append(path, docker_line("x", T0), docker_line("y", T0 + 1))

    def die(self: LogShipper, states: object) -> None:
        raise KeyboardInterrupt  # the push landed; positions were not moved on

    monkeypatch.setattr(LogShipper, "_commit", die)
    with pytest.raises(KeyboardInterrupt):
        _ship(srv, pods)
    monkeypatch.undo()
    assert json.loads((pods.parent / "positions.json").read_text())["pending"]
    append(path, docker_line("z", T0 + 2))
    assert _ship(srv, pods).shipped == 1  # type: ignore[attr-defined]
    assert lines_of(srv, '{namespace="crash"}') == ["x", "y", "z"]


def test_loki_down_then_up_ships_once(tmp_path: Path, pods: Path) -> None:
    path = log_file(pods, "down", "p-1")
    append(path, docker_line("kept", T0))
    with running_server(tmp_path / "a") as srv:
        settings = srv.settings
    stats = ship_once(pods, settings=settings, positions=pods.parent / "positions.json")
    assert stats.shipped == 0 and stats.errors == 1 and "push" in (stats.last_error or "")
    # The same port again: the batch is pending, Loki is asked, then it is sent once.
    with running_server(tmp_path / "b", loki_url=settings.loki_url) as srv2:
        assert ship_once(pods, settings=srv2.settings, positions=pods.parent / "positions.json").shipped == 1
        assert lines_of(srv2, '{namespace="down"}') == ["kept"]


def test_one_shipper_per_positions_file(srv: EmbeddedServer, pods: Path) -> None:
    positions = pods.parent / "positions.json"
    first = LogShipper(pods, settings=srv.settings, positions=positions)
    first.ship_once()
    try:
        with pytest.raises(LogShipError, match="another log shipper"):
            LogShipper(pods, settings=srv.settings, positions=positions).ship_once()
    finally:
        first.close()


def test_background_thread_ships_while_lines_arrive(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "bg", "p-1")
    positions = pods.parent / "p.json"
    with LogShipper(pods, settings=srv.settings, positions=positions, interval_s=0.05) as shipper:
        for i in range(20):
            append(path, docker_line(f"line {i}", T0 + i))
        deadline = time.monotonic() + 30
        while shipper.stats.shipped < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert shipper.stats.shipped == 20 and shipper.stats.errors == 0
    assert lines_of(srv, '{namespace="bg"}') == [f"line {i}" for i in range(20)]


_SHIPPER = """
import sys
from labkit.config import load_settings
from labkit.k8s.logship import LogShipper
settings = load_settings(environ={}, loki_url=sys.argv[3], data_dir=sys.argv[4])
shipper = LogShipper(sys.argv[1], settings=settings, positions=sys.argv[2], interval_s=0.01, batch_entries=7)
shipper.run_forever()
"""


def test_exactly_once_across_sigkill(srv: EmbeddedServer, pods: Path, tmp_path: Path) -> None:
    """Kill the shipper process (SIGKILL, no cleanup) again and again while lines stream in."""
    path = log_file(pods, "sigkill", "p-1")
    positions = tmp_path / "positions.json"
    total, kills = 600, 0
    argv = [sys.executable, "-c", _SHIPPER, str(pods), str(positions), srv.settings.loki_url, str(tmp_path)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    written = 0
    while written < total or kills < 6:
        proc = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            # Lines keep arriving while it starts, runs and dies.
            for _ in range(6):
                if written < total:
                    batch = min(25, total - written)
                    ids = range(written, written + batch)
                    append(path, *(docker_line(f"n={i}", T0 + i * 1000) for i in ids))
                    written += batch
                time.sleep(0.05)
            time.sleep(0.2 + 0.1 * (kills % 4))
        finally:
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
        kills += 1
        assert b"Traceback" not in err, err.decode(errors="replace")
    stats = ship_once(pods, settings=srv.settings, positions=positions)
    assert stats.errors == 0
    got = lines_of(srv, '{namespace="sigkill"}')
    assert len(got) == total, f"{len(got)} lines in Loki for {total} written ({kills} kills)"
    assert got == [f"n={i}" for i in range(total)]


def test_cli_ship_logs_once(srv: EmbeddedServer, pods: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from labkit.cli import app

    path = log_file(pods, "clins", "p-1")
    append(path, docker_line("via cli", T0), "garbage\n")
    env = {"COLUMNS": "250", "LABKIT_LOKI_URL": srv.settings.loki_url, "LABKIT_DATA_DIR": str(tmp_path / "d")}
    append(log_file(pods, "otherns", "p-1"), docker_line("not this one", T0))
    args = ["k8s", "ship-logs", "--once", "--pods-dir", str(pods), "-n", "clins"]
    result = CliRunner(env=env).invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "shipped 1 line(s) from 1 file(s); skipped 1 malformed" in result.output
    assert lines_of(srv, '{namespace="clins"}') == ["via cli"]
    assert (tmp_path / "d" / "k8s" / "logship-positions.json").is_file()


def test_a_missing_pods_dir_is_a_clear_error(srv: EmbeddedServer, tmp_path: Path) -> None:
    with pytest.raises(LogShipError, match="is not a folder: kubelet writes"):
        ship_once(tmp_path / "nowhere", settings=srv.settings, positions=tmp_path / "p.json")


def test_a_deleted_pods_last_lines_are_still_shipped(srv: EmbeddedServer, pods: Path) -> None:
    path = log_file(pods, "gone", "p-1")
    shipper = LogShipper(pods, settings=srv.settings, positions=pods.parent / "positions.json")
    try:
        append(path, docker_line("first", T0))
        shipper.ship_once()
        append(path, docker_line("last words", T0 + 1))
        path.unlink()  # the pod was deleted before the shipper's next look
        assert shipper.ship_once().shipped == 1
        assert shipper.ship_once().files == 0  # let go once read to the end
    finally:
        shipper.close()
    assert lines_of(srv, '{namespace="gone"}') == ["first", "last words"]
    assert json.loads((pods.parent / "positions.json").read_text())["files"] == []


def test_a_corrupt_positions_file_is_named(srv: EmbeddedServer, pods: Path) -> None:
    positions = pods.parent / "positions.json"
    positions.write_text("{not json", encoding="utf-8")
    with pytest.raises(LogShipError, match=r"positions\.json is not valid .*move it away"):
        ship_once(pods, settings=srv.settings, positions=positions)
