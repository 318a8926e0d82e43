"""Contact sheets of the white cutouts of every photo, for judging by eye (bench/cutout_labels.md).

    .venv/bin/python -m bench.cutout_sheet --images ../shared/garments --out var/sheets

One row per photo: the photo, its white cutout (shadow none, default framing) and the cutout over dark
magenta (shows halos and fringes), at the photo's own size, with the flag and its reasons printed under it.
Writes sheet-NN.png (4 photos each) and results.json (flag, reasons, confidence, seconds per photo); with
--labels it also prints how the flag separates the labelled verdicts.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from packshots.imaging import compose, load_image, segment

TILE = 400
PER_SHEET = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, required=True)
    parser.add_argument("--out", type=Path, default=Path("var/sheets"))
    parser.add_argument("--labels", type=Path, default=Path(__file__).with_name("cutout_labels.md"))
    parser.add_argument("--only", default="", help="regular expression on file names")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    args.out.mkdir(parents=True, exist_ok=True)
    paths = [p for p in sorted(args.images.glob("*.jpg")) if re.search(args.only, p.name)]
    results, rows = {}, []
    for path in paths:
        image = load_image(path.read_bytes())
        start = time.perf_counter()
        cutout = segment(image, threads=args.threads)
        seconds = time.perf_counter() - start
        white = compose(cutout, style="white_cutout", width=TILE, height=TILE, shadow="none")
        results[path.name] = {
            "needs_review": cutout.needs_review,
            "reasons": list(getattr(cutout, "warnings", ())),
            "confidence": cutout.confidence,
            "method": cutout.method,
            "seconds": round(seconds, 3),
        }
        rows.append(_row(path.name, image, cutout, white, results[path.name]))
        reasons = "; ".join(results[path.name]["reasons"])
        print(f"{path.name:28s} {seconds:5.2f} s  review={cutout.needs_review!s:5s} {reasons}")
    for i in range(0, len(rows), PER_SHEET):
        part = rows[i : i + PER_SHEET]
        sheet = Image.new("RGB", (part[0].width, sum(r.height for r in part)), (40, 40, 40))
        y = 0
        for row in part:
            sheet.paste(row, (0, y))
            y += row.height
        sheet.save(args.out / f"sheet-{i // PER_SHEET + 1:02d}.png")
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    seconds = [r["seconds"] for r in results.values()]
    median, most = statistics.median(seconds), max(seconds)
    print(f"segment median {median:.2f} s, max {most:.2f} s over {len(seconds)} photos")
    if args.labels.exists():
        print(flag_summary(read_labels(args.labels), results))


def _row(name: str, image: Image.Image, cutout, white: Image.Image, result: dict) -> Image.Image:
    photo = image.copy()
    photo.thumbnail((TILE, TILE))
    rgba = Image.fromarray(np.dstack([cutout.rgb, cutout.alpha]), "RGBA")
    rgba.thumbnail((TILE, TILE))
    dark = Image.new("RGB", (TILE, TILE), (90, 0, 70))
    dark.paste(rgba, ((TILE - rgba.width) // 2, (TILE - rgba.height) // 2), rgba)
    row = Image.new("RGB", (3 * TILE + 20, TILE + 34), (40, 40, 40))
    row.paste(photo, ((TILE - photo.width) // 2, (TILE - photo.height) // 2))
    row.paste(white, (TILE + 10, 0))
    row.paste(dark, (2 * TILE + 20, 0))
    flag = "REVIEW" if result["needs_review"] else "ok"
    text = f"{name}  {flag}  conf {result['confidence']:.2f}  {'; '.join(result['reasons'])}"
    colour = (255, 255, 0) if result["needs_review"] else (255, 255, 255)
    ImageDraw.Draw(row).text((4, TILE + 4), text[:190], fill=colour)
    return row


def read_labels(path: Path) -> dict[str, str]:
    """File name → verdict (clean / minor / failed) from lines like `- name.jpg: minor — defect`."""
    labels = {}
    for line in path.read_text().splitlines():
        match = re.match(r"[-*]\s*`?([\w.-]+\.jpg)`?\s*:\s*(clean|minor|failed)\b", line.strip())
        if match:
            labels[match[1]] = match[2]
    return labels


def flag_summary(labels: dict[str, str], results: dict[str, dict]) -> str:
    """Counts per verdict and how many of each the review flag caught."""
    lines = []
    for verdict in ("clean", "minor", "failed"):
        names = [n for n, v in labels.items() if v == verdict and n in results]
        flagged = sum(results[n]["needs_review"] for n in names)
        lines.append(f"{verdict}: {len(names)} ({flagged} flagged)")
    imperfect = [n for n, v in labels.items() if v != "clean" and n in results]
    if imperfect:
        caught = sum(results[n]["needs_review"] for n in imperfect)
        lines.append(f"imperfect flagged: {caught}/{len(imperfect)} = {caught / len(imperfect):.0%}")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
