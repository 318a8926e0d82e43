"""Contact sheets of real garments on every flat-lay surface and with every shadow, for judging by eye.

    .venv/bin/python -m bench.style_sheet --images ../shared/garments --out /tmp/style_sheet

Cutouts come from the local segmentation (slow), cached as PNGs in --cache, so re-rendering after a change
to compose.py or surfaces.py takes seconds. Writes, into --out (keep it outside git):
- surface-<word>.png: the garments as 1K flat lays on that surface (downsized), then a 1:1 crop of a 2K render
  (the texture as a customer zooming in sees it);
- shadow-<style>.png: one row per shadow value, the garments at the default framing;
- prints the white cutout's fill (compliance.product_box on the rendered image) per garment, and the CPU
  time of each surface alone on a 2K and a 4K canvas (min of --repeat runs; process time, not wall time,
  because the machine is shared). Judgements go to bench/style_labels.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from packshots import compliance
from packshots.imaging import Cutout, compose, load_image, segment, surfaces
from packshots.imaging.compose import SHADOWS

GARMENTS = (
    "dress_14a73972.jpg",
    "t-shirt_15c6d0c1.jpg",
    "pants_0ccc318a.jpg",
    "shirt_00e745c9.jpg",
    "skirt_038e4976.jpg",
    "shorts_02fc081e.jpg",
)
SURFACES = (
    "linen",
    "cotton",
    "canvas",
    "denim",
    "light oak",
    "walnut",
    "white marble",
    "black marble",
    "concrete",
    "stone",
    "slate",
    "terrazzo",
    "paper",
    "kraft paper",
    "sage",  # no material: the colour, plainly
)
TILE = 480
LABEL = 30


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("/tmp/style_sheet"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/style_cutouts"))
    parser.add_argument("--names", nargs="*", default=list(GARMENTS))
    parser.add_argument("--surfaces", nargs="*", default=list(SURFACES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip", nargs="*", default=[], choices=["surfaces", "shadows", "fill", "timing"])
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    cutouts = {name: cached_cutout(args.images / name, args.cache) for name in args.names}

    if "surfaces" not in args.skip:
        for word in args.surfaces:
            # Rendered at 1K (a real output size) and shown at TILE px, as a gallery thumbnail.
            tiles = [
                compose(c, style="flat_lay", width=1024, height=1024, surface=word, seed=3).resize(
                    (TILE, TILE), Image.Resampling.LANCZOS
                )
                for c in cutouts.values()
            ]
            big = compose(
                next(iter(cutouts.values())), style="flat_lay", width=2048, height=2048, surface=word
            )
            crop = big.crop((0, 0, TILE * 2, TILE))  # a corner: surface only, at full resolution
            sheet = _sheet([[*tiles], [crop]], [word, "2K, 1:1 crop of the top-left corner"])
            sheet.save(args.out / f"surface-{word.replace(' ', '-')}.png")
            print("wrote", args.out / f"surface-{word.replace(' ', '-')}.png")

    if "shadows" not in args.skip:
        for style, surface in (("white_cutout", ""), ("flat_lay", "linen")):
            rows = [
                [
                    compose(c, style=style, width=TILE, height=TILE, shadow=shadow, surface=surface, seed=3)
                    for c in cutouts.values()
                ]
                for shadow in SHADOWS
            ]
            sheet = _sheet(rows, [f"{style}: shadow {shadow}" for shadow in SHADOWS])
            sheet.save(args.out / f"shadow-{style}.png")
            print("wrote", args.out / f"shadow-{style}.png")

    if "fill" not in args.skip:
        for name, cutout in cutouts.items():
            for width, height in ((2048, 2048), (1536, 2048)):
                image = np.asarray(compose(cutout, style="white_cutout", width=width, height=height))
                fills = [compliance.fill_ratio(compliance.product_box(image))]
                for variation in (1, 2, 3):
                    varied = compose(
                        cutout, style="white_cutout", width=width, height=height, seed=5, variation=variation
                    )
                    fills.append(compliance.fill_ratio(compliance.product_box(np.asarray(varied))))
                shown = " ".join(f"{f:.3f}" for f in fills)
                print(f"fill {name:24s} {width}×{height}: default + 3 variations {shown}")

    if "timing" not in args.skip:
        for side in (2048, 4096):
            canvas = np.empty((side, side, 3), np.uint8)
            for kind in surfaces.PAINTERS:
                seconds = []
                for i in range(args.repeat):
                    canvas[:] = (200, 190, 180)
                    start = time.process_time()
                    surfaces.paint(canvas, kind, seed=i)
                    seconds.append(time.process_time() - start)
                print(
                    f"surface {kind:9s} {side}²: min {min(seconds) * 1000:5.1f} ms CPU, "
                    f"max {max(seconds) * 1000:5.1f} ms over {args.repeat}"
                )


def cached_cutout(path: Path, cache: Path) -> Cutout:
    """The cutout of one photo, segmented once and kept as an RGBA PNG."""
    cache.mkdir(parents=True, exist_ok=True)
    stored = cache / f"{path.stem}.png"
    if not stored.exists():
        cutout = segment(load_image(path.read_bytes()), threads=2)
        Image.fromarray(np.dstack([cutout.rgb, cutout.alpha]), "RGBA").save(stored)
    rgba = np.asarray(Image.open(stored).convert("RGBA"))
    return Cutout(
        rgb=rgba[..., :3].copy(),
        alpha=rgba[..., 3].copy(),
        confidence=1.0,
        needs_review=False,
        method="cached",
    )


def _sheet(rows: list[list[Image.Image]], labels: list[str]) -> Image.Image:
    width = max(sum(tile.width for tile in row) for row in rows)
    height = sum(max(tile.height for tile in row) + LABEL for row in rows)
    sheet = Image.new("RGB", (width, height), (40, 40, 40))
    draw = ImageDraw.Draw(sheet)
    y = 0
    for row, label in zip(rows, labels, strict=True):
        draw.text((8, y + 8), label, fill=(235, 235, 235))
        x = 0
        for tile in row:
            sheet.paste(tile, (x, y + LABEL))
            x += tile.width
        y += max(tile.height for tile in row) + LABEL
    return sheet


if __name__ == "__main__":
    main()
