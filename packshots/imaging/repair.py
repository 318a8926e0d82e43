"""Repairing a cutout by hand: "keep" and "remove" brush strokes become hard GrabCut seeds.

Strokes are polylines in photo pixels (the upright photo, as `load_image` returns it) with a brush radius.
A repair changes the cutout only near the strokes: GrabCut decides the pixels within reach of a stroke,
everything farther away keeps its current matte, so fixing a sleeve never brings back a hanger the pipeline
had removed elsewhere. Pure NumPy/OpenCV, like the rest of `imaging`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

from . import matte
from .segment import WORK_LONG_SIDE, Cutout

# What one request may carry: enough for careful work on a big photo, small enough to check and draw at once.
MAX_STROKES = 200
MAX_POINTS = 20_000
MIN_RADIUS = 1
# A stroke reaches this share of the working image's long side around it: within that, GrabCut decides.
REACH = 1 / 8
# The stored cutout must match the photo on at least this share of its fully opaque or transparent pixels.
MIN_MATCH = 0.98


class StrokeError(ValueError):
    """Strokes we cannot use; the message names the stroke and point, for the person who sent them."""


class RepairError(ValueError):
    """A repair that cannot be made (the message is shown to users verbatim)."""


@dataclass(frozen=True)
class Stroke:
    radius: int  # brush radius in photo pixels
    points: tuple[tuple[int, int], ...]  # (x, y) in photo pixels


def max_radius(width: int, height: int) -> int:
    return max(4, max(width, height) // 4)


def parse_strokes(value: object, *, width: int, height: int, name: str) -> list[Stroke]:
    """Check JSON-decoded strokes, `[{"radius": r, "points": [[x, y], ...]}, ...]`, against a photo's size.

    Raises StrokeError naming the first bad item (`keep[2].points[7]: x must be 0–4000`); counts are capped
    before anything is looked at closely, so hostile input costs little.
    """
    if not isinstance(value, list):
        raise StrokeError(f"{name}: must be a list of strokes")
    if len(value) > MAX_STROKES:
        raise StrokeError(f"{name}: at most {MAX_STROKES} strokes")
    strokes = []
    top = max_radius(width, height)
    for i, item in enumerate(value):
        where = f"{name}[{i}]"
        if not isinstance(item, dict) or set(item) != {"radius", "points"}:
            raise StrokeError(f'{where}: must be {{"radius": …, "points": [[x, y], …]}}')
        radius, points = item["radius"], item["points"]
        if not _is_number(radius) or not MIN_RADIUS <= radius <= top:
            raise StrokeError(f"{where}.radius: must be a number from {MIN_RADIUS} to {top}")
        if not isinstance(points, list) or not 1 <= len(points) <= MAX_POINTS:
            raise StrokeError(f"{where}.points: must be a list of 1–{MAX_POINTS} points")
        checked = []
        for j, point in enumerate(points):
            if not isinstance(point, list) or len(point) != 2 or not all(_is_number(v) for v in point):
                raise StrokeError(f"{where}.points[{j}]: must be [x, y] with two numbers")
            x, y = point
            if not 0 <= x <= width:
                raise StrokeError(f"{where}.points[{j}]: x must be 0–{width}")
            if not 0 <= y <= height:
                raise StrokeError(f"{where}.points[{j}]: y must be 0–{height}")
            checked.append((min(round(x), width - 1), min(round(y), height - 1)))
        strokes.append(Stroke(round(radius), tuple(checked)))
    return strokes


def check_total(*groups: list[Stroke]) -> None:
    """Refuse requests with no stroke at all, or more points than we draw in one go."""
    strokes = [s for group in groups for s in group]
    if not strokes:
        raise StrokeError("Paint at least one keep or remove stroke.")
    if len(strokes) > MAX_STROKES:
        raise StrokeError(f"At most {MAX_STROKES} strokes in one repair.")
    if sum(len(s.points) for s in strokes) > MAX_POINTS:
        raise StrokeError(f"At most {MAX_POINTS:,} points in one repair.")


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def rasterize(strokes: list[Stroke], shape: tuple[int, int]) -> np.ndarray:
    """The pixels the brush covered (bool, `shape` = (height, width))."""
    canvas = np.zeros(shape, np.uint8)
    for stroke in strokes:
        points = np.array(stroke.points, np.int32)
        for x, y in points[:1]:
            cv2.circle(canvas, (int(x), int(y)), stroke.radius, 1, -1)
        if len(points) > 1:
            # OpenCV draws thick lines with round caps and joins; thickness 2r covers r pixels either side.
            cv2.polylines(canvas, [points], False, 1, thickness=2 * stroke.radius, lineType=cv2.LINE_8)
    return canvas > 0


def locate(photo: np.ndarray, rgb: np.ndarray, alpha: np.ndarray) -> tuple[int, int]:
    """Where a stored cutout (a crop of the photo) sits in the photo: its (x, y) offset.

    `segment` stores the crop, not its position; the crop's pixels equal the photo's wherever its alpha is
    fully opaque or transparent (only edge pixels are decontaminated), so the offset is found exactly: a
    coarse match on small copies, then a masked match of one textured patch at full resolution. Raises
    RepairError when the cutout does not line up with the photo.
    """
    ph, pw = photo.shape[:2]
    ch, cw = alpha.shape
    if ch > ph or cw > pw:
        raise RepairError("The stored cutout is larger than its photo: run the job again.")
    f = max(1, math.ceil(max(ph, pw) / 512))
    if f > 1 and (ch // f >= 8 and cw // f >= 8):
        small = cv2.resize(photo, (pw // f, ph // f), interpolation=cv2.INTER_AREA)
        tmpl = cv2.resize(rgb, (cw // f, ch // f), interpolation=cv2.INTER_AREA)
        scores = cv2.matchTemplate(small, tmpl, cv2.TM_SQDIFF)
        _, _, (sx, sy), _ = cv2.minMaxLoc(scores)
        guess, slack = (sx * f, sy * f), 2 * f + 2
    else:
        guess, slack = (0, 0), max(ph, pw)
    x, y = _refine(photo, rgb, alpha, guess, slack)
    # Checked on every 3rd row and column: as telling as all of them, and fast at 40 MP.
    crop, rgb_s, alpha_s = photo[y : y + ch : 3, x : x + cw : 3], rgb[::3, ::3], alpha[::3, ::3]
    exact = (alpha_s == 0) | (alpha_s == 255)
    if exact.any() and (crop[exact] == rgb_s[exact]).all(axis=1).mean() < MIN_MATCH:
        raise RepairError("The stored cutout does not line up with its photo: run the job again.")
    return x, y


def _refine(
    photo: np.ndarray, rgb: np.ndarray, alpha: np.ndarray, guess: tuple[int, int], slack: int
) -> tuple[int, int]:
    ph, pw = photo.shape[:2]
    ch, cw = alpha.shape
    # The patch of the crop with the most texture (a flat patch would match anywhere nearby).
    size = (min(ch, 256), min(cw, 256))
    best, corner = -1.0, (0, 0)
    for py in np.linspace(0, ch - size[0], 4).astype(int):
        for px in np.linspace(0, cw - size[1], 4).astype(int):
            spread = float(rgb[py : py + size[0], px : px + size[1]].std())
            if spread > best:
                best, corner = spread, (int(px), int(py))
    px, py = corner
    patch = rgb[py : py + size[0], px : px + size[1]]
    weight = alpha[py : py + size[0], px : px + size[1]]
    mask = np.repeat(((weight == 0) | (weight == 255)).astype(np.float32)[..., None], 3, axis=2)
    # The window of photo offsets to try for the crop's corner, clipped to where the crop fits.
    x0, x1 = max(0, guess[0] - slack), min(pw - cw, guess[0] + slack)
    y0, y1 = max(0, guess[1] - slack), min(ph - ch, guess[1] + slack)
    region = photo[y0 + py : y1 + py + size[0], x0 + px : x1 + px + size[1]]
    scores = cv2.matchTemplate(region.astype(np.float32), patch.astype(np.float32), cv2.TM_SQDIFF, mask=mask)
    _, _, (dx, dy), _ = cv2.minMaxLoc(scores)
    return x0 + dx, y0 + dy


def place(alpha: np.ndarray, offset: tuple[int, int], shape: tuple[int, int]) -> np.ndarray:
    """A crop's matte (uint8) placed in a photo-sized float32 matte, 0..1."""
    full = np.zeros(shape, np.float32)
    x, y = offset
    full[y : y + alpha.shape[0], x : x + alpha.shape[1]] = alpha.astype(np.float32) / 255
    return full


def repair(
    image_rgb: np.ndarray,
    cutout_alpha: np.ndarray,
    keep: np.ndarray,
    remove: np.ndarray,
    *,
    confidence: float = 0.0,
) -> Cutout:
    """A new cutout of `image_rgb`: the current matte (photo-sized, 0..1) corrected by the strokes.

    `keep` and `remove` are photo-sized bool masks; they are hard constraints (remove wins where both
    were painted). GrabCut runs at the pipeline's working resolution, seeded by the current matte, and the
    edge is refined at full resolution as `segment` does. The result is cropped like `segment`'s; a person
    has looked at it, so it is not flagged for review (`confidence` is carried over unchanged).
    """
    keep = keep & ~remove
    h, w = image_rgb.shape[:2]
    scale = max(h, w) / WORK_LONG_SIDE if max(h, w) > WORK_LONG_SIDE else 1.0
    size = (round(w / scale), round(h / scale))

    def shrink(x: np.ndarray) -> np.ndarray:
        return cv2.resize(x, size, interpolation=cv2.INTER_AREA) if scale > 1 else x

    work = shrink(image_rgb)
    current = shrink(cutout_alpha.astype(np.float32)) > 0.5
    # Any coverage counts at the working size: a thin stroke must not vanish when shrunk.
    keep_w = shrink(keep.astype(np.uint8) * 255) > 0
    remove_w = shrink(remove.astype(np.uint8) * 255) > 0
    keep_w &= ~remove_w
    reach = cv2.dilate((keep_w | remove_w).astype(np.uint8), matte.disk(round(REACH * max(size)))) > 0

    mask = _grabcut(work, current, keep_w, remove_w, reach)
    mask = _clean(mask, keep_w, remove_w, reach)
    if not mask.any():
        raise RepairError("These strokes would remove the whole garment.")

    # Back to full resolution, inside the box around old and new garment.
    both = mask | current
    y0, y1, x0, x1 = matte.bounding_box(both, pad=max(2, round(0.02 * max(size))))

    def full(v: int, limit: int) -> int:
        return min(round(v * scale), limit)

    fy0, fy1, fx0, fx1 = full(y0, h), full(y1, h), full(x0, w), full(x1, w)
    crop = image_rgb[fy0:fy1, fx0:fx1]
    alpha = cutout_alpha[fy0:fy1, fx0:fx1].copy()
    # Only around the strokes is the edge refined again (the costly full-resolution step); farther away the
    # old matte stays exactly, and the seam is feathered over a few working pixels.
    ry0, ry1, rx0, rx1 = matte.bounding_box(reach, pad=8)
    ry0, ry1, rx0, rx1 = max(ry0, y0), min(ry1, y1), max(rx0, x0), min(rx1, x1)
    gy0, gy1, gx0, gx1 = full(ry0, h), full(ry1, h), full(rx0, w), full(rx1, w)
    if gy1 > gy0 and gx1 > gx0:
        region = (gx1 - gx0, gy1 - gy0)
        soft = cv2.GaussianBlur(mask[ry0:ry1, rx0:rx1].astype(np.float32), (0, 0), 0.7)
        coarse = cv2.resize(soft, region, interpolation=cv2.INTER_LINEAR)
        fresh = matte.refine_edges(image_rgb[gy0:gy1, gx0:gx1], coarse, scale=scale)
        near = cv2.GaussianBlur(reach[ry0:ry1, rx0:rx1].astype(np.float32), (0, 0), 2.0)
        near = cv2.resize(near, region, interpolation=cv2.INTER_LINEAR)
        old = alpha[gy0 - fy0 : gy1 - fy0, gx0 - fx0 : gx1 - fx0]
        old[...] = near * fresh + (1 - near) * old
    alpha[keep[fy0:fy1, fx0:fx1]] = 1.0
    alpha[remove[fy0:fy1, fx0:fx1]] = 0.0
    alpha = np.clip(alpha, 0, 1)

    # Crop to what is left, with the pipeline's margin.
    solid = alpha > 0.5 / 255
    if not solid.any():
        raise RepairError("These strokes would remove the whole garment.")
    by0, by1, bx0, bx1 = matte.bounding_box(solid, pad=max(2, round(0.02 * max(h, w))))
    alpha = alpha[by0:by1, bx0:bx1]
    crop = crop[by0:by1, bx0:bx1]
    return Cutout(
        rgb=matte.decontaminate(crop, alpha),
        alpha=np.round(alpha * 255).astype(np.uint8),
        confidence=confidence,
        needs_review=False,
        method="repaired",
        box=(fx0 + bx0, fy0 + by0, bx1 - bx0, by1 - by0),
    )


def _grabcut(
    work: np.ndarray, current: np.ndarray, keep: np.ndarray, remove: np.ndarray, reach: np.ndarray
) -> np.ndarray:
    """GrabCut decides the pixels within reach of a stroke; the strokes and everything else are fixed."""
    seeds = np.where(current, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    seeds[reach] = np.where(current[reach], cv2.GC_PR_FGD, cv2.GC_PR_BGD)
    seeds[keep] = cv2.GC_FGD
    seeds[remove] = cv2.GC_BGD
    # The box around the undecided pixels plus a margin of fixed ones, for GrabCut's colour models.
    pad = max(work.shape[:2]) // 20
    y0, y1, x0, x1 = matte.bounding_box(reach, pad=pad)
    roi = seeds[y0:y1, x0:x1].copy()
    foreground = np.isin(roi, (cv2.GC_FGD, cv2.GC_PR_FGD))
    if foreground.any() and not foreground.all():  # GrabCut needs samples of both
        bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
        cv2.setRNGSeed(0)  # GrabCut's k-means starts at random: the same strokes give the same cutout
        image = np.ascontiguousarray(work[y0:y1, x0:x1, ::-1])
        cv2.grabCut(image, roi, None, bgd, fgd, 3, cv2.GC_INIT_WITH_MASK)
    mask = np.isin(seeds, (cv2.GC_FGD, cv2.GC_PR_FGD))
    mask[y0:y1, x0:x1] = np.isin(roi, (cv2.GC_FGD, cv2.GC_PR_FGD))
    return mask


def _clean(mask: np.ndarray, keep: np.ndarray, remove: np.ndarray, reach: np.ndarray) -> np.ndarray:
    """The pipeline's clean-up, only where GrabCut decided: drop new specks, fill small new holes.

    A speck a keep stroke touches stays (the user asked for it); a hole a remove stroke touches stays open.
    """
    mask = mask.copy()
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count > 2:
        areas = stats[:, cv2.CC_STAT_AREA]
        kept = np.bincount(labels[keep], minlength=count) > 0
        outside = np.bincount(labels[~reach], minlength=count) > 0
        small = areas < 0.2 * areas[1:].max()
        drop = small & ~kept & ~outside
        drop[0] = False
        mask[drop[labels]] = False
    count, labels, stats, _ = cv2.connectedComponentsWithStats((~mask).astype(np.uint8), connectivity=4)
    if count > 1:
        h, w = mask.shape
        x, y, bw, bh, areas = (stats[:, i] for i in range(5))
        border = (x == 0) | (y == 0) | (x + bw == w) | (y + bh == h)
        touched = np.bincount(labels[remove], minlength=count) > 0
        outside = np.bincount(labels[~reach], minlength=count) > 0
        fill = (areas < 0.004 * mask.sum()) & ~border & ~touched & ~outside
        fill[0] = False
        mask[fill[labels]] = True
    mask[keep] = True
    mask[remove] = False
    return mask
