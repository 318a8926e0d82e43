"""Median wall and CPU seconds of `segment()` on every 8th shared photo, twice each, for A/B runs.

    .venv/bin/python -m bench.segment_time --images ../shared/garments

Run it alternately in two checkouts (a `git worktree` of the older commit, with PACKSHOT_MODELS_DIR pointing
at the same weights) when the machine is too busy for absolute figures: the ratio between the two still
says whether a change costs time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from packshots.imaging import load_image, segment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    images = [load_image(p.read_bytes()) for p in sorted(args.images.glob("*.jpg"))[::8]]
    segment(images[0], threads=args.threads)  # load the networks outside the timers
    wall, cpu = [], []
    for image in images * 2:
        start, start_cpu = time.perf_counter(), time.process_time()
        segment(image, threads=args.threads)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    print(f"segment wall median {statistics.median(wall):.3f} s, CPU median {statistics.median(cpu):.3f} s")


if __name__ == "__main__":
    main()
