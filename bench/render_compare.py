"""Pixel differences between the local engine's outputs now and at another commit, on real garments.

    .venv/bin/python -m bench.render_compare --images ../shared/garments --against eee582d
    .venv/bin/python -m bench.render_compare --images ../shared/garments --against eee582d --big --sizes 4096

The other commit's `packshots` package is exported (git archive) into a temporary folder and imported as
`packshots_then`, so both versions render in one process from the same stored cutouts (segmented once with
today's code, cached in --cache as the adapter's PNGs; --big: from the photos upscaled to 12 MP). Every case
renders as PNG; printed per case: the largest difference in levels and the share of pixels that differ.
For a transparent output, alpha and the colour as seen over mid-grey are compared (the raw colour of a
nearly transparent pixel is its premultiplied colour divided by an alpha of 1/255 or so, and means nothing).
"""

from __future__ import annotations

import argparse
import importlib
import io
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from .render_memory import _photo_bytes

PHOTOS = (
    "dress_14a73972.jpg",
    "t-shirt_15c6d0c1.jpg",
    "pants_0ccc318a.jpg",
    "shirt_00e745c9.jpg",
    "skirt_038e4976.jpg",
    "shorts_02fc081e.jpg",
    "longsleeve_16e5d441.jpg",
    "outwear_337e74ee.jpg",
)
CASES = {
    "white_cutout": {"style": "white_cutout", "shadow": "contact"},
    "white_soft": {"style": "white_cutout", "shadow": "soft_drop"},
    "flat_lay": {"style": "flat_lay", "surface": "linen", "shadow": "natural"},
    "flat_oak": {"style": "flat_lay", "surface": "light oak", "shadow": "contact"},
    "flat_marble": {"style": "flat_lay", "surface": "white marble", "shadow": "soft_drop"},
    "flat_sage": {"style": "flat_lay", "background": "sage", "shadow": "natural"},
    "backdrop": {"style": "marketing_ready", "background": "sage green", "shadow": "soft_drop"},
    "ghost": {
        "style": "ghost_mannequin",
        "background": "white to navy gradient",
        "lighting": "dramatic warm",
        "shadow": "soft_drop",
    },
    "transparent": {"style": "white_cutout", "shadow": "contact", "background": "transparent"},
}


def then_package(commit: str) -> object:
    """The local engine adapter of `commit`, importable beside today's."""
    folder = Path(tempfile.mkdtemp(prefix="packshots-then-"))
    archive = subprocess.run(["git", "archive", commit, "packshots"], capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    (folder / "packshots").rename(folder / "packshots_then")
    for path in (folder / "packshots_then").rglob("*.py"):
        text = path.read_text()
        path.write_text(re.sub(r"\b(from|import) packshots\b", r"\1 packshots_then", text))
    sys.path.insert(0, str(folder))
    return importlib.import_module("packshots_then.engines.local.adapter")


def render(adapter: object, data: bytes, case: str, size: tuple[int, int], variation: int) -> np.ndarray:
    from packshots.engines.base import PreparedInput

    instruction = {**CASES[case], "options": {"width": size[0], "height": size[1], "format": "png"}}
    adapter.decode_cutout.cache_clear()
    output = adapter.LocalEngine().render(
        [PreparedInput(lambda: data, 0.9, False, "")], instruction, variation=variation, seed=3
    )
    return np.asarray(Image.open(io.BytesIO(output.data)))


def difference(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """(largest difference in levels, share of pixels that differ)."""
    share = float((a != b).any(-1).mean())
    if a.shape[2] == 4:

        def over_grey(x: np.ndarray) -> np.ndarray:
            opacity = x[..., 3:] / 255
            return x[..., :3] * opacity + 128 * (1 - opacity)

        alpha = np.abs(a[..., 3].astype(int) - b[..., 3]).max()
        colour = np.abs(over_grey(a.astype(float)) - over_grey(b.astype(float))).max()
        return max(float(alpha), float(colour)), share
    return float(np.abs(a.astype(int) - b).max()), share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--against", required=True, help="the commit to compare with")
    parser.add_argument("--photos", nargs="+", default=list(PHOTOS))
    parser.add_argument("--sizes", nargs="+", default=["2048x2048", "1536x2048"])
    parser.add_argument("--cases", nargs="+", default=list(CASES), choices=list(CASES))
    parser.add_argument("--big", action="store_true", help="cutouts of the photos upscaled to 12 MP")
    parser.add_argument("--cache", type=Path, default=Path("/tmp/render_memory_cutouts"))
    args = parser.parse_args()

    from packshots.engines.local import adapter as now

    then = then_package(args.against)
    source = "12MP" if args.big else "photo"
    worst: dict[str, float] = {}
    print("| photo | size | case | variation | max Δ levels | pixels differing |")
    print("|---|---|---|---:|---:|---:|")
    for name in args.photos:
        path = args.images / name
        cached = args.cache / f"{path.stem}-{source}.png"
        if not cached.exists():
            args.cache.mkdir(parents=True, exist_ok=True)
            cached.write_bytes(now.LocalEngine(threads=2).prepare(_photo_bytes(path, source)).load())
        data = cached.read_bytes()
        for size in args.sizes:
            width, height = (int(v) for v in size.split("x"))
            for case in args.cases:
                for variation in (0, 1):
                    a = render(then, data, case, (width, height), variation)
                    b = render(now, data, case, (width, height), variation)
                    delta, share = difference(a, b)
                    worst[case] = max(worst.get(case, 0.0), delta)
                    label = f"{path.stem}-{source} | {size} | {case} | {variation}"
                    print(f"| {label} | {delta:.2f} | {share:.2e} |", flush=True)
    print("\nlargest difference per case: " + ", ".join(f"{c} {d:.2f}" for c, d in worst.items()))


if __name__ == "__main__":
    main()
