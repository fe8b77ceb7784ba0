"""Loaders skip bad files with reasons; chunks follow headings, respect size, keep stable ids."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from labkit.rag.chunking import ChunkingConfig, chunk_document
from labkit.rag.loaders import MAX_FILE_BYTES, Document, load_corpus

from .conftest import write_corpus


def test_bad_files_are_skipped_with_a_reason_and_the_rest_loads(tmp_path: Path) -> None:
    root = write_corpus(
        tmp_path,
        {
            "good.md": "# Title\n\nSome real text about Loki.\n",
            "empty.md": "   \n",
            "binary.txt": b"\x00\x01\x02binary",
            "latin1.txt": "caf\xe9".encode("latin-1"),
            "broken.ipynb": "{not json",
            "huge.txt": "x" * (MAX_FILE_BYTES + 1),
            "image.png": b"\x89PNG",
        },
    )
    report = load_corpus(root)
    assert [d.path for d in report.documents] == ["good.md"]
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons["empty.md"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "line 1" in reasons["broken.ipynb"]
    assert "too large" in reasons["huge.txt"]
    assert "unsupported file type .png" in reasons["image.png"]


def test_notebooks_keep_markdown_and_fenced_code(corpus: Path) -> None:
    doc = next(d for d in load_corpus(corpus).documents if d.path == "lab.ipynb")
    chunks = chunk_document(doc)
    assert doc.kind == "notebook"
    assert any("TraceQL" in c.body for c in chunks)
    # The code cell's '# not a heading' stays code: no section is named after it.
    assert {c.section for c in chunks} == {"Traces lab"}
    assert any("print(1)" in c.body for c in chunks)


def test_chunks_follow_headings_and_carry_their_path(corpus: Path) -> None:
    doc = next(d for d in load_corpus(corpus).documents if d.path == "guide/setup.md")
    chunks = chunk_document(doc)
    assert [c.section for c in chunks] == ["Setup", "Setup > Ports"]
    assert chunks[1].text.startswith("setup.md | Setup > Ports\n")
    assert chunks[1].tags == ("guide",)


def test_long_sections_are_windowed_with_overlap_and_size_limit() -> None:
    sentences = [f"Sentence {i} talks about topic number {i} in some detail." for i in range(60)]
    doc = Document("long.md", "markdown", "# Long\n\n" + " ".join(sentences))
    config = ChunkingConfig(max_chars=400, overlap_chars=100)
    chunks = chunk_document(doc, config)
    assert len(chunks) > 5
    assert all(len(c.body) <= config.max_chars for c in chunks)
    for first, second in itertools.pairwise(chunks):
        # The next window starts with the tail of the previous one.
        assert second.body.split(". ")[0] in first.body
    covered = " ".join(c.body for c in chunks)
    assert all(s in covered for s in sentences)


def test_ids_are_stable_and_change_only_where_the_text_changed() -> None:
    text = "# A\n\nFirst section text that is long enough.\n\n# B\n\nSecond section text, also long enough."
    before = chunk_document(Document("d.md", "markdown", text))
    again = chunk_document(Document("d.md", "markdown", text))
    edited = chunk_document(Document("d.md", "markdown", text.replace("Second", "Edited second")))
    assert [c.id for c in before] == [c.id for c in again]
    assert before[0].id == edited[0].id and before[1].id != edited[1].id
    assert len({c.id for c in before}) == len(before)


def test_repeated_text_gets_distinct_ids() -> None:
    text = "# A\n\nThe same paragraph repeated here.\n\n# A\n\nThe same paragraph repeated here."
    chunks = chunk_document(Document("d.md", "markdown", text), ChunkingConfig(min_chars=0))
    assert len(chunks) == 2 and chunks[0].id != chunks[1].id


def test_bad_chunking_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_chars"):
        ChunkingConfig(max_chars=10)
    with pytest.raises(ValueError, match="overlap_chars"):
        ChunkingConfig(max_chars=400, overlap_chars=300)


def test_missing_corpus_folder_names_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        load_corpus(tmp_path / "nope")
