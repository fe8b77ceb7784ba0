"""BM25-style sparse vectors for Qdrant's sparse index with the IDF modifier.

BM25 scores a document ``d`` for query terms ``q`` as
``sum_t idf(t) * tf(t,d) * (k1 + 1) / (tf(t,d) + k1 * (1 - b + b * |d| / avgdl))``.
The term-frequency part depends on the document only, so it is computed here at
index time and stored as the sparse vector's value; the ``idf(t)`` part depends on
the whole collection, which Qdrant computes itself when the sparse vector is declared
with ``modifier=IDF``. A query vector is then 1.0 per distinct query term, and
Qdrant's dot product is exactly the BM25 score.

Terms are hashed to 31-bit ids (blake2b, stable across processes and machines, unlike
Python's ``hash``), so no vocabulary has to be stored beside the index.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["BM25Encoder", "SparseVector", "term_id", "tokenize"]

_TOKEN = re.compile(r"[a-z0-9]+(?:[_.-][a-z0-9]+)*")
# Function words carry no topic: without them, a question's sparse vector is its content words.
_STOPWORDS = frozenset(
    """a about above after again all am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has
    have having he her here hers him his how i if in into is it its itself just me more most my no
    nor not now of off on once only or other our out over own same she should so some such than
    that the their them then there these they this those through to too under until up very was we
    were what when where which while who whom why will with would you your yours""".split()  # noqa: SIM905
)


def _stem(word: str) -> str:
    # A deliberately light stemmer: plurals and the commonest verb endings. Heavier
    # stemmers conflate technical words ("logging" vs "logs" is wanted, "ruler" vs "rule" not).
    for suffix, keep in (("ies", "y"), ("sses", "ss"), ("ing", ""), ("ed", ""), ("es", "e"), ("s", "")):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3 and not word.endswith("ss"):
            return word[: -len(suffix)] + keep
    return word


def tokenize(text: str) -> list[str]:
    """Lowercased content terms: compound identifiers whole and split (``service_name`` ->
    ``service_name``, ``service``, ``name``), stop words dropped, lightly stemmed."""
    out: list[str] = []
    for match in _TOKEN.finditer(text.lower()):
        token = match.group(0)
        parts = re.split(r"[_.-]", token)
        if len(parts) > 1:
            out.append(token)
        for part in parts:
            if part and part not in _STOPWORDS and not (len(part) == 1 and part.isalpha()):
                out.append(_stem(part))
    return out


def term_id(term: str) -> int:
    return int.from_bytes(hashlib.blake2b(term.encode(), digest_size=4).digest(), "big") & 0x7FFFFFFF


@dataclass(frozen=True)
class SparseVector:
    indices: list[int]
    values: list[float]


@dataclass
class BM25Encoder:
    k1: float = 1.2
    b: float = 0.75
    avgdl: float = 100.0  # average document length in terms; fit() sets it from the corpus

    def fit(self, texts: Iterable[str]) -> BM25Encoder:
        lengths = [len(tokenize(t)) for t in texts]
        self.avgdl = (sum(lengths) / len(lengths)) if lengths and sum(lengths) else 1.0
        return self

    def encode_document(self, text: str) -> SparseVector:
        terms = tokenize(text)
        counts = Counter(term_id(t) for t in terms)
        norm = self.k1 * (1 - self.b + self.b * len(terms) / self.avgdl)
        indices = sorted(counts)
        values = [counts[i] * (self.k1 + 1) / (counts[i] + norm) for i in indices]
        return SparseVector(indices, values)

    def encode_documents(self, texts: Sequence[str]) -> list[SparseVector]:
        return [self.encode_document(t) for t in texts]

    @staticmethod
    def encode_query(text: str) -> SparseVector:
        indices = sorted({term_id(t) for t in tokenize(text)})
        return SparseVector(indices, [1.0] * len(indices))
