"""Peak memory and time of one local-engine output (LocalEngine.render), each case in a fresh process.

    .venv/bin/python -m bench.render_memory --images ../shared/garments --repeat 3
    .venv/bin/python -m bench.render_memory --images ../shared/garments --worker --sizes 4096

Cases: 2048² and 4096² JPEG outputs of a white cutout (contact shadow), a flat lay (linen, natural
shadow) and a coloured backdrop (marketing_ready, "sage green", soft drop) — and, with --cases, a
transparent PNG (white_cutout, background "transparent") — rendered from the cutout of a
~400 px photo and of the same photo upscaled to 12 MP (outside the timers, as bench/imaging.py does).
Cutouts are segmented once and cached as the adapter's PNGs in --cache.

Every run is its own child process: it reads the cutout PNG, (with --worker) loads the networks and
segments the photo first, as a worker that prepared the job holds them, then resets VmHWM
(/proc/self/clear_refs) and renders once. Printed per case, median of --repeat runs:
- `rss before`: resident memory just before the render (interpreter, libraries, networks if loaded);
- `peak`: VmHWM during the render (what the machine must have free for this process);
- `render Δ`: peak − rss before (what rendering itself adds);
- wall and CPU seconds of the render (decoding the stored cutout, compose, JPEG encode, thumbnail).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

CASES = {
    "white_cutout": {"style": "white_cutout", "shadow": "contact"},
    "flat_lay": {"style": "flat_lay", "surface": "linen", "shadow": "natural"},
    "backdrop": {"style": "marketing_ready", "background": "sage green", "shadow": "soft_drop"},
    # not run unless asked (--cases transparent): PNG, RGBA
    "transparent": {"style": "white_cutout", "background": "transparent", "shadow": "contact"},
}
DEFAULT_CASES = ("white_cutout", "flat_lay", "backdrop")
PHOTO = "dress_14a73972.jpg"


def _kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def _photo_bytes(path: Path, source: str) -> bytes:
    from PIL import Image

    from packshots.imaging import load_image

    data = path.read_bytes()
    if source == "photo":
        return data
    image = load_image(data)
    size = (4000, 3000) if image.width >= image.height else (3000, 4000)
    buffer = io.BytesIO()
    image.resize(size, Image.Resampling.BICUBIC).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def _child(spec: dict) -> dict:
    from packshots.engines.base import PreparedInput
    from packshots.engines.local.adapter import LocalEngine

    engine = LocalEngine(threads=spec["threads"])
    if spec["worker"]:
        photo = _photo_bytes(Path(spec["photo"]), spec["source"])
        prepared = engine.prepare(photo)
        del photo
    else:
        data = Path(spec["cutout"]).read_bytes()
        meta = json.loads(Path(spec["cutout"] + ".json").read_text())
        prepared = PreparedInput(lambda: data, meta["confidence"], meta["needs_review"], "")
    instruction = {
        **CASES[spec["case"]],
        "options": {
            "width": spec["size"],
            "height": spec["size"],
            "format": "png" if spec["case"] == "transparent" else "jpg",
        },
    }
    before = _kib("VmRSS")
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := current RSS
    wall, cpu = time.perf_counter(), time.process_time()
    output = engine.render([prepared], instruction, variation=0, seed=1)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    peak = _kib("VmHWM")
    assert output.width == spec["size"]
    return {"before_mb": before / 1024, "peak_mb": peak / 1024, "wall": wall, "cpu": cpu}


def _cutout(path: Path, source: str, cache: Path, threads: int) -> Path:
    """The adapter's stored cutout PNG for this photo (segmented once, then cached)."""
    from packshots.engines.local.adapter import LocalEngine

    target = cache / f"{path.stem}-{source}.png"
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        prepared = LocalEngine(threads=threads).prepare(_photo_bytes(path, source))
        target.write_bytes(prepared.load())
        meta = {"confidence": prepared.confidence, "needs_review": prepared.needs_review}
        Path(str(target) + ".json").write_text(json.dumps(meta))
    return target


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(_child(json.loads(sys.argv[2]))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--photo", default=PHOTO)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[2048, 4096])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), choices=list(CASES))
    parser.add_argument("--sources", nargs="+", default=["photo", "12MP"], choices=["photo", "12MP"])
    parser.add_argument("--threads", type=int, default=2, help="onnxruntime threads (segmentation)")
    parser.add_argument(
        "--worker", action="store_true", help="load the networks and segment in the child first"
    )
    parser.add_argument("--cache", type=Path, default=Path("/tmp/render_memory_cutouts"))
    args = parser.parse_args()

    path = args.images / args.photo
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    print(
        f"{args.photo}, {args.repeat} runs per case, each in a fresh process"
        f"{' after segmenting (networks loaded)' if args.worker else ''}; commit {commit.strip()}, "
        f"load average {os.getloadavg()[0]:.2f} at the start"
    )
    print(
        "| cutout | size | case | rss before MB | peak MB | render Δ MB | wall s | CPU s |\n"
        "|---|---:|---|---:|---:|---:|---:|---:|"
    )
    for source in args.sources:
        cutout = _cutout(path, source, args.cache, args.threads)
        for size in args.sizes:
            for case in args.cases:
                spec = {
                    "case": case,
                    "size": size,
                    "source": source,
                    "photo": str(path),
                    "cutout": str(cutout),
                    "worker": args.worker,
                    "threads": args.threads,
                }
                runs = []
                for _ in range(args.repeat):
                    child = subprocess.run(
                        [sys.executable, "-m", "bench.render_memory", "--child", json.dumps(spec)],
                        capture_output=True,
                        text=True,
                        check=True,
                    )
                    runs.append(json.loads(child.stdout.strip().splitlines()[-1]))

                def med(key: str, runs: list[dict] = runs) -> float:
                    return statistics.median(run[key] for run in runs)

                print(
                    f"| {source} | {size} | {case} | {med('before_mb'):.0f} | {med('peak_mb'):.0f} | "
                    f"{statistics.median(r['peak_mb'] - r['before_mb'] for r in runs):.0f} | "
                    f"{med('wall'):.2f} | {med('cpu'):.2f} |",
                    flush=True,
                )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
