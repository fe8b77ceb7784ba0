"""Split documents into chunks by headings, then by size with overlap.

A chunk never crosses a heading: the section a sentence sits under is part of its
meaning (and a payload filter). Sections longer than ``max_chars`` are cut at
paragraph, then sentence, then word boundaries into windows that overlap by about
``overlap_chars``, so a fact that straddles a cut is whole in at least one chunk.
Each chunk's text starts with its document title and heading path: a bare paragraph
("Run it with -p") is far easier to find when it carries "Notebook conventions >
Parameters".

Chunk ids are UUIDs derived from the document path, the heading path and the chunk's
own text (plus an occurrence number for repeated text). Re-indexing unchanged text
therefore keeps every id, and an edit changes only the ids of the chunks it touched:
judgements and citations that name chunk ids stay valid across rebuilds.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field

from labkit.rag.loaders import Document

__all__ = ["Chunk", "ChunkingConfig", "chunk_document", "chunk_id"]

_NAMESPACE = uuid.UUID("6f0c7d4e-2b1a-4f7e-9a51-3c2d8e0b7a11")  # labkit.rag chunk ids
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_FENCE = re.compile(r"^\s*(```|~~~)")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*_(\[\"'])")


@dataclass(frozen=True)
class ChunkingConfig:
    max_chars: int = 1200
    overlap_chars: int = 200
    min_chars: int = 40  # smaller sections are merged into the next one of the same heading path

    def __post_init__(self) -> None:
        if self.max_chars < 100:
            raise ValueError(f"max_chars must be >= 100, got {self.max_chars}")
        if not 0 <= self.overlap_chars < self.max_chars // 2:
            raise ValueError(
                f"overlap_chars must be >= 0 and < max_chars/2 ({self.max_chars // 2}), "
                f"got {self.overlap_chars}"
            )
        if self.min_chars < 0:
            raise ValueError(f"min_chars must be >= 0, got {self.min_chars}")


@dataclass(frozen=True)
class Chunk:
    id: str  # UUID string
    source: str  # document path, relative to the corpus
    section: str  # heading path "Title > Sub > Subsub" ('' before the first heading)
    text: str  # what was embedded: context line + body
    body: str  # the chunk's own text, as in the document
    index: int  # position inside the document
    kind: str = "text"
    tags: tuple[str, ...] = field(default=())

    def payload(self) -> dict[str, object]:
        return {
            "source": self.source,
            "section": self.section,
            "text": self.text,
            "body": self.body,
            "index": self.index,
            "kind": self.kind,
            "tags": list(self.tags),
        }


def chunk_id(source: str, section: str, body: str, occurrence: int = 0) -> str:
    key = f"{source}\x00{section}\x00{' '.join(body.split())}\x00{occurrence}"
    return str(uuid.uuid5(_NAMESPACE, key))


def _sections(text: str) -> list[tuple[list[str], str]]:
    """(heading path, body) pairs in document order; headings inside code fences are code."""
    out: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    in_fence = False

    def flush() -> None:
        body = "\n".join(lines).strip()
        if body:
            out.append(([title for _, title in path], body))
        lines.clear()

    for line in text.split("\n"):
        if _FENCE.match(line):
            in_fence = not in_fence
        match = None if in_fence else _HEADING.match(line)
        if match:
            flush()
            level, title = len(match.group(1)), match.group(2).strip()
            path = [(lvl, t) for lvl, t in path if lvl < level] + [(level, title)]
            continue
        lines.append(line)
    flush()
    return out


def _pieces(body: str, limit: int) -> list[str]:
    """Split ``body`` into pieces of at most ``limit`` chars at the coarsest boundary possible."""
    if len(body) <= limit:
        return [body]
    for splitter in (re.compile(r"\n\s*\n"), _SENTENCE_END, re.compile(r"\s+")):
        parts = [p.strip() for p in splitter.split(body) if p.strip()]
        if len(parts) > 1:
            out: list[str] = []
            for part in parts:
                out.extend(_pieces(part, limit))
            return out
    return [body[i : i + limit] for i in range(0, len(body), limit)]  # one unbroken token


def _windows(body: str, config: ChunkingConfig) -> list[str]:
    """Greedy windows of whole pieces up to max_chars, each starting with ~overlap of the last."""
    pieces = _pieces(body, config.max_chars)
    windows: list[str] = []
    current: list[str] = []
    size = 0
    for piece in pieces:
        if current and size + len(piece) + 1 > config.max_chars:
            windows.append(" ".join(current) if _inline(current) else "\n\n".join(current))
            # Carry whole trailing pieces worth up to overlap_chars into the next window.
            carry: list[str] = []
            carried = 0
            for prev in reversed(current):
                if carried + len(prev) > config.overlap_chars:
                    break
                carry.insert(0, prev)
                carried += len(prev) + 1
            current, size = carry, carried
        current.append(piece)
        size += len(piece) + 1
    if current:
        windows.append(" ".join(current) if _inline(current) else "\n\n".join(current))
    return windows


def _inline(pieces: list[str]) -> bool:
    return all("\n" not in p for p in pieces) and len(pieces) > 1 and not pieces[0].startswith("```")


def chunk_document(document: Document, config: ChunkingConfig | None = None) -> list[Chunk]:
    """The chunks of one document, in order, with stable ids."""
    config = config or ChunkingConfig()
    title = document.path.rsplit("/", 1)[-1]
    merged: list[tuple[str, str]] = []
    for path, body in _sections(document.text):
        section = " > ".join(path)
        if merged and merged[-1][0] == section and len(merged[-1][1]) < config.min_chars:
            merged[-1] = (section, merged[-1][1] + "\n\n" + body)
        else:
            merged.append((section, body))
    chunks: list[Chunk] = []
    seen: dict[str, int] = {}
    for section, body in merged:
        for window in _windows(body, config):
            base = chunk_id(document.path, section, window)
            occurrence = seen.get(base, 0)
            seen[base] = occurrence + 1
            context = f"{title} | {section}" if section else title
            chunks.append(
                Chunk(
                    id=chunk_id(document.path, section, window, occurrence),
                    source=document.path,
                    section=section,
                    text=f"{context}\n{window}",
                    body=window,
                    index=len(chunks),
                    kind=document.kind,
                    tags=document.tags,
                )
            )
    return chunks
