"""Draft exercises the ``draft_exercise`` tool hands to the model (its data source, offline or live).

The model shapes the final assignment from a draft; with the offline model the draft
comes back as is (it fills the schema from tool results), with Claude it may be rewritten.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DRAFTS", "REFERENCE_SOLUTIONS", "draft", "slow_submission"]

DRAFTS: tuple[dict[str, str], ...] = (
    {
        "title": "FizzBuzz as a function",
        "module": "fizzbuzz",
        "instructions": "Write fizzbuzz(n) returning 'Fizz' for multiples of 3, 'Buzz' for multiples "
        "of 5, 'FizzBuzz' for both, and str(n) otherwise.",
        "starter_code": 'def fizzbuzz(n: int) -> str:\n    """FizzBuzz for one number."""\n'
        "    raise NotImplementedError\n",
        "tests": "from fizzbuzz import fizzbuzz\n\n\ndef test_fizz():\n    assert fizzbuzz(9) == 'Fizz'\n\n\n"
        "def test_buzz():\n    assert fizzbuzz(10) == 'Buzz'\n\n\ndef test_both():\n"
        "    assert fizzbuzz(30) == 'FizzBuzz'\n\n\ndef test_plain():\n    assert fizzbuzz(7) == '7'\n",
    },
    {
        "title": "Word frequencies",
        "module": "wordfreq",
        "instructions": "Write top_words(text, k) returning the k most frequent lower-cased words as "
        "(word, count) pairs, most frequent first, ties in alphabetical order.",
        "starter_code": "def top_words(text: str, k: int) -> list[tuple[str, int]]:\n"
        '    """The k most frequent words."""\n    raise NotImplementedError\n',
        "tests": "from wordfreq import top_words\n\n\ndef test_counts():\n"
        "    assert top_words('a b a c b a', 2) == [('a', 3), ('b', 2)]\n\n\n"
        "def test_case_and_ties():\n    assert top_words('B a A b', 2) == [('a', 2), ('b', 2)]\n",
    },
    {
        "title": "Running average",
        "module": "running",
        "instructions": "Write running_mean(values) returning the list of means of every prefix of "
        "values; an empty list gives an empty list.",
        "starter_code": "def running_mean(values: list[float]) -> list[float]:\n"
        '    """Mean of each prefix."""\n    raise NotImplementedError\n',
        "tests": "from running import running_mean\n\n\ndef test_prefixes():\n"
        "    assert running_mean([2, 4, 6]) == [2, 3, 4]\n\n\ndef test_empty():\n"
        "    assert running_mean([]) == []\n",
    },
)

# A correct submission per draft: the stand-in learner of demos, tests and benchmarks.
REFERENCE_SOLUTIONS: dict[str, str] = {
    "fizzbuzz": 'def fizzbuzz(n: int) -> str:\n    """FizzBuzz for one number."""\n'
    "    if n % 15 == 0:\n        return 'FizzBuzz'\n    if n % 3 == 0:\n        return 'Fizz'\n"
    "    if n % 5 == 0:\n        return 'Buzz'\n    return str(n)\n",
    "wordfreq": "from collections import Counter\n\n\n"
    "def top_words(text: str, k: int) -> list[tuple[str, int]]:\n"
    '    """The k most frequent words."""\n    counts = Counter(text.lower().split())\n'
    "    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]\n",
    "running": "def running_mean(values: list[float]) -> list[float]:\n"
    '    """Mean of each prefix."""\n    out, total = [], 0.0\n'
    "    for i, v in enumerate(values, start=1):\n        total += v\n        out.append(total / i)\n"
    "    return out\n",
}


def draft(level: int) -> dict[str, Any]:
    """The draft for a learner who finished ``level`` assignments (cycling through the catalogue)."""
    if level < 0:
        raise ValueError(f"level must be >= 0, got {level}")
    return dict(DRAFTS[level % len(DRAFTS)])


def slow_submission(module: str, delay_s: float) -> str:
    """The reference solution of ``module`` made slow: each call of its function sleeps ``delay_s``.

    Correct, so the review passes, but its tests take longer: notebook 10's bottleneck."""
    import ast

    if module not in REFERENCE_SOLUTIONS:
        raise ValueError(f"no reference solution for {module!r}; known: {sorted(REFERENCE_SOLUTIONS)}")
    if delay_s < 0:
        raise ValueError(f"delay_s must be >= 0, got {delay_s}")
    source = REFERENCE_SOLUTIONS[module]
    name = next(n.name for n in ast.parse(source).body if isinstance(n, ast.FunctionDef))
    wrapper = (
        f"\n\nimport time as _time\n\n_fast_{name} = {name}\n\n\n"
        f"def {name}(*args, **kwargs):  # noqa: F811 - the slow stand-in wraps the fast one\n"
        f"    _time.sleep({float(delay_s)!r})\n    return _fast_{name}(*args, **kwargs)\n"
    )
    return source + wrapper
