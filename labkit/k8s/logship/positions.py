"""The shipper's positions file: where each log file was read to, and the batch in flight.

A file is identified by its path *and* inode (kubelet and Docker rotate by renaming, so a
path's inode changes; ``copytruncate`` keeps the inode and shrinks the file). For each one:

- ``offset``: where reading resumes (the start of a partial line still being joined);
- ``shipped``: the end offset of the last entry Loki has, so re-reading from ``offset`` skips
  entries already shipped even when a partial line made ``offset`` lag behind.

``pending`` is the batch being pushed: written *before* the push, cleared after. A shipper that
restarts with a pending batch asks Loki whether the batch's last entries arrived (a push is
stored all-or-nothing), and only then moves the offsets on: no line lost, none shipped twice.
The file is replaced atomically (write, fsync, rename), so a SIGKILL leaves the old or the new.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FileState", "Pending", "Positions", "PositionsError"]

VERSION = 1


class PositionsError(ValueError):
    """The positions file exists but cannot be used; the message names it and what is wrong."""


@dataclass(frozen=True)
class FileState:
    path: str  # the kubelet path (/var/log/pods/<ns>_<pod>_<uid>/<container>/<n>.log)
    inode: int
    offset: int
    shipped: int
    real_dir: str = ""  # where the file really lives (Docker's symlink target), to find it rotated

    @property
    def key(self) -> tuple[str, int]:
        return (self.path, self.inode)


@dataclass(frozen=True)
class Pending:
    """A file's state once the batch lands, and the batch's last entry of it, to look for in Loki."""

    state: FileState
    labels: dict[str, str]
    last_ts_ns: int
    last_line: str


@dataclass
class Positions:
    path: Path
    files: dict[tuple[str, int], FileState] = field(default_factory=dict)
    pending: list[Pending] = field(default_factory=list)
    _saved: bytes = field(default=b"", repr=False, compare=False)

    @classmethod
    def load(cls, path: Path) -> Positions:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(path)
        except OSError as exc:
            raise PositionsError(f"cannot read the positions file {path}: {exc}") from None
        try:
            doc = json.loads(text)
            if doc.get("version") != VERSION:
                raise ValueError(f"version {doc.get('version')!r}, expected {VERSION}")
            files = [FileState(**item) for item in doc["files"]]
            pending = [
                Pending(FileState(**p["state"]), dict(p["labels"]), int(p["ts_ns"]), str(p["line"]))
                for p in doc.get("pending", [])
            ]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise PositionsError(
                f"the positions file {path} is not valid ({exc}); move it away to re-read every log "
                "from the start (lines already in Loki would then be sent again)"
            ) from None
        return cls(path, {f.key: f for f in files}, pending)

    def to_json(self) -> dict[str, Any]:
        return {
            "version": VERSION,
            "files": [asdict(f) for f in sorted(self.files.values(), key=lambda f: f.key)],
            "pending": [
                {"state": asdict(p.state), "labels": p.labels, "ts_ns": p.last_ts_ns, "line": p.last_line}
                for p in self.pending
            ],
        }

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(self.path.name + ".tmp")
        data = json.dumps(self.to_json(), separators=(",", ":")).encode("utf-8")
        if data == self._saved:
            return  # an idle pass writes nothing
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.path)
        self._saved = data
