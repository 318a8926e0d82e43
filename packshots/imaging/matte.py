"""Classical mask and matte steps: GrabCut refinement, clean-up, a colour-model cross-check, edge refinement.

Masks are bool arrays, mattes float32 in 0..1, images uint8 RGB; all functions are pure.
"""

from __future__ import annotations

import cv2
import numpy as np


def disk(radius: int) -> np.ndarray:
    size = 2 * max(int(radius), 1) + 1
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def grabcut_refine(rgb: np.ndarray, prob: np.ndarray, *, iterations: int = 3) -> np.ndarray:
    """GrabCut seeded by the network: confident pixels are fixed, the uncertain band is decided by colour."""
    size = max(rgb.shape[:2])
    sure_fg = cv2.erode((prob > 0.9).astype(np.uint8), disk(size // 160)) > 0
    # Growing the "maybe garment" region (not the background) keeps soft edges out of the fixed background.
    maybe = cv2.dilate((prob >= 0.05).astype(np.uint8), disk(size // 64)) > 0
    if sure_fg.sum() < 64 or maybe.all():
        return prob > 0.5
    seeds = np.where(prob >= 0.5, cv2.GC_PR_FGD, cv2.GC_PR_BGD).astype(np.uint8)
    seeds[~maybe] = cv2.GC_BGD
    seeds[sure_fg] = cv2.GC_FGD
    # GrabCut is the slowest step: run it only on the box around the uncertain region, plus a margin
    # of background for its colour model.
    y0, y1, x0, x1 = bounding_box(maybe, pad=size // 20)
    roi = seeds[y0:y1, x0:x1].copy()
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.grabCut(
        np.ascontiguousarray(rgb[y0:y1, x0:x1, ::-1]), roi, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK
    )
    mask = np.zeros(prob.shape, bool)
    mask[y0:y1, x0:x1] = (roi == cv2.GC_FGD) | (roi == cv2.GC_PR_FGD)
    return mask


def remove_thin_parts(mask: np.ndarray) -> np.ndarray:
    """Drop hangers, hooks and strings: thin structures that stick out of the garment body.

    An opening scaled to the garment erases everything thinner than ~2 % of its size; detail within that
    distance of the surviving body comes back, so only parts that reach further out (a wire, a string)
    stay removed. Above the shoulders a coarser opening also takes plastic hanger hooks, which are thicker.
    Genuinely thin garment parts (straps) are the price.
    """
    if not mask.any():
        return mask
    side = np.sqrt(mask.sum())
    mask = _open_and_restore(mask, max(2, round(0.011 * side)))
    y0, y1, _, _ = bounding_box(mask, pad=0)
    top = np.zeros_like(mask)
    top[: y0 + round(0.15 * (y1 - y0))] = True
    coarse = _open_and_restore(mask, max(3, round(0.03 * side)))
    return keep_big_components(np.where(top, coarse, mask), min_fraction=0.2)


def _open_and_restore(mask: np.ndarray, k: int) -> np.ndarray:
    body = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(k))
    body = keep_big_components(body > 0, min_fraction=0.2)
    if not body.any():
        return mask
    near_body = cv2.dilate(body.astype(np.uint8), disk(round(0.4 * k) + 2)) > 0
    return keep_big_components(mask & near_body, min_fraction=0.2)


def keep_big_components(mask: np.ndarray, *, min_fraction: float) -> np.ndarray:
    """Keep connected parts at least `min_fraction` of the largest one (drops specks and stray fragments)."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 2:
        return mask.copy()
    areas = stats[1:, cv2.CC_STAT_AREA]
    keep = np.flatnonzero(areas >= min_fraction * areas.max()) + 1
    return np.isin(labels, keep)


def fill_holes(mask: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """Fill small holes (buttons, prints GrabCut lost) and holes the network calls garment.

    Large holes the network calls background stay open: they are usually real gaps between arm and body.
    """
    inverse = (~mask).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(inverse, connectivity=4)
    h, w = mask.shape
    filled = mask.copy()
    small = 0.004 * mask.sum()
    for label in range(1, count):
        x, y, bw, bh, area = stats[label]
        if x == 0 or y == 0 or x + bw == w or y + bh == h:
            continue
        hole = labels[y : y + bh, x : x + bw] == label
        if area < small or prob[y : y + bh, x : x + bw][hole].mean() > 0.5:
            filled[y : y + bh, x : x + bw] |= hole
    return filled


def border_model_mask(rgb: np.ndarray, *, clusters: int = 5) -> np.ndarray:
    """Independent hypothesis: whatever is unlike the colours of the photo's outer ring is the garment.

    k-means in LAB on the outer 4 % ring; each pixel's distance to the nearest ring cluster, in units of that
    cluster's spread, above a threshold is foreground. Rare ring clusters (the garment touching the frame)
    are not treated as background.
    """
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # lighting varies more than hue across a background: weigh lightness less
    h, w = lab.shape[:2]
    m = max(2, round(0.04 * min(h, w)))
    ring = np.ones((h, w), bool)
    ring[m:-m, m:-m] = False
    samples = lab[ring][:: max(1, ring.sum() // 4000)]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    dist = np.full((h, w), np.inf, np.float32)
    for c in range(clusters):
        members = samples[labels == c]
        if len(members) < 0.08 * len(samples):
            continue
        spread = max(float(np.sqrt(((members - centres[c]) ** 2).sum(1)).mean()), 4.0)
        dist = np.minimum(dist, np.sqrt(((lab - centres[c]) ** 2).sum(2)) / spread)
    dist = cv2.GaussianBlur(dist, (0, 0), 1.5)
    mask = dist > 2.5
    mask = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(max(h, w) // 200)) > 0
    mask = keep_big_components(mask, min_fraction=0.2)
    return fill_holes(mask, np.zeros(mask.shape, np.float32))


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """He et al.'s guided filter with a grey guide (box filters only, so no opencv-contrib needed)."""
    size = (2 * radius + 1, 2 * radius + 1)

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = mean(guide), mean(src)
    a = (mean(guide * src) - mean_i * mean_p) / (mean(guide * guide) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return mean(a) * guide + mean(b)


def refine_edges(rgb: np.ndarray, coarse: np.ndarray, *, scale: float) -> np.ndarray:
    """Snap an upscaled matte to the full-resolution image edges, only in a band around the boundary.

    `scale` is full-resolution pixels per working pixel; the band and filter radius grow with it because
    that is how far off the upscaled edge can be.
    """
    radius = max(2, round(2 * scale))
    hard = (coarse > 0.5).astype(np.uint8)
    band = cv2.morphologyEx(hard, cv2.MORPH_GRADIENT, disk(radius)) > 0
    if not band.any():
        return coarse
    y0, y1, x0, x1 = bounding_box(band, pad=2 * radius + 1)
    grey = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY).astype(np.float32) / 255
    fine = np.clip(guided_filter(grey, coarse[y0:y1, x0:x1], radius, 5e-3), 0, 1)
    alpha = coarse.copy()
    sub = band[y0:y1, x0:x1]
    alpha[y0:y1, x0:x1][sub] = fine[sub]
    return alpha


def decontaminate(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Remove background colour bleeding into semi-transparent edge pixels.

    Solves I = αF + (1−α)B for F with B the local background mean; where α is small that is ill-posed,
    so F leans on the local mean of the garment's own colour instead. The local means are smooth, so they
    are computed on a grid of at most ~640 px and read back at the edge pixels only: cheap at 12 MP.
    """
    edge = (alpha > 0.01) & (alpha < 0.99)
    if not edge.any():
        return rgb
    step = max(1, round(max(alpha.shape) / 640))
    size = (max(1, alpha.shape[1] // step), max(1, alpha.shape[0] // step))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_AREA)

    def local_mean(weight: np.ndarray) -> np.ndarray:
        weight = weight.astype(np.float32)
        num = cv2.GaussianBlur(small * weight[..., None], (0, 0), 3)
        return num / np.maximum(cv2.GaussianBlur(weight, (0, 0), 3), 1e-4)[..., None]

    ys, xs = np.nonzero(edge)
    cell = np.minimum(ys // step, size[1] - 1), np.minimum(xs // step, size[0] - 1)
    background = local_mean(small_alpha < 0.01)[cell]
    garment = local_mean(small_alpha > 0.99)[cell]
    image = rgb[ys, xs].astype(np.float32)
    a = alpha[ys, xs, None]
    solved = np.clip((image - (1 - a) * background) / np.maximum(a, 0.05), 0, 255)
    trust = np.clip((a - 0.3) / 0.5, 0, 1)
    out = rgb.copy()
    out[ys, xs] = np.round(trust * solved + (1 - trust) * garment).astype(np.uint8)
    return out


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def bounding_box(mask: np.ndarray, *, pad: int) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of a non-empty mask, padded and clipped to the array."""
    ys, xs = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    h, w = mask.shape
    return max(ys[0] - pad, 0), min(ys[-1] + pad + 1, h), max(xs[0] - pad, 0), min(xs[-1] + pad + 1, w)
