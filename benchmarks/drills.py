"""Incident drills: how long a drill's traffic replay and its solution path take.

Prints figures; asserts nothing. Run: python benchmarks/drills.py [--seeds N]

For each drill and seed: the replay (the 10 simulated minutes of multi-agent traffic, every
LLM call through TrackedClient to the local Messages API server, exported to a private
embedded LGTM server) and the shipped solution path (its PromQL, TraceQL and LogQL queries
and the reasoning on their answers). Target: replay <= 30 s per drill. Also prints whether the
solution path found the injected fault.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from labkit import drills
from labkit.lgtm.testing import running_server

TARGET_REPLAY_S = 30.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, default=3, help="seeds per drill (0..N-1)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as srv:
        settings = srv.settings
        print(
            f"{'drill':<16}{'seed':>5}{'requests':>10}{'llm calls':>10}{'replay s':>10}{'solve s':>9}  found"
        )
        for name in drills.DRILLS:
            replays, solves = [], []
            for seed in range(args.seeds):
                run = drills.run(name, seed, settings=settings)
                started = time.perf_counter()
                solution = drills.solve(name, settings=settings)
                solve_s = time.perf_counter() - started
                assert run.stats is not None
                replays.append(run.stats.seconds)
                solves.append(solve_s)
                print(
                    f"{name:<16}{seed:>5}{run.stats.requests:>10}{run.stats.llm_calls:>10}"
                    f"{run.stats.seconds:>10.1f}{solve_s:>9.2f}  {solution.matches_truth}"
                )
            worst = max(replays)
            print(
                f"{name}: replay median {statistics.median(replays):.1f} s, max {worst:.1f} s "
                f"(target <= {TARGET_REPLAY_S:.0f} s, ratio {worst / TARGET_REPLAY_S:.2f}); "
                f"solution path median {statistics.median(solves):.2f} s"
            )


if __name__ == "__main__":
    main()
