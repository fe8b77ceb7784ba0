"""Ship kubelet pod logs to Loki's push API, labelled as Alloy's Kubernetes pod-log pipeline does.

Delivery is exactly once across restarts (see ``positions``): the batch in flight is recorded
before the push and confirmed against Loki's query API after a crash.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import time
from collections.abc import Collection
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import httpx

from labkit.config import Settings, load_settings
from labkit.k8s.errors import K8sError
from labkit.k8s.logship.positions import FileState, Pending, Positions
from labkit.k8s.logship.tail import Entry, Tail

__all__ = ["DEFAULT_PODS_DIR", "LogShipError", "LogShipper", "ShipStats", "pod_labels", "ship_once"]

log = logging.getLogger("labkit.k8s.logship")

DEFAULT_PODS_DIR = Path("/var/log/pods")  # kubelet's fixed pod log root
EMBEDDED_NODE = "node-1"  # the embedded cluster's node name (kubelet --hostname-override)
MAX_BATCH_BYTES = 1 << 20
# After a crash with a push in flight, the server may still be storing it: look twice.
SETTLE_S = 1.0


class LogShipError(K8sError):
    """The shipper cannot run (positions locked by another shipper, unreadable positions file)."""


@dataclass
class ShipStats:
    shipped: int = 0  # entries Loki accepted
    skipped_malformed: int = 0  # lines in neither format (or broken pieces of one)
    rejected: int = 0  # entries Loki refused with a 4xx (too old, too long...), not retried
    pushes: int = 0
    files: int = 0  # log files followed now
    rotations: int = 0
    truncations: int = 0
    errors: int = 0  # failed pushes/queries (retried)
    last_error: str | None = None

    def add(self, other: ShipStats) -> None:
        for f in fields(self):
            if f.name == "files":
                self.files = other.files
            elif f.name == "last_error":
                self.last_error = other.last_error or self.last_error
            else:
                setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def pod_labels(log_path: Path, node: str) -> dict[str, str] | None:
    """Loki labels of ``<pods_dir>/<namespace>_<pod>_<uid>/<container>/<n>.log``, or None.

    (``stream`` -- stdout/stderr -- travels as structured metadata, not as a label.)

    The same labels Alloy's usual ``discovery.kubernetes`` + ``discovery.relabel`` rules set
    (k8s/alloy/config.alloy): namespace, pod, container, node, job = namespace/container.
    Namespace and pod names are DNS labels/subdomains, never containing ``_``.
    """
    parts = log_path.parent.parent.name.split("_")
    if len(parts) != 3 or not all(parts):
        return None
    namespace, pod, _uid = parts
    container = log_path.parent.name
    return {
        "namespace": namespace,
        "pod": pod,
        "container": container,
        "node": node,
        "job": f"{namespace}/{container}",
    }


def _selector(labels: dict[str, str]) -> str:
    def quote(v: str) -> str:
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "{" + ", ".join(f"{k}={quote(v)}" for k, v in sorted(labels.items())) + "}"


class LogShipper:
    """Tail ``pods_dir`` (default ``/var/log/pods``) and push every new line to ``loki_url``.

    ``with LogShipper() as shipper:`` runs it in a background thread (a last pass on exit);
    ``shipper.ship_once()`` runs one pass in the caller's thread. ``shipper.stats`` counts
    since creation; ``namespaces`` limits it to those namespaces. Positions default to
    ``<data_dir>/k8s/logship-positions.json``; one shipper at a time may use a positions file
    (a lock file beside it).
    """

    def __init__(
        self,
        pods_dir: Path | str | None = None,
        *,
        settings: Settings | None = None,
        positions: Path | str | None = None,
        node: str | None = None,
        namespaces: Collection[str] | None = None,
        interval_s: float = 1.0,
        batch_entries: int = 1000,
        settle_s: float = SETTLE_S,
    ) -> None:
        self.settings = settings or load_settings()
        self.pods_dir = Path(pods_dir) if pods_dir is not None else DEFAULT_PODS_DIR
        default_positions = self.settings.state_path("k8s", "logship-positions.json")
        self.positions_path = Path(positions) if positions is not None else default_positions
        self.node = node or (EMBEDDED_NODE if not self.settings.k8s_context else socket.gethostname())
        self.namespaces = frozenset(namespaces) if namespaces is not None else None  # None = all
        self.interval_s = interval_s
        self.batch_entries = max(1, batch_entries)
        self.settle_s = settle_s
        self._stats = ShipStats()
        self._lock = threading.Lock()  # one pass at a time
        self._stats_lock = threading.Lock()  # stats stay readable while a pass waits on Loki
        self._lock_fd: int | None = None
        self._positions: Positions | None = None
        self._tails: dict[tuple[str, int], Tail] = {}
        self._current: dict[str, Tail] = {}  # kubelet path -> the tail of its current inode
        self._client: httpx.Client | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------

    @property
    def stats(self) -> ShipStats:
        with self._stats_lock:
            return ShipStats(**{f.name: getattr(self._stats, f.name) for f in fields(ShipStats)})

    def _open(self) -> None:
        if self._positions is not None:
            return
        if not self.pods_dir.is_dir():
            raise LogShipError(
                f"{self.pods_dir} is not a folder: kubelet writes the pods' log files there. Is the "
                "embedded cluster up (`labkit k8s status`)? Elsewhere pass pods_dir= (--pods-dir)."
            )
        self.positions_path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.positions_path.with_name(self.positions_path.name + ".lock")
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise LogShipError(
                f"another log shipper is using {self.positions_path} (lock {lock_path}); stop it first, "
                "or give this one its own positions file"
            ) from None
        self._lock_fd = fd
        try:
            self._positions = Positions.load(self.positions_path)
        except ValueError as exc:
            self._release()
            raise LogShipError(str(exc)) from None
        timeout = httpx.Timeout(self.settings.http_timeout_s)
        self._client = httpx.Client(timeout=timeout, trust_env=False)

    def _release(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # closing drops the flock
            self._lock_fd = None

    def close(self) -> None:
        """Stop the background thread (after a last pass), close files, release the positions."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            self.ship_once()
        for tail in self._tails.values():
            tail.close()
        self._tails.clear()
        self._current.clear()
        if self._client is not None:
            self._client.close()
            self._client = None
        self._positions = None
        self._release()

    def __enter__(self) -> LogShipper:
        self._open()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="labkit-logship", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_forever(self) -> None:
        """Ship until interrupted (the CLI); the last pass runs on the way out."""
        self._open()
        try:
            while True:
                self.ship_once()
                time.sleep(self.interval_s)
        finally:
            self.close()

    def _run(self) -> None:
        while True:
            try:
                self.ship_once()
            except Exception as exc:  # the thread never dies: count, log, try again
                log.exception("log shipping pass failed")
                with self._stats_lock:
                    self._stats.errors += 1
                    self._stats.last_error = str(exc)
            if self._stop.wait(self.interval_s):
                return

    # -- one pass ----------------------------------------------------------------------

    def ship_once(self, max_batches: int | None = None) -> ShipStats:
        """Confirm a pending batch, find files, push what is new; the pass's own counts."""
        self._open()
        with self._lock:
            pass_stats = ShipStats()
            try:
                self._pass(pass_stats, max_batches)
            except (httpx.HTTPError, _LokiUnavailable) as exc:
                pass_stats.errors += 1
                pass_stats.last_error = str(exc)
            pass_stats.files = len(self._tails)
            with self._stats_lock:
                self._stats.add(pass_stats)
            return pass_stats

    def _pass(self, stats: ShipStats, max_batches: int | None) -> None:
        assert self._positions is not None
        if self._positions.pending:
            self._resolve_pending()
        self._discover(stats)
        batches = 0
        while max_batches is None or batches < max_batches:
            if not self._push_batch(stats):
                break
            batches += 1
        self._retire_drained()

    # -- files -------------------------------------------------------------------------

    def _open_tail(self, state: FileState, labels: dict[str, str], real: str) -> Tail | None:
        try:
            fh = open(real, "rb")  # noqa: SIM115 - stays open while followed
        except OSError:
            return None
        if os.fstat(fh.fileno()).st_ino != state.inode:
            fh.close()  # rotated between stat and open: the next pass sees the new inode
            return None
        tail = Tail(state, labels, fh)
        self._tails[tail.key] = tail
        return tail

    def _discover(self, stats: ShipStats) -> None:
        assert self._positions is not None
        positions = self._positions
        seen: set[str] = set()
        for path in sorted(self.pods_dir.glob("*/*/*.log")):
            labels = pod_labels(path, self.node)
            if labels is None or (self.namespaces is not None and labels["namespace"] not in self.namespaces):
                continue
            key_path = str(path)
            try:
                real = os.path.realpath(path)
                st = os.stat(real)
            except OSError:
                continue
            seen.add(key_path)
            current = self._current.get(key_path)
            if current is not None and current.inode == st.st_ino:
                if st.st_size < current.state().offset:  # copytruncate: same file, shorter
                    current.restore(FileState(key_path, st.st_ino, 0, 0, current.real_dir))
                    positions.files[current.key] = current.committed
                    stats.truncations += 1
                continue
            if current is not None:
                current.draining = True  # renamed away: finish it from its open handle
                stats.rotations += 1
            saved = positions.files.get((key_path, st.st_ino))
            state = saved or FileState(key_path, st.st_ino, 0, 0, os.path.dirname(real))
            if state.offset > st.st_size:
                state = FileState(key_path, st.st_ino, 0, 0, os.path.dirname(real))
                stats.truncations += 1
            tail = self._tails.get(state.key) or self._open_tail(state, labels, real)
            if tail is not None:
                tail.draining = False
                self._current[key_path] = tail
                positions.files[tail.key] = tail.committed
        for key_path, tail in list(self._current.items()):
            if key_path not in seen:  # the pod's log is gone: read what is left, then let go
                tail.draining = True
                del self._current[key_path]
        # Saved files that are no longer at their path (rotated while the shipper was down):
        # find the renamed file by its inode beside the original and finish it.
        for key, state in list(positions.files.items()):
            if key in self._tails:
                continue
            found = self._find_rotated(state)
            if found is None:
                del positions.files[key]
                continue
            labels = pod_labels(Path(state.path), self.node)
            tail = self._open_tail(state, labels or {}, found) if labels else None
            if tail is None:
                del positions.files[key]
            else:
                tail.draining = True
                stats.rotations += 1

    @staticmethod
    def _find_rotated(state: FileState) -> str | None:
        folder = state.real_dir or os.path.dirname(state.path)
        try:
            names = os.listdir(folder)
        except OSError:
            return None
        for name in names:
            candidate = os.path.join(folder, name)
            try:
                if os.stat(candidate).st_ino == state.inode and not name.endswith(".gz"):
                    return candidate
            except OSError:
                continue
        return None

    def _retire_drained(self) -> None:
        assert self._positions is not None
        changed = False
        for key, tail in list(self._tails.items()):
            if tail.draining and tail.at_end():
                tail.close()
                del self._tails[key]
                self._positions.files.pop(key, None)
                changed = True
        if changed and not self._positions.pending:
            self._positions.save()

    # -- pushing -----------------------------------------------------------------------

    def _push_batch(self, stats: ShipStats) -> bool:
        """Read and push one batch; False when there was nothing new (or the push failed)."""
        assert self._positions is not None and self._client is not None
        positions = self._positions
        batch: list[tuple[Tail, list[Entry]]] = []
        room, size = self.batch_entries, 0
        # Rotated files first: their lines are older than the new file's.
        for tail in sorted(self._tails.values(), key=lambda t: (not t.draining, t.path)):
            if room <= 0 or size >= MAX_BATCH_BYTES:
                break
            entries, malformed = tail.read(room)
            stats.skipped_malformed += malformed
            if tail.draining and tail.exhausted():
                stats.skipped_malformed += tail.drop_partial()
            if entries:
                batch.append((tail, entries))
                room -= len(entries)
                size += sum(len(e.line) for e in entries)
            elif tail.state() != tail.committed:  # only malformed lines: move on without a push
                tail.committed = tail.state()  # (keeps a partial line being joined)
                positions.files[tail.key] = tail.committed
        if not batch:
            positions.save()
            return False
        streams: dict[tuple[tuple[str, str], ...], dict[str, Any]] = {}
        pending = []
        for tail, entries in batch:
            key = tuple(sorted(tail.labels.items()))
            stream = streams.setdefault(key, {"stream": tail.labels, "values": []})
            # stdout/stderr is structured metadata, not a label: Alloy's loki.source.kubernetes
            # (the live path) cannot tell them apart, and the label sets must be the same.
            stream["values"].extend([str(e.ts_ns), e.line, {"stream": e.stream}] for e in entries)
            last = entries[-1]
            pending.append(Pending(tail.state(), dict(tail.labels), last.ts_ns, last.line))
        positions.pending = pending
        positions.save()  # before the push: a crash from here on is resolved by asking Loki
        n = sum(len(entries) for _, entries in batch)
        url = self.settings.loki_url + "/loki/api/v1/push"
        try:
            resp = self._client.post(url, json={"streams": list(streams.values())})
        except httpx.HTTPError as exc:
            self._rewind(batch)
            raise _LokiUnavailable(f"push to {url} failed: {exc}") from None
        stats.pushes += 1
        if resp.status_code < 300:
            stats.shipped += n
        elif 400 <= resp.status_code < 500 and resp.status_code != 429:
            # Loki will refuse these lines however often they are sent: count them, move on.
            stats.rejected += n
            log.warning("Loki refused %d log lines (%s): %s", n, resp.status_code, resp.text[:300])
        else:
            self._rewind(batch)  # pending stays: the next pass asks Loki what it kept
            raise _LokiUnavailable(f"push to {url} answered {resp.status_code}: {resp.text[:200]}")
        self._commit([p.state for p in pending])
        return True

    def _rewind(self, batch: list[tuple[Tail, list[Entry]]]) -> None:
        for tail, _ in batch:
            tail.restore(tail.committed)

    def _commit(self, states: list[FileState]) -> None:
        assert self._positions is not None
        for state in states:
            tail = self._tails.get(state.key)
            if tail is not None:
                tail.committed = state
            self._positions.files[state.key] = state
        self._positions.pending = []
        self._positions.save()

    def _in_loki(self, p: Pending) -> bool:
        assert self._client is not None
        url = self.settings.loki_url + "/loki/api/v1/query_range"
        params = {
            "query": _selector(p.labels),
            "start": str(p.last_ts_ns),
            "end": str(p.last_ts_ns + 1),
            "limit": "1000",
            "direction": "forward",
        }
        try:
            resp = self._client.get(url, params=params)
        except httpx.HTTPError as exc:
            raise _LokiUnavailable(f"cannot ask Loki whether the last batch arrived: {exc}") from None
        if resp.status_code != 200:
            raise _LokiUnavailable(f"Loki query answered {resp.status_code}: {resp.text[:200]}")
        wanted = (str(p.last_ts_ns), p.last_line)
        streams = resp.json().get("data", {}).get("result", [])
        # Loki answers [ts, line] (structured metadata merged into the stream's labels) or
        # [ts, line, {metadata}] with categorize-labels; the first two say which entry it is.
        return any(tuple(v[:2]) == wanted for s in streams for v in s.get("values", []))

    def _resolve_pending(self) -> None:
        assert self._positions is not None
        pending = self._positions.pending
        landed = [self._in_loki(p) for p in pending]
        if not all(landed):
            time.sleep(self.settle_s)
            landed = [ok or self._in_loki(p) for p, ok in zip(pending, landed, strict=True)]
        for p, ok in zip(pending, landed, strict=True):
            if ok:
                tail = self._tails.get(p.state.key)
                if tail is not None:
                    tail.restore(p.state)
                self._positions.files[p.state.key] = p.state
        self._positions.pending = []
        self._positions.save()


class _LokiUnavailable(RuntimeError):
    """A push or query failed in a way worth retrying (connection, 5xx, 429)."""


def ship_once(
    pods_dir: Path | str | None = None,
    *,
    settings: Settings | None = None,
    positions: Path | str | None = None,
    node: str | None = None,
    namespaces: Collection[str] | None = None,
) -> ShipStats:
    """Ship everything new under ``pods_dir`` now, in this thread, and return the counts."""
    shipper = LogShipper(pods_dir, settings=settings, positions=positions, node=node, namespaces=namespaces)
    try:
        return shipper.ship_once()
    finally:
        shipper.close()
