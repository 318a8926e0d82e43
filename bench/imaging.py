"""Time the imaging pipeline per stage on real photos, small and upscaled to 12 MP.

    .venv/bin/python -m bench.imaging --images ../shared/garments --repeat 3

Prints a Markdown table (median and p90 per stage, peak RSS) and rewrites the figures section of
bench/README.md (skip with --no-readme). Upscaling happens here, outside the timers.
"""

from __future__ import annotations

import argparse
import datetime
import io
import os
import platform
import re
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path

from PIL import Image

from packshots.imaging import available_networks, compose, encode, load_image, segment

README = Path(__file__).with_name("README.md")
MARKERS = ("<!-- figures:start -->", "<!-- figures:end -->")
STYLES = ("white_cutout", "flat_lay", "ghost_mannequin", "marketing_ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--limit", type=int, default=12, help="photos to use (evenly spread); 0 = all")
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime intra-op threads")
    parser.add_argument("--no-readme", action="store_true")
    args = parser.parse_args()

    paths = sorted(args.images.glob("*.jpg"))
    if args.limit:
        paths = paths[:: max(1, len(paths) // args.limit)][: args.limit]
    segment(load_image(paths[0].read_bytes()), threads=args.threads)  # load the network outside the timers

    times: dict[str, list[float]] = defaultdict(list)
    rss: dict[str, float] = {}
    reviews = 0
    for size in ("photo", "12MP"):
        for i, path in enumerate(paths):
            data = path.read_bytes() if size == "photo" else _upscaled(path.read_bytes())
            style = STYLES[i % len(STYLES)]
            for repeat in range(args.repeat):
                # The floor: what any output costs without segmentation (decode, resize to 2K, encode).
                _timed(times[f"{size}: floor (decode+resize 2K+jpg)"], lambda d=data: _floor(d))
                image = _timed(times[f"{size}: decode"], lambda d=data: load_image(d))
                cutout = _timed(times[f"{size}: segment"], lambda im=image: segment(im, threads=args.threads))
                packshot = _timed(
                    times[f"{size}: compose 2K"],
                    lambda c=cutout, s=style: compose(c, style=s, width=1536, height=2048, surface="oak"),
                )
                _timed(times[f"{size}: encode jpg 2K"], lambda p=packshot: encode(p, "jpg"))
                if size == "photo" and repeat == 0:  # once per photo: 4K is slow and only shows it works
                    _timed(
                        times["photo: compose+jpg 4K"],
                        lambda c=cutout, s=style: encode(compose(c, style=s, width=4096, height=4096), "jpg"),
                    )
            reviews += size == "photo" and cutout.needs_review
        rss[size] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for size in ("photo", "12MP"):
        times[f"{size}: per 2K output (compose+jpg)"] = [
            c + e for c, e in zip(times[f"{size}: compose 2K"], times[f"{size}: encode jpg 2K"], strict=True)
        ]

    table = _table(times, rss, len(paths), args, reviews)
    print(table)
    if not args.no_readme:
        text = README.read_text()
        start, end = text.index(MARKERS[0]) + len(MARKERS[0]), text.index(MARKERS[1])
        README.write_text(text[:start] + "\n" + table + "\n" + text[end:])


CPU: dict[int, list[float]] = defaultdict(list)  # CPU seconds of this process, keyed by id(bucket)


def _timed[T](bucket: list[float], work: Callable[[], T]) -> T:
    start, cpu = time.perf_counter(), time.process_time()
    result = work()
    bucket.append(time.perf_counter() - start)
    CPU[id(bucket)].append(time.process_time() - cpu)
    return result


def _floor(data: bytes) -> bytes:
    image = load_image(data)
    size = (1536, 2048) if image.height >= image.width else (2048, 1536)
    image = image.resize(size, Image.Resampling.LANCZOS)
    return encode(image, "jpg")


def _upscaled(data: bytes) -> bytes:
    image = load_image(data)
    size = (4000, 3000) if image.width >= image.height else (3000, 4000)
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _table(times: dict[str, list[float]], rss: dict[str, float], n: int, args, reviews: int) -> str:
    def p90(values: list[float]) -> float:
        return sorted(values)[min(len(values) - 1, round(0.9 * (len(values) - 1)))]

    cpu = re.sub(r"\s+", " ", platform.processor() or platform.machine())
    load = os.getloadavg()[0]
    lines = [
        f"Measured {datetime.date.today():%Y-%m-%d} on {os.cpu_count()} cores ({cpu}), Python "
        f"{platform.python_version()}; {n} photos × {args.repeat} repeats, "
        f"onnxruntime threads={args.threads}, networks: {'+'.join(available_networks())}; load average "
        f"{load:.1f} at the end (other work shares the cores: medians are inflated, min is the best case).",
        "",
        "| stage | median s | p90 s | min s | median CPU s |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, v in sorted(times.items()):
        cpu = CPU.get(id(v))
        cpu_text = f"{statistics.median(cpu):.3f}" if cpu else "–"
        lines.append(f"| {name} | {statistics.median(v):.3f} | {p90(v):.3f} | {min(v):.3f} | {cpu_text} |")
    lines += [
        "",
        f"Peak RSS: {rss['photo']:.0f} MB after the ~400 px photos, "
        f"{rss['12MP']:.0f} MB after the 12 MP ones.",
        f"Flagged for review: {reviews} of {n} photos.",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
