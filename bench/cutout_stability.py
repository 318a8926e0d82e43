"""How stable the cutout and its review flag are under changes a new photo of the same garment would bring.

    .venv/bin/python -m bench.cutout_stability --images ../shared/garments

The labelled sheet (bench/cutout_labels.md) judges the pipeline on the 48 photos its thresholds were set on;
this asks how much of that carries over to photos it has never seen. Each photo is cut out as it is and in
variants a second shot would give: mirrored, 25 % smaller, 12 % darker, cropped by 4 % at every side. Per
variant it prints the median and worst IoU of the variant's mask (mapped back onto the photo) with the
original's, and how often the review flag changes. A pipeline tuned to the photos' exact pixels shows
here: low IoU on some photos, a flag that flips.
"""

from __future__ import annotations

import argparse
import re
import statistics
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

from packshots.imaging import load_image, segment
from packshots.imaging.matte import iou

CROP = 0.04


def variants(image: Image.Image) -> dict[str, tuple[Image.Image, callable]]:
    """name → (variant photo, function taking the variant's full alpha back to the original's frame)."""
    w, h = image.size
    dx, dy = round(CROP * w), round(CROP * h)

    def uncrop(alpha: np.ndarray) -> np.ndarray:
        out = np.zeros((h, w), alpha.dtype)
        out[dy : h - dy, dx : w - dx] = alpha
        return out

    def unscale(alpha: np.ndarray) -> np.ndarray:
        return np.asarray(Image.fromarray(alpha).resize((w, h), Image.BILINEAR))

    return {
        "mirrored": (ImageOps.mirror(image), lambda a: a[:, ::-1]),
        "smaller": (image.resize((round(0.75 * w), round(0.75 * h)), Image.LANCZOS), unscale),
        "darker": (ImageEnhance.Brightness(image).enhance(0.88), lambda a: a),
        "cropped": (image.crop((dx, dy, w - dx, h - dy)), uncrop),
    }


def full_alpha(cutout, size: tuple[int, int]) -> np.ndarray:
    w, h = size
    out = np.zeros((h, w), np.uint8)
    x, y, bw, bh = cutout.box
    out[y : y + bh, x : x + bw] = cutout.alpha
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--only", default="", help="regular expression on file names")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    paths = [p for p in sorted(args.images.glob("*.jpg")) if re.search(args.only, p.name)]
    scores: dict[str, list[tuple[float, str]]] = {}
    flips: dict[str, list[str]] = {}
    for path in paths:
        image = load_image(path.read_bytes())
        base = segment(image, threads=args.threads)
        mask = full_alpha(base, image.size) > 127
        for name, (variant, back) in variants(image).items():
            cut = segment(variant, threads=args.threads)
            other = back(full_alpha(cut, variant.size)) > 127
            scores.setdefault(name, []).append((iou(mask, other), path.name))
            if cut.needs_review != base.needs_review:
                flips.setdefault(name, []).append(path.name)
        print(path.name, " ".join(f"{n}={s[-1][0]:.3f}" for n, s in scores.items()), flush=True)
    print()
    for name, values in scores.items():
        ious = sorted(values)
        worst = ", ".join(f"{n} {v:.3f}" for v, n in ious[:3])
        changed = flips.get(name, [])
        print(
            f"{name:9s} IoU median {statistics.median(v for v, _ in ious):.3f}, worst {worst}; "
            f"flag changed on {len(changed)}/{len(ious)} {' '.join(changed)}"
        )


if __name__ == "__main__":
    main()
