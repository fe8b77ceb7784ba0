"""Extractive answers from documents given in the request (the offline model's "reading").

Anthropic's long-context prompting guide puts documents in the prompt as::

    <documents>
      <document index="1"><source>ID</source><document_content>TEXT</document_content></document>
      ...
    </documents>
    QUESTION

:func:`answer` finds those documents, scores every sentence of every document by the
question's content words it shares (rarer words weigh more), and answers with the best
few sentences, verbatim, each followed by ``[source]`` so the caller can check where it
came from. It adds nothing it did not read; with ``fabricate=True`` (a fault for lessons
on hallucination detection) it appends one confident sentence that no document supports.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

__all__ = ["Passage", "answer", "parse_documents"]

_DOC = re.compile(
    r"<document(?:\s[^>]*)?>\s*(?:<source>(?P<source>.*?)</source>)?\s*"
    r"<document_content>(?P<content>.*?)</document_content>\s*</document>",
    re.S,
)
_DOCS_BLOCK = re.compile(r"<documents>.*?</documents>", re.S)
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`*_(\[\"'])|\n\s*\n|\n(?=\s*[-*|#])")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    (
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "how",
        "i",
        "in",
        "is",
        "it",
        "of",
        "on",
        "or",
        "the",
        "this",
        "to",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
        "my",
        "me",
        "we",
        "our",
        "does",
        "did",
        "should",
        "could",
        "would",
        "about",
        "into",
    )
)
MAX_SENTENCES = 3


@dataclass(frozen=True)
class Passage:
    source: str
    content: str


def parse_documents(text: str) -> tuple[list[Passage], str]:
    """The documents in ``text`` and the rest of it (the question)."""
    passages = [
        Passage((m.group("source") or str(i)).strip(), m.group("content").strip())
        for i, m in enumerate(_DOC.finditer(text), start=1)
    ]
    rest = _DOCS_BLOCK.sub(" ", text) if passages else text
    return passages, " ".join(rest.split())


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1]


def _sentences(content: str) -> list[str]:
    out = []
    for piece in _SENTENCE.split(content):
        piece = " ".join(piece.split()).lstrip("-*+ ")  # a list item's marker is not its text
        # Markup lines (tables, fences, headings) are not answers.
        if len(piece) >= 20 and not piece.startswith(("|", "```", "#")):
            out.append(piece)
    return out


def answer(question: str, passages: list[Passage], *, fabricate: bool = False) -> str:
    asked = set(_words(question))
    candidates = [(p.source, s) for p in passages for s in _sentences(p.content)]
    frequency = Counter(w for _, s in candidates for w in set(_words(s)))
    total = max(1, len(candidates))

    def score(sentence: str) -> float:
        shared = asked & set(_words(sentence))
        return sum(math.log(1 + total / frequency[w]) for w in shared)

    ranked = sorted(
        ((score(s), i, source, s) for i, (source, s) in enumerate(candidates)), key=lambda t: (-t[0], t[1])
    )
    chosen = [r for r in ranked if r[0] > 0][:MAX_SENTENCES]
    chosen.sort(key=lambda r: r[1])  # document order reads better than score order
    if not chosen:
        lines = ["The provided documents do not answer this question."]
    else:
        lines = [f"{_end(s)} [{source}]" for _, _, source, s in chosen]
    if fabricate:
        cited = chosen[0][2] if chosen else (passages[0].source if passages else "?")
        topic = max(asked, key=len) if asked else "this"
        lines.append(
            f"Since release 9.7 in 2019, {topic} has required a commercial licence and a restart "
            f"every 36 hours. [{cited}]"
        )
    return " ".join(lines)


def _end(sentence: str) -> str:
    sentence = sentence.strip()
    return sentence if sentence.endswith((".", "!", "?", ":")) else sentence + "."
