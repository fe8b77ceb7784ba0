"""Rubric analysis of a prompt: measurable features -> 0-10 scores per dimension.

This is the offline model's "reasoning" for prompt reviews. Each dimension is scored
from features a human reviewer also looks for, so the numbers can be explained:

| dimension | raises the score | lowers it |
|---|---|---|
| clarity | an explicit task verb, readable sentences | vague words, very long sentences, many questions |
| specificity | numbers, named entities, concrete nouns, enough words | vague words, very short prompts |
| context | a role ("you are ..."), audience, purpose, background | none of them |
| output_format | a requested format (JSON, table, bullets, sections ...) | no format |
| examples | an example, "e.g.", input/output pairs, quoted samples | none |
| constraints | limits (numbers with units), must / must not / only / avoid | none |

Issues quote the prompt verbatim (a vague word, the whole prompt when something is
missing) so that a reader, or a validator, can find each quote in the prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from labkit.llm.tokenizer import count_tokens

__all__ = ["DIMENSIONS", "Features", "Issue", "RubricResult", "analyse", "extract_features"]

DIMENSIONS = ("clarity", "specificity", "context", "output_format", "examples", "constraints")

_VAGUE = (
    "something",
    "stuff",
    "things",
    "thing",
    "whatever",
    "somehow",
    "some",
    "nice",
    "good",
    "better",
    "interesting",
    "cool",
    "etc",
    "maybe",
    "kind of",
    "sort of",
    "a bit",
    "anything",
    "various",
    "properly",
    "appropriate",
    "as needed",
)
_TASK_VERBS = (
    "write|summari[sz]e|list|explain|classify|translate|generate|review|compare|extract|draft|create|"
    "describe|analy[sz]e|rewrite|convert|answer|identify|propose|design|outline|evaluate|rank|"
    "suggest|calculate|find|check|fix|refactor|implement|plan|tell|give|make|help"
)
# Verbs that name no concrete task ("help me with ...") earn less clarity than "summarise".
_WEAK_VERBS = frozenset({"help", "make", "give", "tell", "do"})
# Hedges carry no meaning: a rewrite drops them instead of asking for a specific value.
_HEDGES = frozenset({"maybe", "kind of", "sort of", "a bit", "somehow", "etc", "whatever"})
_ROLE = re.compile(r"\b(you are|act as|as an? [a-z]+|your role|imagine you are|pretend you are)\b", re.I)
_CONTEXT = re.compile(
    r"\b(context|background|audience|for (?:a|an|the|our|my) [a-z]+|the goal|purpose|because|"
    r"so that|in order to|we are|i am|i'm|our (?:team|company|users|customers)|the reader)\b",
    re.I,
)
_FORMAT = re.compile(
    r"\b(json|yaml|csv|xml|markdown|table|bullet(?:ed)? (?:points?|list)|bullets|numbered list|"
    r"headings?|sections?|format(?:ted)?|schema|one line|one sentence|paragraphs?|respond with|"
    r"return (?:a|an|only|the)|output (?:a|an|as|only))\b",
    re.I,
)
_EXAMPLE = re.compile(
    r"(\bexamples?\b|\be\.g\.|\bfor instance\b|\bsuch as\b|\binput:|\boutput:|```|\bsample\b|\blike this\b)",
    re.I,
)
_LIMIT = re.compile(
    r"\b(\d+)\s*(words?|sentences?|characters?|chars|items?|bullets?|points?|paragraphs?|lines?|"
    r"tokens?|pages?|minutes?|steps?|examples?)\b",
    re.I,
)
_RULE = re.compile(
    r"\b(must not|must|do not|don't|never|avoid|only|at most|at least|no more than|no longer than|"
    r"exactly|within|limit(?:ed)? to|should not|without)\b",
    re.I,
)
_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)?%?")
_PROPER = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z0-9]+\b")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]?")
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


@dataclass(frozen=True)
class Features:
    words: int
    tokens: int
    sentences: int
    avg_sentence_words: float
    questions: int
    vague: tuple[str, ...]
    has_task_verb: bool
    task_verb: str | None
    role: str | None
    context_cues: tuple[str, ...]
    format_cues: tuple[str, ...]
    example_cues: tuple[str, ...]
    limits: tuple[str, ...]
    rules: tuple[str, ...]
    numbers: int
    proper_nouns: int

    def as_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Issue:
    dimension: str
    quote: str
    problem: str
    suggestion: str

    def as_dict(self) -> dict[str, str]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class RubricResult:
    scores: dict[str, int]
    issues: list[Issue]
    suggested_rewrite: str
    summary: str
    features: Features
    overall: float = field(default=0.0)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scores": dict(self.scores),
            "overall": self.overall,
            "issues": [i.as_dict() for i in self.issues],
            "suggested_rewrite": self.suggested_rewrite,
            "summary": self.summary,
        }


def _found(pattern: re.Pattern[str], text: str) -> tuple[str, ...]:
    seen: list[str] = []
    for match in pattern.finditer(text):
        value = match.group(0)
        if value.lower() not in (s.lower() for s in seen):
            seen.append(value)
    return tuple(seen)


def _vague_hits(text: str) -> tuple[str, ...]:
    hits = []
    for word in _VAGUE:
        match = re.search(rf"\b{re.escape(word)}\b", text, re.I)
        if match:
            hits.append(match.group(0))  # as written, so it quotes the prompt exactly
    # "some" is inside "something": keep the longer hit only.
    return tuple(h for h in hits if not any(h != o and h.lower() in o.lower().split() for o in hits))


def extract_features(prompt: str) -> Features:
    words = _WORD.findall(prompt)
    sentences = [s.strip() for s in _SENTENCE.findall(prompt) if s.strip()]
    verb = re.search(rf"\b({_TASK_VERBS})\b", prompt, re.I)
    role = _ROLE.search(prompt)
    return Features(
        words=len(words),
        tokens=count_tokens(prompt),
        sentences=len(sentences),
        avg_sentence_words=round(len(words) / max(1, len(sentences)), 1),
        questions=prompt.count("?"),
        vague=_vague_hits(prompt),
        has_task_verb=verb is not None,
        task_verb=verb.group(0) if verb else None,
        role=role.group(0) if role else None,
        context_cues=_found(_CONTEXT, prompt),
        format_cues=_found(_FORMAT, prompt),
        example_cues=_found(_EXAMPLE, prompt),
        limits=_found(_LIMIT, prompt),
        rules=_found(_RULE, prompt),
        numbers=len(_NUMBER.findall(prompt)),
        proper_nouns=len(_PROPER.findall(prompt)),
    )


def _clamp(value: float) -> int:
    return int(max(0, min(10, round(value))))


def _scores(f: Features) -> dict[str, int]:
    vague_penalty = min(4.0, 1.5 * len(f.vague))
    verb_credit = 0 if not f.has_task_verb else 1 if (f.task_verb or "").lower() in _WEAK_VERBS else 3
    clarity = 4.0 + verb_credit + (1 if f.sentences >= 2 else 0)
    clarity += 2 if 5 <= f.avg_sentence_words <= 25 else 0
    clarity -= vague_penalty
    clarity -= 2 if f.avg_sentence_words > 40 else 0
    clarity -= 1 if f.questions > 3 else 0
    clarity -= 2 if f.words < 5 else 1 if f.words < 10 else 0

    length = 0 if f.words < 8 else 1 if f.words < 20 else 2 if f.words < 40 else 3
    specificity = 2.0 + length + min(2, f.numbers) + min(2, f.proper_nouns) + min(1, len(f.limits))
    specificity -= vague_penalty

    context = 1.0 + (4 if f.role else 0) + min(5, 2.5 * len(f.context_cues))
    output_format = 1.0 + min(9, 4.5 * len(f.format_cues))
    examples = 1.0 + min(9, 6 * len(f.example_cues))
    constraints = 1.0 + min(6, 3 * len(f.limits)) + min(4, 2 * len(f.rules))
    return {
        "clarity": _clamp(clarity),
        "specificity": _clamp(specificity),
        "context": _clamp(context),
        "output_format": _clamp(output_format),
        "examples": _clamp(examples),
        "constraints": _clamp(constraints),
    }


def _quote(prompt: str, limit: int = 120) -> str:
    """A verbatim excerpt of the prompt (its first sentence, cut to ``limit``)."""
    text = prompt.strip()
    first = _SENTENCE.search(text)
    excerpt = first.group(0).strip() if first else text
    return excerpt[:limit].strip() or text[:limit]


def _issues(prompt: str, f: Features, scores: dict[str, int]) -> list[Issue]:
    issues: list[Issue] = []
    head = _quote(prompt)
    for word in f.vague:
        issues.append(
            Issue(
                "specificity",
                word,
                f"'{word}' is vague: the model has to guess what you mean.",
                f"Replace '{word}' with the concrete thing, quantity or quality you want.",
            )
        )
    if not f.has_task_verb:
        issues.append(
            Issue(
                "clarity",
                head,
                "No explicit task: the prompt never says what to do.",
                "Start with an imperative verb: 'Summarise ...', 'List ...', 'Classify ...'.",
            )
        )
    if f.avg_sentence_words > 40:
        issues.append(
            Issue(
                "clarity",
                head,
                "Very long sentences hide the instruction.",
                "Split the request into short sentences, one instruction each.",
            )
        )
    if scores["context"] < 5:
        issues.append(
            Issue(
                "context",
                head,
                "No role, audience or purpose is given.",
                "Say who the model should be, who the answer is for and why it is needed.",
            )
        )
    if scores["output_format"] < 5:
        issues.append(
            Issue(
                "output_format",
                head,
                "The expected output format is not stated.",
                "Ask for a concrete format: JSON with named fields, a table, N bullet points.",
            )
        )
    if scores["examples"] < 5:
        issues.append(
            Issue(
                "examples",
                head,
                "No example of a good answer is shown.",
                "Add one short input/output example of what you expect.",
            )
        )
    if scores["constraints"] < 5:
        issues.append(
            Issue(
                "constraints",
                head,
                "No limits: length, scope and what to avoid are open.",
                "Add limits such as 'at most 5 bullets' or 'do not include code'.",
            )
        )
    return issues


def _rewrite(prompt: str, f: Features) -> str:
    task = prompt.strip().rstrip(".")
    for word in f.vague:
        replacement = "" if word.lower() in _HEDGES else f"<specific {word}>"
        task = re.sub(
            rf"\s*\b{re.escape(word)}\b", f" {replacement}" if replacement else "", task, flags=re.I
        )
    task = task.strip()
    parts = []
    if not f.role:
        parts.append("You are an expert assistant helping <audience> with <goal>.")
    parts.append(f"Task: {task}.")
    if not f.context_cues:
        parts.append("Context: <background the model needs: who it is for and why>.")
    if not f.limits and not f.rules:
        parts.append("Constraints: at most <N> <words|bullets>; do not <what to avoid>.")
    if not f.format_cues:
        parts.append("Output format: <e.g. a Markdown table with columns A, B> .")
    if not f.example_cues:
        parts.append("Example: Input: <a typical input> -> Output: <the answer you expect>.")
    return "\n".join(parts)


def analyse(prompt: str) -> RubricResult:
    """Score a prompt on the six dimensions and explain the score."""
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("analyse() needs a non-empty prompt string")
    features = extract_features(prompt)
    scores = _scores(features)
    overall = round(sum(scores.values()) / len(scores), 2)
    weakest = sorted(scores, key=lambda d: (scores[d], DIMENSIONS.index(d)))[:2]
    summary = (
        f"[offline rubric] overall {overall}/10 over {features.words} words; "
        f"weakest: {weakest[0]} ({scores[weakest[0]]}), {weakest[1]} ({scores[weakest[1]]})."
    )
    return RubricResult(
        scores=scores,
        issues=_issues(prompt, features, scores),
        suggested_rewrite=_rewrite(prompt, features),
        summary=summary,
        features=features,
        overall=overall,
    )
