"""Where segmentation's time goes, step by step, in wall and CPU seconds (issue 12, "Speed").

    .venv/bin/python -m bench.segment_steps --images ../shared/garments --limit 4 --repeat 3

Runs the same steps as `segment()` one by one with timers around each, on the shared ~400 px photos and
on the same photos upscaled to 12 MP (outside the timers). CPU seconds are `time.process_time` (every thread
of the process summed): on a machine shared with other work they move far less than wall seconds.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from collections import defaultdict
from pathlib import Path

from PIL import Image

from packshots.imaging import load_image, segment


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--limit", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()

    paths = sorted(args.images.glob("*.jpg"))
    paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
    segment(load_image(paths[0].read_bytes()), threads=args.threads)  # load the networks outside the timers
    for size in ("photo", "12MP"):
        wall: dict[str, list[float]] = defaultdict(list)
        cpu: dict[str, list[float]] = defaultdict(list)
        for path in paths:
            data = path.read_bytes() if size == "photo" else _upscaled(path.read_bytes())
            for _ in range(args.repeat):
                timer = Timer()
                image = load_image(data)
                timer.lap("decode")
                segment(image, threads=args.threads, lap=timer.lap)
                timer.total()
                steps = timer.steps
                for name, (w, c) in steps.items():
                    wall[name].append(w)
                    cpu[name].append(c)
        print(f"\n{size} ({len(paths)} photos × {args.repeat}), threads={args.threads}")
        print(f"{'step':28s} {'wall med':>9s} {'CPU med':>9s}")
        for name in wall:
            print(f"{name:28s} {statistics.median(wall[name]):9.3f} {statistics.median(cpu[name]):9.3f}")


def _upscaled(data: bytes) -> bytes:
    image = load_image(data)
    size = (4000, 3000) if image.width >= image.height else (3000, 4000)
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


class Timer:
    """Accumulates (wall, CPU) seconds per named step."""

    def __init__(self) -> None:
        self.steps: dict[str, tuple[float, float]] = {}
        self._wall, self._cpu = time.perf_counter(), time.process_time()
        self._start = (self._wall, self._cpu)

    def lap(self, name: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.steps[name] = (wall - self._wall, cpu - self._cpu)
        self._wall, self._cpu = wall, cpu

    def total(self) -> None:
        self.steps["TOTAL"] = (self._wall - self._start[0], self._cpu - self._start[1])


if __name__ == "__main__":
    main()
