# ruff: noqa: E501, SIM905, RUF005  (the templates and slot values below are data tables, kept one family to a block)
"""Generate the two labelled workloads shipped in ``labkit/cache/data/`` (seeded, reproducible).

    python -m labkit.cache.workload_gen            # rewrites workload.jsonl and heldout.jsonl

Each *family* is a set of paraphrase templates with slots; each filling of the slots is
one intent. Intents of one family differ by exactly the details verification must
catch (a number, a named entity, a negation, a time word), so every family is also a
set of near misses that must not hit. Traffic per intent is skewed like real traffic
(a few popular questions asked many times, most asked a few times): the number of
queries per intent is log-normal, each query picks a template at random (so exact
repeats happen) and adds surface noise (greetings, "thanks", case, punctuation).

The held-out workload is built by a different function with other domains, other
templates and other noise (typos, chatty prefixes, lower-case-only users), so that a
threshold tuned on the first is checked on traffic it was not tuned on.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterable
from pathlib import Path

__all__ = ["build_heldout", "build_workload", "main"]

Family = tuple[str, list[dict[str, str]], list[str]]  # (intent prefix, slot fillings, templates)


def _slug(values: Iterable[str]) -> str:
    return "-".join("".join(c if c.isalnum() else "_" for c in v.lower()).strip("_") for v in values)


def _emit(rng: random.Random, families: list[Family], noise: Noise, mean: float) -> list[dict[str, str]]:
    rows = []
    for prefix, fillings, templates in families:
        for slots in fillings:
            intent = f"{prefix}:{_slug(slots.values())}"
            count = max(3, min(30, round(rng.lognormvariate(0, 0.6) * mean)))
            for _ in range(count):
                rows.append({"query": noise(rng, rng.choice(templates).format(**slots)), "intent": intent})
    rng.shuffle(rows)
    return rows


class Noise:
    def __init__(self, prefixes: list[str], suffixes: list[str], lower: float, typo: float) -> None:
        self.prefixes, self.suffixes, self.lower, self.typo = prefixes, suffixes, lower, typo

    def __call__(self, rng: random.Random, text: str) -> str:
        if rng.random() < self.typo:
            text = _typo(rng, text)
        if rng.random() < self.lower:
            text = text.lower()
        if rng.random() < 0.4:
            text = rng.choice(self.prefixes) + text
        if rng.random() < 0.4:
            text = text.rstrip("?.!") + rng.choice(self.suffixes)
        return text


def _typo(rng: random.Random, text: str) -> str:
    """Swap two letters inside one long, lower-case word (never a number or a name)."""
    words = text.split(" ")
    choices = [i for i, w in enumerate(words) if len(w) >= 6 and w.isalpha() and w.islower()]
    if not choices:
        return text
    i = rng.choice(choices)
    w = words[i]
    j = rng.randrange(1, len(w) - 2)
    words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def _grid(**axes: list[str]) -> list[dict[str, str]]:
    names = list(axes)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*axes.values())]


def _one(name: str, values: list[str]) -> list[dict[str, str]]:
    return [{name: v} for v in values]


COUNTRIES = (
    "France Germany Spain Italy Portugal Japan China India Brazil Canada Mexico Egypt Kenya Norway Sweden "
    "Finland Poland Greece Turkey Chile Peru Argentina Australia Ireland Austria Hungary Vietnam Thailand "
    "Morocco Nigeria"
).split()
CITIES = (
    "Paris Berlin Madrid Rome Lisbon Tokyo Beijing Mumbai Toronto Sydney Cairo Nairobi Oslo Stockholm Warsaw "
    "Athens Istanbul Lima Dublin Vienna Budapest Hanoi Bangkok Lagos Chicago"
).split()
TERMS = [
    "a Kubernetes pod", "a Docker image", "a semantic cache", "a vector database", "a sentence embedding",
    "an OpenTelemetry span", "a Prometheus counter", "a histogram metric", "distributed tracing",
    "log aggregation", "a load balancer", "a reverse proxy", "a CDN", "DNS", "a TLS certificate",
    "an OAuth token", "a JWT", "a REST API", "GraphQL", "a webhook", "a message queue", "a Kafka topic",
    "Redis", "a CI pipeline", "a canary deployment", "a blue-green deployment", "a feature flag",
    "a rate limiter", "a circuit breaker", "an SLO", "an error budget", "tail latency", "a cold start",
    "garbage collection", "a memory leak", "a race condition", "a deadlock", "idempotency",
    "database sharding", "replication lag",
]  # fmt: skip
TASKS = [
    "reverse a list", "sort a dictionary by value", "read a file line by line", "parse JSON",
    "make an HTTP request", "get the current date", "remove duplicates from a list",
    "convert a string to an integer",
]  # fmt: skip
SUBJECTS = [
    ("Python data types", "mutable"), ("HTTP methods", "idempotent"), ("sorting algorithms", "stable"),
    ("Linux signals", "catchable"), ("Git commands", "destructive"), ("SQL joins", "commutative"),
    ("Kubernetes resources", "namespaced"), ("JavaScript values", "falsy"), ("TCP states", "final"),
    ("Docker volumes", "persistent"), ("AWS regions", "opt-in"), ("Rust types", "copyable"),
]  # fmt: skip


def _main_families() -> list[Family]:
    convert = [
        {"n": n, "a": a, "b": b}
        for n in ["5", "50", "12", "120", "3", "30", "100", "1000"]
        for a, b in [
            ("km", "miles"),
            ("kg", "pounds"),
            ("degrees Celsius", "Fahrenheit"),
            ("liters", "gallons"),
        ]
    ]
    weather = _grid(city=CITIES[:10], when=["today", "tomorrow"])
    promql = _grid(q=["50", "95", "99"], n=["5", "15", "60"], svc=["checkout-api", "payment-api"])
    negation = [{"s": s, "a": a, "neg": ""} for s, a in SUBJECTS] + [
        {"s": s, "a": a, "neg": "not "} for s, a in SUBJECTS
    ]
    sums = [{"a": a, "b": b} for a, b in [
        ("3", "5"), ("12", "30"), ("7", "8"), ("15", "27"), ("100", "250"), ("42", "58"), ("9", "11"),
        ("64", "36"), ("19", "23"), ("250", "750"), ("13", "17"), ("81", "19"), ("6", "14"), ("33", "44"),
        ("500", "125"), ("21", "34"), ("2", "98"), ("45", "55"), ("17", "29"), ("8", "16"),
    ]]  # fmt: skip
    tz = _grid(h=["3", "9"], pair=["PST|EST", "CET|UTC", "JST|CET", "EST|GMT", "IST|PST", "UTC|PST", "GMT|JST",
                                   "EST|CET"])  # fmt: skip
    for slot in tz:
        slot["z1"], slot["z2"] = slot.pop("pair").split("|")
    phrases = _grid(p=["good morning", "thank you very much", "where is the station", "I am hungry",
                       "see you tomorrow"], lang=["French", "German", "Spanish", "Japanese"])  # fmt: skip
    return [
        ("convert", convert, [
            "Convert {n} {a} to {b}", "How many {b} is {n} {a}?", "{n} {a} in {b}", "What is {n} {a} in {b}?",
            "{n} {a} to {b} please", "Could you convert {n} {a} into {b}?", "how much is {n} {a} in {b}",
        ]),
        ("capital", _one("c", COUNTRIES), [
            "What is the capital of {c}?", "capital of {c}?", "What's the capital city of {c}?",
            "Which city is the capital of {c}?", "Tell me the capital of {c}.", "{c} capital city",
            "name the capital of {c}",
        ]),
        ("currency", _one("c", COUNTRIES[:20]), [
            "What currency does {c} use?", "currency of {c}", "Which currency is used in {c}?",
            "what money do they use in {c}?", "{c} currency?", "What is the official currency of {c}?",
        ]),
        ("http", _one("n", "200 201 204 301 302 304 400 401 403 404 405 409 418 429 500 502 503 504".split()), [
            "What does HTTP {n} mean?", "HTTP status {n} meaning", "what is a {n} status code?",
            "explain HTTP error {n}", "meaning of status code {n}", "Why would a server return {n}?",
        ]),
        ("howto", _grid(task=TASKS, lang=["Python", "JavaScript", "Go", "Rust", "Java"]), [
            "How do I {task} in {lang}?", "{lang}: {task}", "What is the best way to {task} in {lang}?",
            "how to {task} with {lang}", "In {lang}, how can I {task}?", "show me how to {task} using {lang}",
        ]),
        ("define", _one("t", TERMS), [
            "What is {t}?", "Define {t}.", "Can you explain what {t} is?", "{t}: what does it mean?",
            "explain {t} in simple terms", "What does {t} mean?", "I'd like a short explanation of {t}",
        ]),
        ("which", negation, [
            "Which {s} are {neg}{a}?", "list the {s} that are {neg}{a}", "what {s} are {neg}{a}?",
            "name the {s} which are {neg}{a}",
        ]),
        ("sum", sums, [
            "What is {a} plus {b}?", "{a} + {b}", "add {a} and {b}", "What's the sum of {a} and {b}?",
            "compute {a} plus {b}",
        ]),
        ("timezone", tz, [
            "What time is {h} PM {z1} in {z2}?", "convert {h} PM {z1} to {z2}", "{h} PM {z1} in {z2} time",
            "If it is {h} PM {z1}, what time is it in {z2}?",
        ]),
        ("promql", promql, [
            "PromQL for the p{q} latency of {svc} over {n} minutes",
            "How do I query the p{q} latency of {svc} over the last {n} minutes?",
            "p{q} latency of {svc} in a {n} minutes window, as PromQL",
            "write a PromQL query: {svc} p{q} latency, last {n} minutes",
        ]),
        ("population", _one("c", CITIES), [
            "What is the population of {c}?", "how many people live in {c}?", "{c} population",
            "population of {c}", "How big is the population of {c}?",
        ]),
        ("weather", weather, [
            "What's the weather in {city} {when}?", "{city} weather {when}", "weather forecast for {city} {when}",
            "how is the weather {when} in {city}?",
        ]),
        ("translate", phrases, [
            "Translate '{p}' into {lang}", "How do you say '{p}' in {lang}?", "'{p}' in {lang}",
            "What is '{p}' in {lang}?",
        ]),
    ]  # fmt: skip


def _heldout_families() -> list[Family]:
    grams = _grid(n=["1", "2", "3", "4"], ing=["flour", "sugar", "butter", "rice", "oats"])
    books = [
        "Moby Dick", "Pride and Prejudice", "War and Peace", "Don Quixote", "Ulysses", "Hamlet", "Dracula",
        "Frankenstein", "Jane Eyre", "Middlemarch", "Beloved", "Dune", "Emma", "Persuasion", "Walden",
        "Candide", "Faust", "Lolita", "Rebecca", "Siddhartha",
    ]  # fmt: skip
    people = [
        "Ada Lovelace", "Alan Turing", "Marie Curie", "Albert Einstein", "Isaac Newton", "Grace Hopper",
        "Charles Darwin", "Nikola Tesla", "Galileo Galilei", "Rosalind Franklin", "Niels Bohr",
        "Dennis Ritchie", "Linus Torvalds", "Barbara Liskov", "Edsger Dijkstra", "Donald Knuth",
        "Katherine Johnson", "Johannes Kepler", "Max Planck", "Emmy Noether",
    ]  # fmt: skip
    flights = [
        {"a": a, "b": b}
        for a, b in [("Paris", "Tokyo"), ("London", "New York"), ("Berlin", "Rome"), ("Madrid", "Lima"),
                     ("Sydney", "Singapore"), ("Oslo", "Dublin"), ("Cairo", "Nairobi"), ("Toronto", "Chicago"),
                     ("Lisbon", "Boston"), ("Vienna", "Athens"), ("Seoul", "Bangkok"), ("Mumbai", "Dubai"),
                     ("Warsaw", "Prague"), ("Denver", "Seattle"), ("Zurich", "Munich")]
    ]  # fmt: skip
    gluten = [
        {"x": x, "neg": neg}
        for x in ["breads", "breakfast cereals", "beers", "pastas", "sauces", "snacks", "flours", "soups",
                  "desserts", "crackers"]
        for neg in ["", "not "]
    ]  # fmt: skip
    dates = [{"m": m, "d": d, "y": y} for m, d, y in [
        ("March", "14", "2024"), ("July", "4", "1976"), ("January", "1", "2000"), ("December", "25", "2030"),
        ("May", "17", "1999"), ("October", "31", "2025"), ("February", "29", "2028"), ("June", "6", "1944"),
        ("August", "15", "1947"), ("April", "1", "2026"), ("November", "9", "1989"), ("September", "11", "2001"),
        ("March", "3", "2003"), ("July", "20", "1969"), ("January", "15", "2027"),
    ]]  # fmt: skip
    git = [
        "undo the last commit", "rename a branch", "delete a remote branch", "squash commits",
        "see who changed a line", "stash my changes", "cherry-pick a commit", "revert a merge",
        "change the last commit message", "list all tags", "clone a single branch", "remove a file from the index",
        "show the diff of staged changes", "set the upstream branch", "clean untracked files",
    ]  # fmt: skip
    units = [
        ("seconds", "an hour"), ("minutes", "a day"), ("ounces", "a pound"), ("inches", "a foot"),
        ("milliliters", "a cup"), ("feet", "a mile"), ("days", "a leap year"), ("bytes", "a kilobyte"),
        ("grams", "an ounce"), ("centimeters", "an inch"), ("weeks", "a year"), ("teaspoons", "a tablespoon"),
        ("pints", "a gallon"), ("meters", "a mile"), ("hours", "a week"),
    ]  # fmt: skip
    sports = (
        "soccer basketball volleyball rugby cricket baseball hockey handball polo lacrosse netball water polo"
    )
    return [
        ("grams", grams, [
            "How many grams are in {n} cups of {ing}?", "{n} cups of {ing} in grams", "{n} cup(s) {ing} to grams",
            "grams in {n} cups of {ing}?", "I have {n} cups of {ing}, how many grams is that",
        ]),
        ("author", _one("b", books), [
            "Who wrote {b}?", "Who is the author of {b}?", "{b} was written by whom?", "author of \"{b}\"",
            "which writer wrote {b}",
        ]),
        ("born", _one("p", people), [
            "When was {p} born?", "{p} birth year", "In what year was {p} born?", "{p}: date of birth?",
            "what year did {p} get born",
        ]),
        ("sqrt", _one("n", "2 3 10 16 50 81 99 121 144 200 256 300 625 1000 1024".split()), [
            "What is the square root of {n}?", "sqrt({n})", "square root of {n}", "√{n} = ?",
            "calculate the square root of {n}",
        ]),
        ("factorial", _one("n", "3 4 5 6 7 8 9 10 12 15".split()), [
            "What is {n} factorial?", "{n}!", "factorial of {n}", "compute {n} factorial", "what's {n}! equal to",
        ]),
        ("prime", _one("n", "7 9 13 21 29 51 57 91 97 101 119 127 143 169 211".split()), [
            "Is {n} a prime number?", "is {n} prime", "{n}: prime or not?", "Check whether {n} is prime",
        ]),
        ("flight", flights, [
            "How long is the flight from {a} to {b}?", "flight time {a} to {b}", "{a} to {b} flight duration",
            "How many hours does it take to fly from {a} to {b}?",
        ]),
        ("players", _one("s", sports.split(" ")[:11] + ["water polo"]), [
            "How many players are on a {s} team?", "number of players in a {s} team",
            "{s} team size?", "how many people play on one {s} team",
        ]),
        ("git", _one("g", git), [
            "How do I {g} in git?", "git: {g}", "what's the git command to {g}?", "how can I {g} with git",
        ]),
        ("gluten", gluten, [
            "Which {x} are {neg}gluten free?", "list {x} that are {neg}gluten free", "what {x} are {neg}gluten free",
        ]),
        ("weekday", dates, [
            "What day of the week is {m} {d}, {y}?", "{m} {d} {y} day of week", "which weekday was {m} {d}, {y}?",
            "day of the week for {m} {d} {y}",
        ]),
        ("units", [{"small": s, "big": b} for s, b in units], [
            "How many {small} are in {big}?", "{small} in {big}?", "number of {small} in {big}",
            "how many {small} make {big}",
        ]),
    ]  # fmt: skip


def build_workload(seed: int = 13) -> list[dict[str, str]]:
    rng = random.Random(seed)
    noise = Noise(["hey, ", "quick question: ", "please, ", "hi! ", "Hello, "], [" thanks", " please", "?", " thx"],
                  lower=0.15, typo=0.0)  # fmt: skip
    return _emit(rng, _main_families(), noise, mean=6.0)


def build_heldout(seed: int = 31) -> list[dict[str, str]]:
    rng = random.Random(seed)
    noise = Noise(["so ", "i was wondering, ", "can u tell me: ", "Q: ", "ok "], [" ??", " asap", "!", " ty"],
                  lower=0.35, typo=0.15)  # fmt: skip
    return _emit(rng, _heldout_families(), noise, mean=5.0)


def _write(rows: list[dict[str, str]], path: Path) -> None:
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    path.write_text(text, encoding="utf-8")


def main() -> None:
    data = Path(__file__).parent / "data"
    for name, rows in (("workload.jsonl", build_workload()), ("heldout.jsonl", build_heldout())):
        _write(rows, data / name)
        intents = len({r["intent"] for r in rows})
        print(f"{name}: {len(rows)} queries over {intents} intents")


if __name__ == "__main__":
    main()
