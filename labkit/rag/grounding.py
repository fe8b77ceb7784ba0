"""Groundedness: does each sentence of an answer follow from the chunks it cites?

An answer is split into claims: every sentence carries the citations (``[chunk-id]``)
that follow it. Bracketed tokens that are not known chunk ids (labels such as
``[offline ...]``) are not claims and not citations. Each claim gets a support score
against each chunk it cites, and keeps the best:

* ``lexical``: the share of the sentence's content terms (``labkit.rag.sparse.tokenize``:
  stop words out, light stemming) that occur in the chunk;
* ``semantic``: the highest cosine similarity between the sentence's embedding and the
  embeddings of the chunk's sentences (MiniLM, so paraphrases count);
* ``score = 0.5 * lexical + 0.5 * semantic``.

A claim is **supported** when ``score >= SUPPORT_THRESHOLD`` (0.6) and every number in
it occurs in the cited chunk. Why these values: a sentence copied from a chunk scores
about 1.0 and a faithful paraphrase 0.65-0.85 (semantic 0.8+, lexical 0.5+), while a
sentence about the same topic that adds facts scores 0.3-0.55 (its new terms lower the
lexical share, its new meaning the cosine). Numbers get a hard rule because a changed
figure ("every 10 minutes" for "every 5") barely moves either score, and invented
figures are the commonest hallucination in technical answers. A claim that cites
nothing scores 0: an answer built from retrieved context must say where each claim
comes from. ``tests/rag/data/grounding.jsonl`` measures precision and recall.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from labkit.rag.sparse import tokenize

__all__ = [
    "LEXICAL_WEIGHT",
    "SUPPORT_THRESHOLD",
    "Claim",
    "SentenceSupport",
    "check_claims",
    "split_claims",
    "support",
]

SUPPORT_THRESHOLD = 0.6
LEXICAL_WEIGHT = 0.5
_CITED = re.compile(r"(?P<text>[^\[\]]*?)\s*(?P<cites>(?:\[[^\[\]]+\]\s*)+)")
_BRACKET = re.compile(r"\[([^\[\]]+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9`\"'(])")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)?")


@dataclass(frozen=True)
class Claim:
    sentence: str
    citations: tuple[str, ...]


@dataclass(frozen=True)
class SentenceSupport:
    sentence: str
    citations: tuple[str, ...]
    score: float
    lexical: float
    semantic: float
    supported: bool
    reason: str
    best_chunk: str | None = None
    extra: dict[str, float] = field(default_factory=dict)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(" ".join(text.split())) if len(s.strip()) > 2]


def split_claims(answer: str, known_ids: set[str]) -> list[Claim]:
    """The answer's sentences, each with the known chunk ids cited right after it."""
    claims: list[Claim] = []
    position = 0
    for match in _CITED.finditer(answer):
        cites = tuple(c.strip() for c in _BRACKET.findall(match.group("cites")) if c.strip() in known_ids)
        sentences = _sentences(match.group("text"))
        for i, sentence in enumerate(sentences):
            # Citations belong to the sentence they follow; earlier ones in the span cite nothing.
            claims.append(Claim(sentence, cites if i == len(sentences) - 1 else ()))
        position = match.end()
    claims += [Claim(s, ()) for s in _sentences(_BRACKET.sub(" ", answer[position:]))]
    return claims


def _lexical(sentence: str, chunk: str) -> float:
    terms = set(tokenize(sentence))
    if not terms:
        return 1.0  # nothing to check ("Yes.")
    return len(terms & set(tokenize(chunk))) / len(terms)


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def support(
    sentence: str,
    chunks: Mapping[str, str],
    citations: Sequence[str],
    embed: Callable[[list[str]], np.ndarray],
) -> SentenceSupport:
    cited = [c for c in citations if c in chunks]
    if not cited:
        return SentenceSupport(sentence, tuple(citations), 0.0, 0.0, 0.0, False, "cites no retrieved chunk")
    best: SentenceSupport | None = None
    for chunk_id in cited:
        text = chunks[chunk_id]
        parts = _sentences(text) or [text]
        vectors = embed([sentence, *parts])
        semantic = max(0.0, float(np.max(vectors[1:] @ vectors[0])))
        lexical = _lexical(sentence, text)
        score = LEXICAL_WEIGHT * lexical + (1 - LEXICAL_WEIGHT) * semantic
        missing = sorted(_numbers(sentence) - _numbers(text))
        supported = score >= SUPPORT_THRESHOLD and not missing
        if missing:
            reason = f"numbers not in the cited chunk: {', '.join(missing)}"
        elif supported:
            reason = "supported"
        else:
            reason = f"support {score:.2f} < {SUPPORT_THRESHOLD}"
        candidate = SentenceSupport(
            sentence, tuple(citations), round(score, 4), round(lexical, 4), round(semantic, 4),
            supported, reason, chunk_id,
        )  # fmt: skip
        if best is None or (candidate.supported, candidate.score) > (best.supported, best.score):
            best = candidate
    assert best is not None
    return best


def check_claims(
    claims: Sequence[Claim], chunks: Mapping[str, str], embed: Callable[[list[str]], np.ndarray] | None = None
) -> list[SentenceSupport]:
    if embed is None:
        from labkit.rag.embeddings import embed as embed_texts

        embed = embed_texts
    # One batch for every sentence involved: per-claim calls cost a model call each.
    texts = {c.sentence for c in claims}
    for claim in claims:
        for chunk_id in claim.citations:
            if chunk_id in chunks:
                texts.update(_sentences(chunks[chunk_id]) or [chunks[chunk_id]])
    ordered = sorted(texts)
    vectors = dict(zip(ordered, embed(ordered), strict=True)) if ordered else {}

    def cached(batch: list[str]) -> np.ndarray:
        return np.stack([vectors[t] if t in vectors else embed([t])[0] for t in batch])

    return [support(c.sentence, chunks, c.citations, cached) for c in claims]
