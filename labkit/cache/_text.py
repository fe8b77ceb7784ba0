"""Normalisation of a request's text and the verification of a near match.

The embedding says two questions *look* alike; it is blind to the details that change
an answer: "convert 5 km" and "convert 50 km" embed at about 0.85 cosine. So a
candidate above the similarity threshold is served only when the facts the
embedding ignores agree:

* numbers (digits and simple number words, "five" = "5"), as a multiset;
* named entities: capitalised words other than common English ones ("What", "Tell"),
  ALL-CAPS words, quoted strings, identifiers with digits, dots, slashes, dashes or
  underscores. Each side's entities
  must appear in the other side's text, so "capital of France" still matches
  "france capital?" but not "capital of germany";
* negation: both sides negate, or neither does;
* time words (today, tomorrow, monday, ...), which change an answer like a number does.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

__all__ = ["Features", "features", "normalise", "text_hash", "verify"]

_CONTRACTIONS = (
    (re.compile(r"\bcan't\b|\bcannot\b"), "can not"),
    (re.compile(r"\bwon't\b"), "will not"),
    (re.compile(r"\bshan't\b"), "shall not"),
    (re.compile(r"n't\b"), " not"),
)
_SPACE = re.compile(r"\s+")
_EDGE_PUNCT = re.compile(r"^[\s\"'`.,;:!?¿¡-]+|[\s\"'`.,;:!?-]+$")
_WORD = re.compile(r"[a-z0-9][a-z0-9_./+#-]*[a-z0-9+#]|[a-z0-9]")
_NUMBER = re.compile(r"(?<![a-z])\d+(?:[.,]\d+)*(?![a-z0-9])")
_QUOTED = re.compile(r"[\"“”'‘’`]([^\"“”'‘’`]{2,60})[\"“”'‘’`]")
_RAW_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9_./+#-]*[A-Za-z0-9+#]|[A-Za-z0-9]")

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"thirty": "30", "forty": "40", "fifty": "50", "hundred": "100", "thousand": "1000", "million": "1000000"}
_NEGATIONS = frozenset(
    [
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "neither",
        "nor",
        "without",
        "except",
        "excluding",
        "exclude",
        "lacking",
    ]
)
_TIME_WORDS = frozenset(
    [
        "today",
        "tomorrow",
        "yesterday",
        "tonight",
        "now",
        "weekend",
        "week",
        "month",
        "year",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "morning",
        "evening",
        "night",
        "last",
        "next",
    ]
)
# Capitalised for grammar (a sentence's first word, after "hey,"), not because they name something.
_NOT_ENTITIES = frozenset(
    [
        "i",
        "i'm",
        "i've",
        "i'd",
        "i'll",
        "ok",
        "okay",
        "a",
        "an",
        "the",
        "what",
        "what's",
        "whats",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "when",
        "where",
        "how",
        "is",
        "are",
        "was",
        "were",
        "be",
        "do",
        "does",
        "did",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "have",
        "has",
        "had",
        "tell",
        "show",
        "list",
        "name",
        "give",
        "define",
        "explain",
        "describe",
        "convert",
        "compute",
        "calculate",
        "add",
        "translate",
        "find",
        "get",
        "make",
        "write",
        "help",
        "please",
        "hey",
        "hi",
        "hello",
        "so",
        "quick",
        "question",
        "thanks",
        "thank",
        "you",
        "yes",
        "no",
        "in",
        "on",
        "at",
        "for",
        "of",
        "to",
        "from",
        "with",
        "by",
        "about",
        "into",
        "and",
        "or",
        "but",
        "if",
        "then",
        "also",
        "just",
        "now",
        "me",
        "my",
        "we",
        "our",
        "your",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "here",
        "some",
        "any",
        "all",
        "many",
        "much",
        "more",
        "most",
        "few",
        "other",
        "another",
        "each",
        "every",
        "one",
        "let",
        "lets",
        "let's",
        "i'd",
        "like",
        "need",
        "want",
        "know",
        "looking",
        "hi!",
        "need",
    ]
)


def normalise(text: str) -> str:
    """Lower case, NFKC, contractions expanded, whitespace collapsed, edge punctuation dropped."""
    text = unicodedata.normalize("NFKC", text).replace("’", "'").lower()
    for pattern, replacement in _CONTRACTIONS:
        text = pattern.sub(replacement, text)
    return _EDGE_PUNCT.sub("", _SPACE.sub(" ", text)).strip()


def text_hash(*parts: str) -> str:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Features:
    """What verification compares; stored with each cache entry."""

    tokens: frozenset[str]
    numbers: tuple[str, ...]
    entities: frozenset[str]
    negated: bool
    times: frozenset[str]

    def as_payload(self) -> dict[str, object]:
        return {
            "tokens": sorted(self.tokens),
            "numbers": list(self.numbers),
            "entities": sorted(self.entities),
            "negated": self.negated,
            "times": sorted(self.times),
        }

    @classmethod
    def from_payload(cls, data: dict[str, object]) -> Features:
        return cls(
            frozenset(data["tokens"]),  # type: ignore[call-overload]
            tuple(data["numbers"]),  # type: ignore[arg-type]
            frozenset(data["entities"]),  # type: ignore[call-overload]
            bool(data["negated"]),
            frozenset(data["times"]),  # type: ignore[call-overload]
        )


def _entities(raw: str) -> set[str]:
    found = {normalise(q) for q in _QUOTED.findall(raw)}
    for match in _RAW_WORD.finditer(raw):
        word = match.group(0)
        lower = word.lower()
        if lower in _NOT_ENTITIES or lower in _NUMBER_WORDS or _NUMBER.fullmatch(lower):
            continue
        if (
            (len(word) > 1 and word.isupper())
            or (len(word) > 1 and word[0].isupper())
            or any(c in word for c in "_/.-")
            or (any(c.isdigit() for c in word) and any(c.isalpha() for c in word))
        ):
            found.add(lower)
    return {e for e in found if e}


def features(raw: str) -> Features:
    """Features of a raw (not yet normalised) request text."""
    norm = normalise(raw)
    tokens = _WORD.findall(norm)
    numbers = [_NUMBER_WORDS.get(t, t) for t in tokens if t in _NUMBER_WORDS]
    numbers += [n.replace(",", "") for n in _NUMBER.findall(norm)]
    token_set = frozenset(tokens)
    return Features(
        tokens=token_set,
        numbers=tuple(sorted(numbers)),
        entities=frozenset(_entities(raw)),
        negated=any(t in _NEGATIONS for t in tokens),
        times=frozenset(t for t in tokens if t in _TIME_WORDS),
    )


def _covered(entities: frozenset[str], other: Features) -> bool:
    joined = " " + " ".join(sorted(other.tokens)) + " "
    for entity in entities:
        if entity in other.tokens or entity in other.entities:
            continue
        # a multi-word entity (a quoted phrase) must appear word for word
        if " " in entity and all(part in other.tokens for part in entity.split()):
            continue
        if f" {entity} " in joined:
            continue
        return False
    return True


def verify(query: Features, candidate: Features) -> str | None:
    """None when the candidate may answer the query, else the reason it may not."""
    if query.numbers != candidate.numbers:
        return "numbers differ"
    if query.negated != candidate.negated:
        return "negation differs"
    if query.times != candidate.times:
        return "time words differ"
    if not _covered(query.entities, candidate) or not _covered(candidate.entities, query):
        return "named entities differ"
    return None
