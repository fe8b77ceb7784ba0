"""The ingest log: acknowledged batches on disk before they reach DuckDB.

A receiver acknowledges a batch once its rows (the Arrow tables the store functions
built) are one record in this log, written with ``write()``. DuckDB then gets many
batches in one INSERT per table from a background writer: its cost per statement and
per commit is paid once per flush instead of once per batch.

Record: ``magic, seq, payload length, crc32`` (little-endian) then the payload, a
count and per table its name and an Arrow IPC stream. A record is the whole batch, so
a batch is stored all or nothing: recovery replays the records newer than the last
flushed one and stops at the first record whose length or checksum does not match (a
write torn by a kill, never acknowledged).

Files are ``<db file>.ingest.<generation>``. A flush starts a new generation, and the
older files are deleted once DuckDB has committed their rows together with the highest
flushed ``seq`` (kept in ``_labkit_ingest``), so a crash between the commit and the
deletion replays nothing twice.

Durability: ``write()`` hands the record to the kernel, which keeps it when the
process is killed (SIGKILL, OOM). No fsync per batch: on power loss the batches
acknowledged since the last flush (at most :data:`FLUSH_INTERVAL_S`) can be lost;
flushed batches are in DuckDB's own synced write-ahead log.
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FLUSH_INTERVAL_S", "IngestLog", "decode_record", "encode_record"]

FLUSH_INTERVAL_S = 0.25
_MAGIC = b"LKI1"
_HEADER = struct.Struct("<4sQQI")  # magic, seq, payload length, crc32 of the payload
_NAME = struct.Struct("<H")
_SIZE = struct.Struct("<Q")

Tables = list[tuple[str, "pa.Table"]]


def encode_record(tables: Tables) -> bytes:
    import pyarrow as pa

    parts = [_SIZE.pack(len(tables))]
    for name, table in tables:
        sink = pa.BufferOutputStream()
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        data = sink.getvalue()
        raw = name.encode()
        parts += [_NAME.pack(len(raw)), raw, _SIZE.pack(data.size), data.to_pybytes()]
    return b"".join(parts)


def decode_record(payload: bytes) -> Tables:
    import pyarrow as pa

    (count,), pos = _SIZE.unpack_from(payload, 0), _SIZE.size
    out: Tables = []
    for _ in range(count):
        (n,) = _NAME.unpack_from(payload, pos)
        pos += _NAME.size
        name = payload[pos : pos + n].decode()
        pos += n
        (size,) = _SIZE.unpack_from(payload, pos)
        pos += _SIZE.size
        out.append((name, pa.ipc.open_stream(pa.py_buffer(payload[pos : pos + size])).read_all()))
        pos += size
    return out


class IngestLog:
    """Append-only record files beside the DuckDB file ``db_path``."""

    def __init__(self, db_path: Path) -> None:
        self.prefix = db_path.name + ".ingest."
        self.dir = db_path.parent
        gens = [g for g, _ in self.files()]
        self.generation = max(gens, default=0) + 1
        self._fd = self._open(self.generation)

    def files(self) -> list[tuple[int, Path]]:
        out = []
        for path in self.dir.glob(self.prefix + "*"):
            suffix = path.name[len(self.prefix) :]
            if suffix.isdigit():
                out.append((int(suffix), path))
        return sorted(out)

    def _open(self, generation: int) -> int:
        path = self.dir / f"{self.prefix}{generation}"
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    def append(self, seq: int, payload: bytes) -> None:
        data = memoryview(_HEADER.pack(_MAGIC, seq, len(payload), zlib.crc32(payload)) + payload)
        while data:  # write() may be partial for large records
            data = data[os.write(self._fd, data) :]

    def rotate(self) -> int:
        """Start a new file; returns the generation whose records are all written."""
        old = self.generation
        self.generation += 1
        fd, self._fd = self._fd, self._open(self.generation)
        os.close(fd)
        return old

    def remove_upto(self, generation: int) -> None:
        for gen, path in self.files():
            if gen <= generation:
                path.unlink(missing_ok=True)

    def records(self) -> Iterator[tuple[int, bytes]]:
        """(seq, payload) of every intact record, oldest first; a torn tail is skipped."""
        for gen, path in self.files():
            if gen >= self.generation:
                continue
            data = path.read_bytes()
            pos = 0
            while pos + _HEADER.size <= len(data):
                magic, seq, size, crc = _HEADER.unpack_from(data, pos)
                start = pos + _HEADER.size
                payload = data[start : start + size]
                if magic != _MAGIC or len(payload) != size or zlib.crc32(payload) != crc:
                    break  # torn by a kill mid-write: that batch was never acknowledged
                yield seq, payload
                pos = start + size

    def close(self) -> None:
        os.close(self._fd)
