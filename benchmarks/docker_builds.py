"""Cold and warm build times of the offline base image and of the demo app image.

    python benchmarks/docker_builds.py [--skip-base-cold] [--repeat 2]

Needs a Docker engine (``bash .ci/docker.sh``) and, for the cold base image, root and
debootstrap. What each row measures:

- base image, cold: debootstrap + tar + ``docker import`` into a throw-away tag (the
  mirror is this machine's apt mirror, so the figure includes downloading ~40 MB of .debs);
- base image, warm: ``ensure_base_image`` when the offline image is cached (a lookup);
- demo image, cold: a fresh wheelhouse (pip, from PyPI or pip's cache) and ``nocache=True``;
- demo image, warm: the same build again with the layer cache and the wheelhouse reused.

The demo builds run on a copy of ``stacks/demo-app`` in a temporary folder, so the
repository's ``wheels/`` is not touched; the images built here are removed at the end.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from labkit.containers import (
    apt_source,
    build_image,
    build_offline_base,
    client,
    engine_status,
    ensure_base_image,
)

REPO = Path(__file__).resolve().parents[1]
BENCH_BASE = "labkit-base/python3:benchmark"
BENCH_DEMO = "labkit-bench/demo-app:bench"


def quiet(line: str) -> None:
    """Build progress is not part of the figures."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--skip-base-cold", action="store_true", help="do not debootstrap a second base image"
    )
    parser.add_argument("--repeat", type=int, default=2, help="warm builds to time (median printed)")
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be >= 1")
    ok, detail, fix = engine_status()
    if not ok:
        print(f"no Docker engine: {detail}; fix: {fix}", file=sys.stderr)
        return 2
    print(detail)
    rows: list[tuple[str, float, str]] = []
    api = client()

    if not args.skip_base_cold:
        base = build_offline_base(apt_source(), tag=BENCH_BASE, progress=quiet)
        rows.append(
            ("offline base image, cold (debootstrap + import)", base.seconds, f"python {base.python_version}")
        )
        api.images.remove(BENCH_BASE, force=True)
    started = time.monotonic()
    base = ensure_base_image("python:3.11-slim", progress=quiet)
    first = time.monotonic() - started
    warm = []
    for _ in range(args.repeat):
        started = time.monotonic()
        ensure_base_image("python:3.11-slim", progress=quiet)
        warm.append(time.monotonic() - started)
    rows.append((f"base image for python:3.11-slim, first call ({base.source})", first, base.ref))
    rows.append(("base image, warm (cached)", statistics.median(warm), base.ref))

    with tempfile.TemporaryDirectory(prefix="labkit-bench-") as tmp:
        context = Path(tmp) / "demo-app"
        shutil.copytree(
            REPO / "stacks" / "demo-app", context, ignore=shutil.ignore_patterns("wheels", "__pycache__")
        )
        cold = build_image(context, tag=BENCH_DEMO, nocache=True, progress=quiet)
        wheel_s = cold.wheelhouse.seconds if cold.wheelhouse else 0.0
        rows.append(
            ("demo image, cold (new wheelhouse, no layer cache)", cold.seconds, f"{cold.size_mb:.1f} MB")
        )
        rows.append(
            (
                "  of which the wheelhouse",
                wheel_s,
                f"{len(cold.wheelhouse.wheels) if cold.wheelhouse else 0} wheels",
            )
        )
        warm_builds = [
            build_image(context, tag=BENCH_DEMO, progress=quiet).seconds for _ in range(args.repeat)
        ]
        rows.append(
            ("demo image, warm (layer cache + wheelhouse reused)", statistics.median(warm_builds), "")
        )
        single = build_image(
            context, tag=BENCH_DEMO + "-single", dockerfile="Dockerfile.single-stage", progress=quiet
        )
        rows.append(
            (
                "single-stage demo image (own layers cold, wheelhouse reused)",
                single.seconds,
                f"{single.size_mb:.1f} MB",
            )
        )
    for tag in (BENCH_DEMO, BENCH_DEMO + "-single"):
        api.images.remove(tag, force=True)

    width = max(len(r[0]) for r in rows)
    print(f"\n{'build':<{width}}  {'seconds':>8}  note")
    for name, seconds, note in rows:
        print(f"{name:<{width}}  {seconds:>8.2f}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
