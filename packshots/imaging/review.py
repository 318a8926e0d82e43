"""Why a cutout may be wrong: plain-word warnings from evidence the pipeline already has.

Each check looks for one failure an audit saw go through unflagged: a large part the networks called
garment thrown away, an outline more ragged than the networks', something hanger-like above the garment,
a garment cut by the photo's edge, a cutout that is only a print, networks that disagree. Any warning
means "needs review". The thresholds were set on the labelled shared photos (bench/cutout_labels.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from . import matte

THROWN_AWAY = "a large part the networks saw as garment was removed"
RAGGED = "the outline is more ragged than the networks' (background bits or bites along the edge)"
HANGER = "something like a hanger or hook sticks up above the garment"
EDGE = "garment touches the photo's edge (it may be cut off)"
MOTIF = "the cutout may be only a print, not the whole garment"
DISAGREE = "the two segmentation networks disagree on this photo"
ONE_NETWORK = "only the small network is installed: run `make models` for the full one"


@dataclass
class Evidence:
    work: np.ndarray  # the photo at working resolution, RGB uint8
    mask: np.ndarray  # the final garment mask (bool)
    before_hanger: np.ndarray  # the mask before hanger removal
    fused: np.ndarray  # fused garment probability (float32 0..1)
    dist: np.ndarray  # background_distance: how unlike the border colours each pixel is
    probs: dict[str, np.ndarray]  # network name → probability


def judge(e: Evidence) -> tuple[float, tuple[str, ...]]:
    """Confidence (0..1) and the warnings; a cutout with any warning needs review."""
    warnings = []
    if thrown_away(e) > 0.03:
        warnings.append(THROWN_AWAY)
    if raggedness(e) > 1.3:
        warnings.append(RAGGED)
    if hanger_left(e.mask, e.dist):
        warnings.append(HANGER)
    if touches_edge(e.mask):
        warnings.append(EDGE)
    masks = [p > 0.5 for p in e.probs.values()]
    if mostly_motif(e.mask, masks):
        warnings.append(MOTIF)
    agreement = min((matte.iou(a, b) for a in masks for b in masks), default=1.0)
    if agreement < 0.9:
        warnings.append(DISAGREE)
    confidence = 0.5 * agreement + 0.5 * matte.iou(e.mask, e.fused > 0.5)
    if len(masks) < 2:
        confidence *= 0.85  # one network cannot be cross-checked
    confidence = max(0.0, confidence - 0.25 * len(warnings))
    return round(float(confidence), 3), tuple(warnings)


def thrown_away(e: Evidence) -> float:
    """The largest region the fused networks were sure of (p > 0.8) that the mask lost, per garment area.

    What hanger removal cut off at the top is not counted: that is wanted.
    """
    lost = (e.fused > 0.8) & ~e.mask & ~(e.before_hanger & ~e.mask & _above(e.mask))
    lost = cv2.morphologyEx(lost.astype(np.uint8), cv2.MORPH_OPEN, matte.disk(2))
    count, _, stats, _ = cv2.connectedComponentsWithStats(lost, connectivity=8)
    if count < 2:
        return 0.0
    return float(stats[1:, cv2.CC_STAT_AREA].max() / max(e.mask.sum(), 1))


def _above(mask: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(mask.any(1))
    out = np.zeros_like(mask)
    if len(rows):
        out[: rows[0]] = True
    return out


def raggedness(e: Evidence) -> float:
    """Outline length of the final mask over that of the networks' own (smooth) mask."""
    return _perimeter(e.mask) / max(_perimeter(e.fused > 0.5), 1.0)


def _perimeter(mask: np.ndarray) -> float:
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    return float(sum(cv2.arcLength(c, True) for c in contours))


def hanger_left(mask: np.ndarray, dist: np.ndarray) -> bool:
    """Hanger-like rows (see `matte.remove_hanger`) still on top of the garment, over ≥ 3 % of its height."""
    rows = np.flatnonzero(mask.any(1))
    if len(rows) < 20:
        return False
    body = np.percentile([np.ptp(np.flatnonzero(mask[y])) + 1 for y in rows], 75)
    narrow = 0
    for y in rows[: len(rows) // 4]:
        if not matte._hanger_like(mask[y], dist[y], body):
            break
        narrow += 1
    return narrow >= 0.03 * len(rows)


def touches_edge(mask: np.ndarray) -> bool:
    """Does the garment run into a side of the photo (more than 3 % of that side's length)?"""
    sides = (mask[0], mask[-1], mask[:, 0], mask[:, -1])
    return any(side.mean() > 0.03 for side in sides)


def mostly_motif(mask: np.ndarray, network_masks: list[np.ndarray]) -> bool:
    """A network saw a garment far larger than the cutout, around it: the cutout is likely only its print."""
    area = mask.sum()
    return any(m.sum() > 1.7 * area and (m & mask).sum() > 0.8 * area for m in network_masks)
