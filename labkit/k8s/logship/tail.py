"""Follow one kubelet log file: read whole lines from an offset, join partial pieces.

The file stays open while it is followed, so a file renamed by rotation (or whose pod is
gone) is still read to its end before it is let go, as ``tail -F`` does.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

from labkit.k8s.logship.formats import Malformed, parse_line
from labkit.k8s.logship.positions import FileState

__all__ = ["CHUNK_BYTES", "Entry", "Tail"]

# Docker and kubelet split lines at 16 KiB, so a whole physical line always fits in a chunk;
# a "line" longer than this is not one of theirs and is skipped as malformed.
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Entry:
    ts_ns: int
    stream: str
    line: str
    end: int  # offset just after the entry's last physical line


class Tail:
    """One open log file, from a :class:`FileState`; ``state()`` is where it has read to."""

    def __init__(self, state: FileState, labels: dict[str, str], fh: BinaryIO) -> None:
        self.path = state.path
        self.inode = state.inode
        self.real_dir = state.real_dir
        self.labels = labels
        self.fh = fh
        self.draining = False  # rotated away or deleted: read to the end, then close
        self.committed = state  # what Loki is known to have
        self._pos = state.offset
        self._shipped = state.shipped
        self._partial: dict[str, tuple[int, int, list[str]]] = {}  # stream -> (ts, start, pieces)
        self._skipping = False  # inside an over-long line, until its newline

    @property
    def key(self) -> tuple[str, int]:
        return (self.path, self.inode)

    def state(self) -> FileState:
        starts = [start for _, start, _ in self._partial.values()]
        offset = min([self._pos, *starts])
        shipped = max(self._shipped, self.committed.shipped)
        return FileState(self.path, self.inode, offset, shipped, self.real_dir)

    def restore(self, state: FileState) -> None:
        """Go back (or forward) to ``state``; partial pieces are re-read from its offset."""
        self.committed = state
        self._pos = state.offset
        self._shipped = state.shipped
        self._partial.clear()
        self._skipping = False

    def size(self) -> int:
        return os.fstat(self.fh.fileno()).st_size

    def exhausted(self) -> bool:
        """Every byte up to the end of the file has been looked at (partial pieces may remain)."""
        return self._pos >= self.size()

    def at_end(self) -> bool:
        return self._pos >= self.size() and not self._partial

    def read(self, max_entries: int) -> tuple[list[Entry], int]:
        """Up to ``max_entries`` new entries, and how many malformed lines were skipped.

        Stops before an unterminated last line (the writer may be in the middle of it).
        """
        out: list[Entry] = []
        malformed = 0
        while len(out) < max_entries:
            self.fh.seek(self._pos)
            data = self.fh.read(CHUNK_BYTES)
            if not data:
                break
            start = 0
            progressed = False
            while len(out) < max_entries:
                nl = data.find(b"\n", start)
                if nl < 0:
                    break
                raw, line_end = data[start:nl], self._pos + nl + 1
                start = nl + 1
                progressed = True
                if self._skipping:
                    self._skipping = False
                    continue
                try:
                    rec = parse_line(raw)
                except Malformed:
                    malformed += 1
                    continue
                if rec.partial:
                    if rec.stream in self._partial:
                        self._partial[rec.stream][2].append(rec.text)
                    else:
                        self._partial[rec.stream] = (rec.ts_ns, line_end - len(raw) - 1, [rec.text])
                    continue
                ts, line = rec.ts_ns, rec.text
                if rec.stream in self._partial:
                    ts, _, pieces = self._partial.pop(rec.stream)
                    line = "".join(pieces) + rec.text
                if line_end <= max(self._shipped, self.committed.shipped):
                    continue  # re-read after a restart inside a partial line: Loki has it
                out.append(Entry(ts, rec.stream, line, line_end))
                self._shipped = line_end
            consumed = start
            if not progressed and len(data) == CHUNK_BYTES:
                # A full chunk without a newline: not a kubelet line. Skip it up to its newline.
                consumed = len(data)
                if not self._skipping:
                    malformed += 1
                self._skipping = True
            self._pos += consumed
            if consumed == 0 or (len(data) < CHUNK_BYTES and start >= len(data)):
                break
        return out, malformed

    def drop_partial(self) -> int:
        """Forget pieces of a line that will never be finished (the file was rotated away)."""
        n = len(self._partial)
        self._partial.clear()
        return n

    def close(self) -> None:
        self.fh.close()
