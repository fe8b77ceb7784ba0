"""Code Critic evaluation and speed, offline (labkit-offline-1). Prints figures; asserts nothing.

Run: python benchmarks/code_critic_eval.py [--corpus tests/code_critic/corpus] [--repeat 3]

* Quality, on the labelled corpus (format: tests/code_critic/corpus/README.md): precision and
  recall per category (targets on tool-visible categories: precision >= 0.9, recall >= 0.8),
  findings on the clean programs (target: none), and the fault-localisation top-1 / top-3 hit
  rate on the cases with failing tests.
* Speed: one generated 300-line file reviewed offline (target <= 3 s, median of --repeat warm
  runs; the first, cold run is printed too), and the fan-out: wall time vs the slowest
  specialist vs the sum of the specialists (concurrent means wall ~ slowest, not ~ sum).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anthropic

from labkit.agents.code_critic import CriticConfig, build_graph, review
from labkit.agents.code_critic.evaluate import evaluate, load_corpus, score_results
from labkit.agents.code_critic.samples import long_module
from labkit.config import load_settings
from labkit.llm import Budget, LocalServer, TrackedClient
from labkit.llm.offline import OFFLINE_MODEL

ROOT = Path(__file__).resolve().parents[1]
TOOL_VISIBLE = ("style", "bug", "security", "complexity", "tests", "injection")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--corpus", type=Path, default=ROOT / "tests" / "code_critic" / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-corpus", action="store_true")
    args = parser.parse_args()
    with LocalServer(0) as server:
        settings = load_settings(
            environ={}, config_file=None, cwd=ROOT, llm_url=server.url, backend="embedded"
        )
        sdk = anthropic.Anthropic(api_key="local", base_url=server.url, open_telemetry=False)
        llm = TrackedClient(sdk, budget=Budget(10**10, 10_000.0), settings=settings)
        graph = build_graph(llm, config=CriticConfig(model=OFFLINE_MODEL))
        speed(graph, args.repeat)
        if not args.skip_corpus:
            quality(graph, args.corpus)
        sdk.close()


def speed(graph: object, repeat: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "handlers.py"
        path.write_text(long_module(300), encoding="utf-8")
        lines = path.read_text().count("\n")
        runs = []
        for _ in range(repeat + 1):
            start = time.perf_counter()
            result = review([path], root=tmp, graph=graph)
            runs.append((time.perf_counter() - start, result))
    cold, warm = runs[0], runs[1:]
    wall = statistics.median(w for w, _ in warm)
    last = warm[-1][1]
    durations = {k: v.duration_s for k, v in last.specialists.items()}
    print(f"== speed: one {lines}-line file, offline model, {len(last.review.findings)} findings")
    print(f"cold review        {cold[0]:.2f} s (first run: imports, tool start-up caches)")
    print(f"warm review median {wall:.2f} s over {len(warm)} runs (target <= 3 s)")
    print("specialists        " + ", ".join(f"{k} {v:.2f} s" for k, v in durations.items()))
    slowest, total = max(durations.values()), sum(durations.values())
    print(
        f"fan-out            wall {last.wall_s:.2f} s vs slowest specialist {slowest:.2f} s "
        f"vs sum {total:.2f} s "
        f"(wall/slowest {last.wall_s / slowest:.2f}, wall/sum {last.wall_s / total:.2f})"
    )


def quality(graph: object, corpus: Path) -> None:
    cases = load_corpus(corpus)
    start = time.perf_counter()
    results = evaluate(cases, graph)
    elapsed = time.perf_counter() - start
    scores = score_results(results)
    planted = sum(1 for c in cases if not c.clean)
    labels = sum(len(c.labels) for c in cases)
    print(
        f"== quality: {planted} planted cases ({labels} labels) + {scores.clean_cases} clean, {elapsed:.1f} s"
    )
    print(f"{'category':<12}{'tp':>5}{'fp':>5}{'fn':>5}{'precision':>11}{'recall':>8}  target")
    for category, s in scores.per_category.items():
        ok = s["precision"] >= 0.9 and s["recall"] >= 0.8
        mark = ("met" if ok else "MISSED") if category in TOOL_VISIBLE else "-"
        print(
            f"{category:<12}{s['tp']:>5.0f}{s['fp']:>5.0f}{s['fn']:>5.0f}"
            f"{s['precision']:>11.2f}{s['recall']:>8.2f}  {mark}"
        )
    print(
        f"clean programs with a finding: {len(scores.clean_with_findings)} of {scores.clean_cases} "
        f"{scores.clean_with_findings or ''}"
    )
    print(
        f"fault localisation ({scores.fault_cases} failing-test cases): "
        f"top-1 {scores.top1:.2f}, top-3 {scores.top3:.2f}"
    )
    for r in results:
        if r.missed or r.false_positives:
            extra = [(f["file"], f["line_start"], f["rule_id"]) for f in r.false_positives]
            print(
                f"  {r.case.name}: missed {[(m.file, m.line, m.category) for m in r.missed]}, extra {extra}"
            )


if __name__ == "__main__":
    main()
