"""Classical mask and matte steps: GrabCut refinement, clean-up, a colour-model cross-check, edge refinement.

Masks are bool arrays, mattes float32 in 0..1, images uint8 RGB; all functions are pure.
"""

from __future__ import annotations

import cv2
import numpy as np

# Undecided pixels GrabCut handles at full working resolution; more and it runs on a smaller copy.
GRABCUT_BUDGET = 40_000
# The same for `grow_by_colour`, whose band is most of the photo: at 10 000 it costs ~0.1 CPU s a photo.
GROW_BUDGET = 10_000
# A network at least this decided (`decisiveness`) has full weight in `fuse`; one less decided, less.
DECIDED = 0.5
# Share of the garment's height a cut hook must reach to count as one (fewer rows are a pointed top).
HANGER_CUT = 0.04
# How far off the line from the local background colour to the garment's an edge pixel may lie, as a share of
# that line's length, and still be bounded by `choke_background_edge` as a mix of the two.
MIX_SPREAD = 0.5
# A shorter cut after which `remove_hanger_remnant` still looks for a hanger's rest (not on the top edge).
SHORT_HANGER_CUT = 0.03
# Radius of the opening that takes the slivers `remove_hanger_remnant` leaves between what it cut (px).
SLIVER = 2
# A hook coloured near the garment is hook only where it is nearer the hook's colours by this factor.
NEAR_HOOK = 0.5
# About this many samples at most (every n-th pixel, n rounded up) for a settled colour model
# (`_cluster_distance`): every pixel of the body of a garment at working size (up to ~55 000), so which rows a
# mask ends on changes no sampling grid.
SETTLED_SAMPLES = 60_000
# How far above the waistband's smoothed top edge (px) a clip's jaw must stand to go (`remove_clips`).
JAW_TOLERANCE = 1.0
# A garment colour shaded by a factor in SHADE (a fold) counts as the garment in `choke_background_edge`
# where a pixel lies within SHADE_SPREAD of it, as a share of the pixel's distance to the background colour.
SHADE = (0.4, 1.0)
SHADE_SPREAD = 0.1
# `remove_cast_shadow` on a nearly colourless floor (grey carpet): the floor's hue (LAB a, b) needs this
# chroma to have a direction, in the lit floor or in the shadow along it (a strip of shadow goes when some
# of it shows the floor's hue this clearly), and the garment's hue must lie this far from it...
FAINT_FLOOR_CHROMA = 8.0
# ...but the lit floor itself must show at least this chroma: below it (a neutral grey floor, chroma 0-2) its
# "hue" is JPEG noise, and a dark trim of the garment's would pass for its shadow (the grey carpet: ~6).
FAINTEST_FLOOR_CHROMA = 4.0
FAINT_HUE_GAP = 12.0
# ...and a shadow pixel keeps the floor's hue (its distance from it at most this share of the gap) while
# it lost at least this share of the lightness between floor and garment (a mix loses both alike).
FAINT_HUE_SHARE = 0.3
FAINT_LIGHT_SHARE = 0.4
# `keep_white_on_blown_out`: a network's probability above which it faintly sees the garment (a hem corner
# whose white panel fades into a clipped floor; a clear background is ~0)...
SEEN = 0.25
# ...how deep (share of the garment's shorter side) a sliver between the outline and its hull may be to be a
# lost white panel or trim (the shorts' side panel: ~3 %; gaps between sleeve and body or the legs: deeper)...
BLOWN_SLIVER = 0.05
# ...and how white it must be: this share of its pixels at least WHITE_LEVEL in every channel (the review's
# white for a garment part, `review.WHITE`; the light wood under a hem is not).
WHITE_SHARE = 0.6
WHITE_LEVEL = 235
# ...of which the white pixels are kept, with the grey folds between them up to this radius (px).
FOLD = 3
# Pixels a thin line stuck to the outline must have to be cut as a grout line (`remove_hairlines`).
HAIRLINE = 4
# `remove_coloured_hanger`: a part of the top quarter this far from every colour of the garment's body (in
# cluster spreads, median) is coloured clearly unlike it: a plastic hanger, not a trim shaded or blurred.
HANGER_COLOUR = 10.0
# ...it sticks out of the outline (a hanger's tip past the shoulder) when this share of it lies outside the
# mask opened by a disk 3 % of the garment's width across...
HANGER_OUTSIDE = 0.25
# ...and the hanger runs across the neckline: its parts span at least this share of the garment's width.
HANGER_SPAN = 0.25

# `continue_opened_gaps`: a pixel joined to an opened gap goes when its chromaticity is at most this share of
# its distance from the garment's colours next to it (a shadow on the sheet keeps the sheet's chromaticity)...
GAP_CHROMA_SHARE = 0.5
# ...grown from the gap this many pixels deep at most (a shaded strip of wall running up between a hanging
# sleeve and the body is peeled along its length: at 6 the peel stopped 6 px up a strip a network calls
# background for 24 px; on the 48 labelled photos nothing peels further at 64), each colour compared within
# this radius (px).
GAP_CONTINUE_ROUNDS = 24
GAP_CONTINUE_RADIUS = 4
# `restore_distinct_drops`: a piece GrabCut dropped comes back when its median border-colour distance is at
# least DROP_FAR (well past the 3 that means "unlike the border") and DROP_CONTRAST times that of the fused
# map's background within DROP_BESIDE px (a floor or bed GrabCut rightly dropped is like the floor beside it),
# and at least DROP_ATTACHED of a band around it is garment (a stain touching a hem at its tip: 0.02).
DROP_FAR = 5.0
DROP_CONTRAST = 2.0
DROP_BESIDE = 10
DROP_ATTACHED = 0.25

# `smooth_choked`: an edge pixel `choke_background_edge` lowered by more than this was bitten (its choke of
# a background-tinted rim lowers opaque pixels to 0.985 only: a hair, left as it is)...
CHOKE_BITE = 0.1
# ...and the outline within this many working pixels of a bite is redrawn, smoothed over CHOKE_SMOOTH working
# pixels: the choke decides pixel by pixel, so where it takes a shadow fringe off a hem it leaves 1-3 px
# teeth, light specks and detached flecks that no garment edge has. At 1.5 a shirt's pointed cuff tip on a
# red sheet was blunted; at 0.7 a fleck under a hem stayed.
CHOKE_REACH = 2
CHOKE_SMOOTH = 1.0


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
    mask = np.zeros(prob.shape, bool)
    mask[y0:y1, x0:x1] = _grabcut(rgb[y0:y1, x0:x1], seeds[y0:y1, x0:x1], GRABCUT_BUDGET, iterations)
    return mask


def _grabcut(image: np.ndarray, seeds: np.ndarray, budget: int, iterations: int) -> np.ndarray:
    """GrabCut's garment (bool) for `seeds` (GC_* labels) on `image`.

    Its time grows with the undecided pixels (seconds when the networks disagree on half the photo): past
    `budget` it runs on a smaller copy, and only the undecided pixels take the upscaled answer. That answer's
    outline is made of steps as big as the copy's pixels (a ragged side, a collar's top cut flat), so it is
    then decided again at full size, in a band that wide along it (`_settle_outline`).
    """
    undecided = np.isin(seeds, (cv2.GC_PR_FGD, cv2.GC_PR_BGD))
    shrink = min(1.0, np.sqrt(budget / max(int(undecided.sum()), 1)))
    small_size = (max(8, round(seeds.shape[1] * shrink)), max(8, round(seeds.shape[0] * shrink)))
    small_seeds = (
        cv2.resize(seeds, small_size, interpolation=cv2.INTER_NEAREST) if shrink < 1 else seeds.copy()
    )
    small_image = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA) if shrink < 1 else image
    garment = _run_grabcut(small_image, small_seeds, iterations).astype(np.float32)
    if shrink == 1:
        return garment > 0
    garment = cv2.resize(garment, seeds.shape[::-1], interpolation=cv2.INTER_LINEAR)
    decided = np.where(undecided, garment > 0.5, seeds == cv2.GC_FGD)
    return _settle_outline(image, seeds, decided, width=int(np.ceil(1 / shrink)) + 1)


def _settle_outline(image: np.ndarray, seeds: np.ndarray, mask: np.ndarray, *, width: int) -> np.ndarray:
    """`mask` with its outline decided again by GrabCut at full size, within `width` px of it either side.

    Only pixels `seeds` left undecided move; the rest of the mask is fixed, so the colour models see the
    whole garment and its background, and the few undecided pixels cost about 0.2 CPU s a photo.
    """
    band = edge_band(mask, width) & np.isin(seeds, (cv2.GC_PR_FGD, cv2.GC_PR_BGD))
    fine = np.where(mask, cv2.GC_FGD, cv2.GC_BGD).astype(np.uint8)
    fine[band] = np.where(mask[band], cv2.GC_PR_FGD, cv2.GC_PR_BGD)
    if not (fine == cv2.GC_FGD).any() or not (fine == cv2.GC_BGD).any():
        return mask
    return _run_grabcut(image, fine, 2)


def _run_grabcut(image: np.ndarray, seeds: np.ndarray, iterations: int) -> np.ndarray:
    """cv2.grabCut from the `seeds` mask (changed in place), seeded for repeatable output; the garment."""
    bgd, fgd = np.zeros((1, 65)), np.zeros((1, 65))
    cv2.setRNGSeed(0)
    cv2.grabCut(
        np.ascontiguousarray(image[..., ::-1]), seeds, None, bgd, fgd, iterations, cv2.GC_INIT_WITH_MASK
    )
    return (seeds == cv2.GC_FGD) | (seeds == cv2.GC_PR_FGD)


def restore_distinct_drops(mask: np.ndarray, fused: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Give back a solid piece GrabCut dropped that is far less like the border colours than the floor by it.

    GrabCut's garment colour model is fitted on the whole garment: on a black jacket it spends itself on the
    blacks, and a small beige check cuff then sits nearer its background model (cream tiles) although the
    border colour model (`dist`, `background_distance`) puts the cuff far from every border colour. "Far"
    alone does not tell a lost piece from a correct drop (a floor stain, a red bedspread: far from the border
    colours too), but those are coloured like the background right beside them; a garment piece stands out
    from it. A piece comes back when it is (1) garment in the fused map (`fused` > 0.5) and dropped by
    GrabCut, (2) solid (survives an opening: an outline sliver is GrabCut's choice of edge, not a lost
    piece), (3) attached to the garment (a quarter of a band around it is mask: a stain touching a hem at
    its tip stays out), (4) far from the border colours (median `dist` ≥ `DROP_FAR`) and (5) at least
    `DROP_CONTRAST` times as far as the fused map's background within `DROP_BESIDE` px of it.
    Measured on the 48 labelled photos: only outwear_60e4697b's left cuff passes (its part with the check's
    own colours; the part beige like the tiles stays lost); the nearest refusals are a floor stain at a hem
    (touching 0.02) and a bedspread the tee lies on (7.8 against 7.0 beside it).
    """
    drop = (fused > 0.5) & ~mask
    if not drop.any() or not mask.any():
        return mask
    # Solid: survives an opening ~0.8 % of the photo's long side (4 px at 640) across: a sliver along the
    # outline, where GrabCut only chose another edge, is thinner; the band around a piece lies just past that.
    radius = max(2, max(mask.shape) // 130)
    solid = cv2.morphologyEx(drop.astype(np.uint8), cv2.MORPH_OPEN, disk(radius))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(solid, connectivity=8)
    out = mask.copy()
    for label in range(1, count):
        box = _box(stats, label, pad=DROP_BESIDE + radius + 2)
        region = labels[box] == label
        band = (cv2.dilate(region.astype(np.uint8), disk(radius + 2)) > 0) & ~region
        beside = (cv2.dilate(region.astype(np.uint8), disk(DROP_BESIDE)) > 0) & (fused[box] <= 0.5)
        if not band.any() or mask[box][band].mean() < DROP_ATTACHED or not beside.any():
            continue
        own = float(np.median(dist[box][region]))
        if own >= DROP_FAR and own >= DROP_CONTRAST * float(np.median(dist[box][beside])):
            out[box] |= region
    return out


def fuse(probs: list[np.ndarray], dist: np.ndarray) -> np.ndarray:
    """One garment probability from the networks and the border colour model, decided per pixel.

    Where the networks agree their mean stands. Where a network sees garment and the colours are far from
    every border colour, the garment comes back (a sleeve one network lost on a red bedspread); where the
    colours are the border's and the networks are unsure or disagree, it goes (a strip of bedspread one
    network kept). `dist` is `background_distance`.

    The networks' mean is weighted by how decided each one is (`decisiveness`): on a dark dress filling the
    frame U²-Net can return a grey haze (two thirds of what it sees undecided) where U²-Net-p draws the dress
    cleanly, and on a printed tee U²-Net-p can hesitate between the print and the tee where U²-Net is sure.
    An equal mean there is the haze, and the cutout a fragment.
    """
    stack = np.stack(probs)
    weights = np.array([min(decisiveness(p) / DECIDED, 1.0) for p in probs], np.float32)
    net = np.tensordot(weights / weights.sum(), stack, axes=1).astype(np.float32)
    support, least = stack.max(0), stack.min(0)
    fused = net.copy()
    unlike = (dist > 3.0) & (support > 0.25)
    fused[unlike] = np.maximum(net[unlike], 0.5 + 0.5 * support[unlike])
    alike = (dist < 1.2) & ((support - least > 0.4) | (net < 0.7))
    fused[alike] = np.minimum(net[alike], 0.35)
    return cv2.GaussianBlur(fused, (0, 0), 1.0)


def decisiveness(prob: np.ndarray) -> float:
    """How decided a network's probability map is: (1 − the share of what it sees, p > 0.1, that it leaves
    between 0.1 and 0.9)², at least 0.01. Measured on the shared photos: 0.85–0.97 squared-off for a network
    that drew the garment, 0.0–0.34 for one that returned a haze over it."""
    seen = int((prob > 0.1).sum())
    if not seen:
        return 0.01
    unsure = int(((prob > 0.1) & (prob < 0.9)).sum()) / seen
    return max((1.0 - unsure) ** 2, 0.01)


def recover_on_saturated_background(mask: np.ndarray, rgb: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Bring back near-colourless parts joined to a near-colourless garment lying on a saturated background.

    On a red bedspread both networks can lose a white tee's shoulders or the black-and-white sleeves of a
    dress, and the border colour model cannot help when the frame also holds white pillows. But where what
    the networks call background is strongly coloured (median LAB chroma ≥ 35) and the garment is nearly
    colourless (80 % of it under chroma 15), a colourless region touching the garment (or a region so brought
    back) is garment: it is added when at least 0.3 % of the garment's area (an opening drops thin wires and
    edge fringes; a hook brought back is cut again by `remove_hanger`). `support` is the networks' largest
    garment probability. Of the 48 labelled photos the chain matters only for the black-and-white dress on
    a red bedspread: its left cuff, beyond a fold lit red, comes back.
    """
    if not mask.any():
        return mask
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    chroma = cv2.GaussianBlur(np.hypot(lab[..., 1] - 128, lab[..., 2] - 128), (0, 0), 1.0)
    background = (support < 0.05) & ~mask
    if background.sum() < 500:
        return mask
    garment = float(np.percentile(chroma[mask], 80))
    if np.median(chroma[background]) < 35 or garment > 15:
        return mask
    colourless = (chroma < max(12.0, garment + 4)) & ~mask
    colourless = cv2.morphologyEx(colourless.astype(np.uint8), cv2.MORPH_OPEN, disk(3))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(colourless, connectivity=8)
    big = stats[:, cv2.CC_STAT_AREA] >= 0.003 * mask.sum()
    big[0] = False
    # A part joined to the garment only through one brought back counts too (a sleeve's cuff beyond a fold
    # lit red by the bedspread), so the regions are added until none more touches; the few pixels between
    # touching parts are closed, or the next clean-up drops the cuff as a separate fragment.
    grown = mask
    while True:
        near = cv2.dilate(grown.astype(np.uint8), disk(3)) > 0
        touching = np.unique(labels[near & (colourless > 0)])
        more = np.isin(labels, touching[big[touching]]) & ~grown
        if not more.any():
            break
        grown = grown | more
    if grown is mask:
        return mask
    closed = cv2.morphologyEx(grown.astype(np.uint8), cv2.MORPH_CLOSE, disk(3)) > 0
    return grown | (closed & (cv2.dilate((grown & ~mask).astype(np.uint8), disk(3)) > 0))


def recover_surrounding(mask: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Bring back the garment around a print when the networks found only the print.

    Both networks can see a printed motif as the object and the plain tee around it as background (a white
    tee on a red bedspread, framed a little tighter). The border colour model still knows the tee is not
    the bedspread: a region unlike every border colour (`dist` > 3) that runs along most of the mask's
    outline (≥ 60 %) and is at least half the mask's area surrounds it, so it is the garment. Something
    beside the garment (a pillow, a second garment) touches only a stretch of its outline and stays out.
    """
    if not mask.any():
        return mask
    unlike = cv2.morphologyEx(((dist > 3.0) & ~mask).astype(np.uint8), cv2.MORPH_OPEN, disk(2))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(unlike, connectivity=8)
    outline = (cv2.dilate(mask.astype(np.uint8), disk(3)) > 0) & ~mask
    around = labels[outline]
    area = mask.sum()
    add = [
        label
        for label in range(1, count)
        if stats[label, cv2.CC_STAT_AREA] >= 0.5 * area and (around == label).mean() >= 0.6
    ]
    if not add:
        return mask
    return fill_holes(mask | np.isin(labels, add), np.zeros(mask.shape, np.float32))


def recover_cut_by_frame(
    mask: np.ndarray, rgb: np.ndarray, dist: np.ndarray, support: np.ndarray
) -> np.ndarray:
    """Bring back a part of the garment that runs out of the photo's side or bottom, which the networks
    only half see.

    Saliency networks learn that what runs into the photo's edge is background: on a light-blue sweatshirt
    on a brown sofa both gave the lower half of a sleeve running off the side 0.1–0.3, and GrabCut, seeded
    with that, took the sleeve for sofa. Colour knows better: the sleeve is unlike every border colour
    (`dist` > 3: a garment colour on a short stretch of the border is not learnt as background) and like
    the garment's own colours (within 2 spreads of a k-means cluster of the mask's). Such pixels where the
    networks see garment at all (`support`, their largest probability, > 0.05: the dark sofa in the shade
    between sleeve and body is "like" a dark print colour but has none) form regions; one is added when it
    touches the mask and the photo's side or bottom, covers at least 0.5 % of the garment, and has a median
    support of 0.1 or more. The top edge is left out: what runs out of it is a hanger's hook, cut on purpose.

    It runs after `fill_holes`, so the sofa the sleeve now encloses stays out as a hole. Of the 48 labelled
    photos it adds only that sleeve (no other region touches mask and frame).
    """
    if not mask.any() or mask.all():
        return mask
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # as in `background_distance`: shading along a sleeve is not another colour
    garment = _cluster_distance(lab, lab[mask], 5)
    like = (dist > 3.0) & (garment < 2.0) & (support > 0.05) & ~mask
    like = cv2.morphologyEx(like.astype(np.uint8), cv2.MORPH_OPEN, disk(2))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(like, connectivity=8)
    frame = np.zeros(mask.shape, bool)
    frame[-1, :] = frame[:, 0] = frame[:, -1] = True
    joined = np.unique(labels[cv2.dilate(mask.astype(np.uint8), disk(2)) > 0])
    add = [
        label
        for label in np.intersect1d(joined, np.unique(labels[frame]))
        if label
        and stats[label, cv2.CC_STAT_AREA] >= 0.005 * mask.sum()
        and np.median(support[labels == label]) >= 0.1
    ]
    if not add:
        return mask
    # The region's own specks (a crease darker than every garment colour) are filled; nothing else.
    return mask | fill_holes(np.isin(labels, add), np.zeros(mask.shape, np.float32))


def grow_by_colour(rgb: np.ndarray, mask: np.ndarray, *, reach: float = 0.12, rounds: int = 3) -> np.ndarray:
    """Let GrabCut's colour models decide a wide band around the mask: for when the networks disagree.

    Two networks that disagree (IoU under 0.9) have each lost something, typically a sleeve on a cluttered
    bed, and neither outline can be trusted. Here the mask's inside is garment (its eroded core for sure),
    everything within `reach` (a share of the photo's size) around it and below its top row may be garment,
    and the rest is background; GrabCut then follows the garment's own colours outwards, `rounds` times so
    a long sleeve can be followed to its cuff. Nothing above the mask's top row is added (hooks).
    """
    if not mask.any():
        return mask
    size = max(mask.shape)
    for _ in range(rounds):
        m8 = mask.astype(np.uint8)
        seeds = np.full(mask.shape, cv2.GC_BGD, np.uint8)
        seeds[cv2.dilate(m8, disk(round(reach * size))) > 0] = cv2.GC_PR_BGD
        seeds[: np.flatnonzero(mask.any(1))[0]] = cv2.GC_BGD
        seeds[mask] = cv2.GC_PR_FGD
        seeds[cv2.erode(m8, disk(size // 100)) > 0] = cv2.GC_FGD
        if not (seeds == cv2.GC_FGD).any() or not (seeds == cv2.GC_BGD).any():
            return mask
        # On the box around the band plus a margin of background, shrunk to a budget of undecided pixels
        # (the band is most of a 640 px photo: at full size a round cost 0.25 CPU s).
        y0, y1, x0, x1 = bounding_box(seeds != cv2.GC_BGD, pad=size // 20)
        grown = np.zeros_like(mask)
        grown[y0:y1, x0:x1] = _grabcut(rgb[y0:y1, x0:x1], seeds[y0:y1, x0:x1], GROW_BUDGET, 3)
        grown = keep_big_components(grown, min_fraction=0.2)
        if (grown == mask).all():
            break
        mask = grown
    return mask


def remove_hanger(
    mask: np.ndarray, dist: np.ndarray, rgb: np.ndarray | None = None, support: np.ndarray | None = None
) -> np.ndarray:
    """Cut a hook or hanger top that sticks up out of the garment (see `hanger_rows`)."""
    rows = hanger_rows(mask, dist, rgb, support)
    if not rows:
        return mask
    out = mask.copy()
    out[: np.flatnonzero(mask.any(1))[0] + rows] = False
    return keep_big_components(out, min_fraction=0.2)


def remove_hanger_remnant(
    mask: np.ndarray, before_hanger: np.ndarray, rgb: np.ndarray, support: np.ndarray
) -> np.ndarray:
    """Cut what is left of a hanger below the hook `remove_hanger` cut: its bar across the neckline and the
    wall seen around it. `before_hanger` is the mask before that cut, `support` the networks' largest
    garment probability.

    Only after a real hook was cut (at least `HANGER_CUT` of the garment's height: a few rows are only a
    pointed top or strap ends; from `SHORT_HANGER_CUT` on, kinds 1-2 below are looked for too, but the
    hook's colours are not taken for kind 3, which on a garment's own corner finds its blurred edge: a
    pale hanger in a red coat's neckline whose wire the networks missed above it was cut only 3.3 % deep,
    the corner of a skirt cut 3.7 % keeps its edge), and only in the garment's top quarter, in parts
    joined to the hook's stump:
    a bar runs on from where the hook was cut, a label or a collar lower down is not joined to it. Two kinds
    of part go: (1) coloured unlike the garment's body (below its top third) and like the hook (the stump's
    pixels unlike both the body and the background around the garment; a hook coloured like the garment
    gives no sample) or like that background (the wall seen around the bar), also when joined to the stump
    only across a hole the cut opens (the window between a hanger's two bars); (2) a bar coloured like the
    garment, left as a thin strip between the open top and a neckline opened below it (`_thin_bars`);
    (3) a bar lying on the garment's top edge, coloured like the hook but near the garment's colours too (a
    black bar on a navy hood): the band along the outline 1.5 % of the garment's height deep where colours
    are like the hook's and nearer them than the garment's. Measured on the 48 labelled photos: the orange
    bar and the wall around it go from a lime dress's neckline, the dark bar and the strip of back collar
    above it from a checked shirt's collar, the dark bar and the wall above it from a striped sweater's
    collar, the black bar from a navy hood's top (kind 3; on the others it takes 0-31 edge pixels), the pale
    hanger and the wall between a red coat's collar points (a shorter cut); the other 43 cutouts are
    unchanged. With a hook coloured unlike the garment, kind 3 is looked for again along the outline the
    cut opens: the dark olive strip of shaded wall at the lime dress's neck opening goes (the navy hood
    loses 2-3 px more of the black bar's line); a grey hook's sample on a mauve hood took the hood's top.

    A hook coloured near the garment (a dark bar on a navy collar, a grey hook on a mauve hood) gives no
    sample above; then its stump's pixels unlike the wall are the sample, for kind 3 only and only where a
    pixel is `NEAR_HOOK` times as near the hook's colours as the garment's (at 1x a grey hook took the lit
    top of a mauve hood with it). What the cut leaves between its parts, thinner than an opening with a disk
    of `SLIVER` px takes, within 3 px of it, goes too (a 3 px column of wall between the bar and the hook's
    arm), unless it is only a corner the opening rounded. Measured on the 48 labelled photos: the dark bar's
    end and the wall above it go from a striped sweater's left collar corner (most of the right one's too),
    the grey hook's arm stub from a mauve hood's top; 3 others lose 10-38 pixels of dark flecks along their
    cut.
    """
    rows = np.flatnonzero(mask.any(1))
    if not len(rows):
        return mask
    top, height = rows[0], rows[-1] - rows[0] + 1
    stump = before_hanger & ~mask
    stump[top:] = False
    cut = stump.any(1).sum()
    if cut < SHORT_HANGER_CUT * height:
        return mask
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # lighting varies across a garment and a wall: weigh lightness less
    body = mask.copy()
    body[: top + round(height / 3)] = False
    body = cv2.erode(body.astype(np.uint8), disk(3)) > 0
    around = _surroundings(before_hanger, support)
    if body.sum() < 200 or around.sum() < 200:
        return mask
    reach = min(mask.shape[0], top + height // 4 + 3)  # the top quarter and the 2 px the cut grows by

    def distance(samples: np.ndarray, clusters: int) -> np.ndarray:
        out = np.full(mask.shape, np.inf, np.float32)  # only where the cut can reach: 0.12-0.17 → 0.06 CPU s
        out[:reach] = _cluster_distance(lab[:reach], samples, clusters)
        return out

    garment = distance(lab[body], 6)
    local = distance(lab[around], 5)
    hook = stump & (local > 2.5) & (garment > 3.0)
    like = local < 1.5
    hooklike = np.zeros_like(mask)
    if hook.sum() >= 20:
        hook_distance = distance(lab[hook], 2)
        like |= hook_distance < 2.0
        if cut >= HANGER_CUT * height:
            hooklike = (hook_distance < 2.0) & (hook_distance < garment)
    elif cut >= HANGER_CUT * height and (stump & (local > 2.5)).sum() >= 20:
        # A hook coloured near the garment (a dark bar on a navy collar): its stump unlike the wall is the
        # sample, and only what is clearly nearer it than the garment is hook.
        hook_distance = distance(lab[stump & (local > 2.5)], 2)
        hooklike = (hook_distance < 2.0) & (hook_distance < NEAR_HOOK * garment)
    coloured = (cv2.erode(mask.astype(np.uint8), disk(2)) > 0) & like & (garment > 3.0)
    coloured[top + height // 4 :] = False
    coloured = cv2.morphologyEx(coloured.astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
    remnant = _joined(coloured, stump)
    # The cut opens the holes it touches (the neckline window between a hanger's two bars): what is coloured
    # so along their edges is hanger too.
    remnant |= _joined(coloured, stump | remnant | _joined(_holes(mask), remnant))
    remnant |= _thin_bars(mask & ~remnant, stump | remnant, top + height // 4, height)
    # (3) A bar lying on the garment's top edge (on a hood between its two sides), coloured like the hook and
    # the garment both: the band along the outline, nearer the hook's colours than the garment's.
    edge = mask & ~(cv2.erode(mask.astype(np.uint8), disk(max(2, round(0.015 * height)))) > 0)
    edge[top + height // 4 :] = False
    remnant |= _joined(edge & hooklike, stump | remnant)
    # The cut opens a new outline where the bar and the wall between its arms went: a shaded strip there
    # coloured like the hook (the dark wall in a neckline's corner) lies on that outline, not the first one.
    # Only with a hook coloured unlike the garment: a sample taken from a stump coloured near it (a grey
    # hook on a mauve hood) finds the hood's own shaded top there. Colour is the only evidence (both networks
    # call the dress's strip garment), so a piping round the opening coloured like the hook's shaded side
    # would go too, as kind 3 already takes it a little nearer the hook's colours.
    if hook.sum() >= 20:
        opened = mask & ~remnant
        edge = opened & ~(cv2.erode(opened.astype(np.uint8), disk(max(2, round(0.015 * height)))) > 0)
        edge[top + height // 4 :] = False
        remnant |= _joined(edge & hooklike, remnant)
    if not remnant.any():
        return mask
    # Grow over the soft transition to the garment: every pixel unlike the garment's body, up to 6 px (a pale
    # hanger's arm blurred into a red collar is a few pixels wide: 2 px left flecks of it).
    for _ in range(3):
        remnant |= (cv2.dilate(remnant.astype(np.uint8), disk(2)) > 0) & (garment > 3.0)
    out = mask & ~remnant
    slivers = out & ~(cv2.morphologyEx(out.astype(np.uint8), cv2.MORPH_OPEN, disk(SLIVER)) > 0)
    slivers &= cv2.dilate(remnant.astype(np.uint8), disk(3)) > 0
    slivers[top + height // 4 :] = False
    # A strand has more pixels than the disk is wide; the opening also rounds the garment's corners beside
    # the cut by a pixel or two: those stay.
    _, labels, stats, _ = cv2.connectedComponentsWithStats(slivers.astype(np.uint8), connectivity=8)
    strands = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] > 2 * SLIVER + 1) + 1
    return keep_big_components(out & ~np.isin(labels, strands), min_fraction=0.2)


def remove_coloured_hanger(mask: np.ndarray, rgb: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Cut a thin hanger coloured clearly unlike the garment that the hook cut left whole (a mint plastic
    hanger on a navy dress: its wire hook was cut only 2.3 % deep, too short for `remove_hanger_remnant` to
    look for the rest, so its bar across the neckline and its tip past the shoulder stayed).

    In the garment's top quarter the parts coloured unlike its body (below its top third; the mixed rim of
    the outline left out) are looked at. A hanger is there when one of them is (1) coloured clearly unlike
    the body (`HANGER_COLOUR`), (2) thin (on average no thicker than 2 % of the garment's width) and (3)
    sticks out of the outline beside the garment: `HANGER_OUTSIDE` of it lies outside the mask opened by a
    disk 3 % of the width across, mostly below that opened mask's top row (a tip past the shoulder; straps
    stand on the garment's top, a trim, a collar or a print lies within the outline). Its colours then
    find the rest: the parts of the top quarter mostly coloured like it, one of them a bar (at least twice
    as wide as tall) and together spanning `HANGER_SPAN` of the width (a hanger runs across the neckline).
    Their pixels coloured like the hanger go, with those like the background around the garment joined to
    them (the bedspread seen between the bars), grown by up to 4 px over pixels unlike the body (the soft
    edge; a label sewn at the bar goes with it). The neckline behind the bars is left open: what lies there
    cannot be seen. Measured on the 48 labelled photos: only the navy dress changes (its 451 mint pixels
    all go, nothing below the neckline); on the others no part meets (1)-(3) together.
    """
    rows = np.flatnonzero(mask.any(1))
    if not len(rows):
        return mask
    top, height = rows[0], rows[-1] - rows[0] + 1
    cols = np.flatnonzero(mask.any(0))
    width = cols[-1] - cols[0] + 1
    body = mask.copy()
    body[: top + round(height / 3)] = False
    body = cv2.erode(body.astype(np.uint8), disk(3)) > 0
    around = _surroundings(mask, support)
    if body.sum() < 200 or around.sum() < 200:
        return mask
    reach = top + height // 4
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # lighting varies across a garment and a wall: weigh lightness less

    def distance(samples: np.ndarray, clusters: int) -> np.ndarray:
        out = np.full(mask.shape, np.inf, np.float32)  # only in the top quarter, where it is looked for
        out[:reach] = _cluster_distance(lab[:reach], samples, clusters)
        return out

    garment = distance(lab[body], 6)
    unlike = mask & (garment > 3.0)
    unlike[reach:] = False
    # Not the one- or two-pixel rim of mixed colours along the outline.
    unlike = cv2.morphologyEx(unlike.astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
    core = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(max(2, round(0.03 * width)))) > 0
    if not core.any():
        return mask
    solid_top = np.flatnonzero(core.any(1))[0]
    count, labels, stats, _ = cv2.connectedComponentsWithStats(unlike.astype(np.uint8), connectivity=8)
    tips = np.zeros_like(mask)
    for label in range(1, count):
        area = stats[label, cv2.CC_STAT_AREA]
        if area < 0.0005 * mask.sum():
            continue
        part = labels == label
        rim = (cv2.dilate(part.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0) & ~part
        thin = 2 * area / rim.sum() <= 0.02 * width
        out_rows = np.nonzero(part & ~core)[0]
        # Beside the garment's solid top (a tip past the shoulder), not standing on it (straps).
        outside = len(out_rows) >= HANGER_OUTSIDE * area and np.median(out_rows) > solid_top
        if thin and outside and np.median(garment[part]) > HANGER_COLOUR:
            tips |= part
    if not tips.any():
        return mask
    hanger_distance = distance(lab[tips & (garment > HANGER_COLOUR)], 2)
    hangerlike = (hanger_distance < 2.0) & (hanger_distance < garment)
    alike = np.bincount(labels[hangerlike & unlike], minlength=count)
    found = [label for label in range(1, count) if alike[label] >= 0.5 * stats[label, cv2.CC_STAT_AREA]]
    if not found:
        return mask
    parts = np.isin(labels, found)
    span = np.flatnonzero(parts.any(0))
    bar = any(stats[label, cv2.CC_STAT_WIDTH] >= 2 * stats[label, cv2.CC_STAT_HEIGHT] for label in found)
    if not bar or span[-1] - span[0] + 1 < HANGER_SPAN * width:
        return mask
    local = distance(lab[around], 5)
    hanger = parts & hangerlike
    hanger |= _joined(parts & (local < 1.5), hanger)
    for _ in range(2):
        hanger |= (cv2.dilate(hanger.astype(np.uint8), disk(2)) > 0) & (garment > 3.0)
    return keep_big_components(mask & ~hanger, min_fraction=0.2)


def remove_clips(mask: np.ndarray) -> np.ndarray:
    """Cut hanger clips: short narrow spikes standing on the garment's top edge.

    Trousers and skirts hang from clips at the waistband's corners; the clips' tops stick up out of the
    waistband, too far apart for `remove_hanger` (it sees the wide waistband between them). A spike here is
    a part of the top 15 % no wider than 8 % of the garment (a horizontal opening takes it off), taller than
    it is wide, 2-6 % of the garment's height tall, with nothing of the garment above it and ending on the
    wide part below. Straps are longer (13-15 % on the labelled photos), collars and shoulders wider. The
    narrow slivers within 2 px of a spike (edge pixels of the same clip the opening split off) go with it,
    and what of the clip's jaws stands above the waistband's top edge under it (`_jaw`). Measured on the 48
    labelled photos: one pair of jeans has clips; the dark jaw standing up on its left waistband corner goes;
    the other clip is too near the waistband's end for an edge on its far side, and its jaw lies in front
    of the waistband, not above it: it stays.
    """
    rows = np.flatnonzero(mask.any(1))
    if not len(rows):
        return mask
    top, height = rows[0], rows[-1] - rows[0] + 1
    cols = np.flatnonzero(mask.any(0))
    reach = 2 * max(1, round(0.04 * (cols[-1] - cols[0] + 1))) + 1
    wide = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((1, reach), np.uint8)) > 0
    bottom = top + round(0.15 * height)
    narrow = mask & ~wide
    narrow[bottom:] = False
    count, labels, stats, _ = cv2.connectedComponentsWithStats(narrow.astype(np.uint8), connectivity=8)
    spikes = []
    for label in range(1, count):
        x, y, w, h, _ = stats[label]
        if (
            w <= h
            and 0.02 * height <= h <= 0.06 * height
            and y + h < bottom
            and not mask[:y, x : x + w].any()
        ):
            spikes.append(label)
    if not spikes:
        return mask
    # Slivers of the clip beside a spike (a column of edge pixels the opening split off) go with it.
    clips = np.isin(labels, spikes)
    beside = np.unique(labels[(cv2.dilate(clips.astype(np.uint8), disk(2)) > 0) & narrow])
    clips |= np.isin(labels, beside[beside > 0])
    out = mask & ~clips
    for label in spikes:
        out &= ~_jaw(out, stats[label, cv2.CC_STAT_LEFT], stats[label, cv2.CC_STAT_WIDTH], bottom)
    return keep_big_components(out, min_fraction=0.2)


def _jaw(mask: np.ndarray, x: int, w: int, bottom: int) -> np.ndarray:
    """What stands above the top edge under a clip cut at columns `x`..`x + w`: the jaws gripping the
    waistband stick up out of it, reaching up to the clip's width beyond its top on either side. The edge
    there is taken to continue the edge beyond that reach smoothly: a parabola through the top rows of the
    `2 w` columns on either side, one width away from the cut (a waistband's rounded corner is no straight
    line); what stands more than `JAW_TOLERANCE` px above it, over the cut and its reach, goes. A side
    without garment in the top band (a clip near the corner) gives no edge to follow."""
    jaw = np.zeros_like(mask)
    x0, x1 = x - 3 * w, x + 4 * w
    if x0 < 0 or x1 > mask.shape[1]:
        return jaw
    top = mask[:bottom]
    tops = np.where(top.any(0), top.argmax(0), -1)
    anchors = np.r_[x0 : x - w, x + 2 * w : x1]
    if (tops[anchors] < 0).any():
        return jaw
    fit = np.polyval(np.polyfit(anchors, tops[anchors], 2), np.arange(x - w, x + 2 * w))
    rows = np.arange(bottom)[:, None]
    jaw[:bottom, x - w : x + 2 * w] = top[:, x - w : x + 2 * w] & (rows < fit[None, :] - JAW_TOLERANCE)
    return jaw


def _joined(parts: np.ndarray, seed: np.ndarray) -> np.ndarray:
    """The connected regions of `parts` that come within 3 px of `seed`."""
    _, labels, _, _ = cv2.connectedComponentsWithStats(parts.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[cv2.dilate(seed.astype(np.uint8), disk(3)) > 0])
    return np.isin(labels, touching[touching > 0])


def _holes(mask: np.ndarray) -> np.ndarray:
    """The parts of `~mask` the mask encloses (not joined to the photo's border)."""
    _, labels = cv2.connectedComponents((~mask).astype(np.uint8), connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return ~mask & ~np.isin(labels, border)


def _thin_bars(mask: np.ndarray, seed: np.ndarray, bottom: int, height: int) -> np.ndarray:
    """Strips of `mask` above row `bottom` in vertical runs shorter than 3 % of the garment's `height`, at
    least 4 times as wide as they are thick on average (a bar, not a bridge between two holes), joined to
    `seed`: a hanger bar with background above it and below it, however it is coloured."""
    k = 2 * max(1, round(0.015 * height)) + 1  # odd: an even kernel shifts the opening by a row
    tall = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, np.ones((k, 1), np.uint8)) > 0
    thin = mask & ~tall
    thin[bottom:] = False
    _, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    touching = np.unique(labels[cv2.dilate(seed.astype(np.uint8), disk(3)) > 0])
    widths, areas = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_AREA]
    bars = [t for t in touching if t > 0 and widths[t] >= 4 * areas[t] / widths[t]]
    return np.isin(labels, bars)


def hanger_rows(
    mask: np.ndarray, dist: np.ndarray, rgb: np.ndarray | None = None, support: np.ndarray | None = None
) -> int:
    """How many rows at the top of the mask are a hook or hanger top; 0 when there is none.

    Walks down from the top row while rows are narrow (under a quarter of the garment's width, or under
    0.4 of it and mostly background-coloured: a thin wire plus the wall the networks smeared around it),
    within the top quarter of the garment. Two straps far apart span wide, so they stay.

    A stand-up collar or the corner of a garment lying askew can be as narrow as a hook with the wall
    smeared around it (0.2 of the body's width). Given the photo (`rgb`) and the networks' largest garment
    probability (`support`), a top stays when it looks like garment (`_garment_top`), however few its rows:
    the pointed shoulder or waistband corner of a flat lay walked down for 2-4 % of its height is 7-12 px
    at full size, cut off flat in plain sight (an audit found it on a dress and a skirt).
    """
    if not mask.any():
        return 0
    rows = np.flatnonzero(mask.any(1))
    top, height = rows[0], rows[-1] - rows[0] + 1
    spans = {y: np.ptp(np.flatnonzero(mask[y])) + 1 for y in rows}
    body = np.percentile(list(spans.values()), 75)
    y, limit = top, top + height // 4
    while y < limit and _hanger_like(mask[y], dist[y], spans.get(y, 0), body):
        y += 1
    if y == limit or y - top < max(3, 0.02 * height):
        return 0
    if rgb is not None and support is not None:
        part = mask.copy()
        part[y:] = False
        if _garment_top(part, mask, rgb, support, body):
            return 0
    return int(y - top)


def _hanger_like(row: np.ndarray, dist: np.ndarray, span: int, body: float) -> bool:
    if not row.any():
        return True
    return span < 0.25 * body or (span < 0.4 * body and (dist[row] < 1.5).mean() > 0.4)


def _garment_top(
    part: np.ndarray, mask: np.ndarray, rgb: np.ndarray, support: np.ndarray, body: float
) -> bool:
    """Is `part`, the top of `mask` that `hanger_rows` walked down, garment (a collar, a corner) rather
    than a hook? Garment is solid and coloured like the garment's body: at least half of it survives an
    opening with a disk 4 % of the `body` width across (twice a hook's wire), at least half of its pixels
    are within 2 spreads of a colour of the body (below its top third), and under a quarter within 1.5 of a
    colour of the background around the garment. A hook is a wire or a loop with the wall seen through it,
    or has its own colour, or is the wall the networks smeared around it. Measured on the 7 labelled photos
    with a top that tall: a stand-up collar, a jacket's collar and the waistband corner of a skirt lying
    askew are solid (0.93-0.99 survive) and garment-coloured (0.62-0.84; wall-coloured 0-0.13) and now stay;
    the four hooks are thin (0.04-0.26 survive: 0.18 for a grey hook on a grey jacket, coloured like it),
    coloured unlike the garment (0.00-0.17) or wall-coloured (0.42). The other 41 cutouts are unchanged.
    """
    solid = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(max(1, round(0.02 * body)))) > 0
    if (solid & part).sum() < 0.5 * part.sum():
        return False
    rows = np.flatnonzero(mask.any(1))
    top, height = rows[0], rows[-1] - rows[0] + 1
    core = mask.copy()
    core[: top + round(height / 3)] = False
    core = cv2.erode(core.astype(np.uint8), disk(3)) > 0
    around = _surroundings(mask, support)
    if core.sum() < 200 or around.sum() < 200:
        return False
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # lighting varies across a garment and a wall: weigh lightness less
    pixels = lab[part][None]
    garment = _cluster_distance(pixels, lab[core], 6, settled=True)
    wall = _cluster_distance(pixels, lab[around], 5, settled=True)
    return (garment < 2.0).mean() >= 0.5 and (wall < 1.5).mean() < 0.25


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


def keep_white_on_blown_out(mask: np.ndarray, rgb: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Add the shallow white slivers between the outline and its convex hull: a white part lost into a
    blown-out floor.

    Call it only where the background along the outline is clipped to pure white and the garment has white
    parts there (`review.blown_out`). A white side panel on such a floor has no edge left: the networks give
    it ~0, the border colours call it floor, and the outline runs along the dark fabric beside it. What is
    still seen is where the garment's outline ends on either side of it (a waistband corner, a hem corner the
    networks faintly see, `SEEN`), so the outline is taken straight between them: a sliver of the hull that
    is shallow (at most `BLOWN_SLIVER` of the garment's size deep; a gap between sleeve and body or legs is
    deeper) and mostly white (`WHITE_SHARE` of it at least `WHITE_LEVEL` in every channel) comes back. Of it
    only the white pixels and what the closing by `FOLD` joins to them (the panel's grey folds) are kept: a
    light floor under a hem, cut off by the same hull line, is mostly not white (a 1-2 px line of it can stay
    where its whitest pixels lie close together). The outline is a guess: `review.BLOWN_OUT` stays said.
    """
    seen = _joined((support > SEEN) | mask, mask)
    contours, _ = cv2.findContours(seen.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    if not contours:
        return mask
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.vstack(contours))], 1)
    gaps = (hull > 0) & ~mask
    ys, xs = np.nonzero(mask)
    deepest = BLOWN_SLIVER * min(np.ptp(ys), np.ptp(xs))
    # Depth is measured from the hull's line: a gap between two legs is narrow but reaches deep into the hull.
    depth = cv2.distanceTransform(hull, cv2.DIST_L2, 5)
    white = rgb.min(2) >= WHITE_LEVEL
    count, labels = cv2.connectedComponents(gaps.astype(np.uint8))
    slivers = np.zeros_like(mask)
    for label in range(1, count):
        part = labels == label
        if depth[part].max() <= deepest and white[part].mean() >= WHITE_SHARE:
            slivers |= part
    # A lost part is what no network sees (2 px or more from it); the soft rim the networks draw past the
    # outline, white on a clipped floor, belongs to a sliver only near such a part (within twice the depth a
    # sliver may have: the hem corner they half see, ~20 px of the shorts' panel), not along the rest of the
    # garment.
    away = cv2.distanceTransform((~seen).astype(np.uint8), cv2.DIST_L2, 5)
    lost = (slivers & (away >= 2)).astype(np.uint8)
    slivers &= cv2.dilate(lost, disk(max(FOLD, round(2 * deepest)))) > 0
    if not slivers.any():
        return mask
    # The panel's grey folds are holes and notches in its white pixels: closed and filled, within the slivers
    # only (holes the earlier steps opened elsewhere stay).
    panel = mask | (slivers & white)
    closed = cv2.morphologyEx(panel.astype(np.uint8), cv2.MORPH_CLOSE, disk(FOLD)) > 0
    filled = fill_holes(panel | (closed & slivers), np.zeros(mask.shape, np.float32))
    return mask | _joined(filled & slivers, mask)


def open_background_gaps(mask: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Remove background seen through gaps (between sleeve and body, between legs) that got filled.

    Only when the garment's own colours are unlike the background: otherwise a print or a light patch could
    be punched out. Regions smaller than 0.4 % of the garment stay (specks are not worth the risk), and so
    do regions the garment does not enclose (`enclosed`): a white side stripe of black shorts on a white
    floor lies along the outline, a gap seen through the garment does not (of the 48 labelled photos only
    those shorts changed: their left stripe is kept whole).
    """
    if not mask.any() or (dist[mask] < 1.5).mean() > 0.2:
        return mask
    inner = cv2.erode(mask.astype(np.uint8), disk(2)) > 0
    alike = cv2.morphologyEx((inner & (dist < 1.0)).astype(np.uint8), cv2.MORPH_OPEN, disk(2))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(alike, connectivity=8)
    big = [
        label
        for label in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= 0.004 * mask.sum()) + 1
        if enclosed(mask, labels, stats, label)
    ]
    if not len(big):
        return mask
    # Grow each gap over the soft transition to the garment, but only over background-like pixels.
    gap = cv2.dilate(np.isin(labels, big).astype(np.uint8), disk(3)) > 0
    return keep_big_components(mask & ~(gap & (dist < 1.8)), min_fraction=0.2)


def smooth_outline(mask: np.ndarray) -> np.ndarray:
    """The mask with its outline smoothed: an opening then a closing at about 0.5 % of the photo's size
    take off fibre-thin wisps and fill nicks (for garments on rugs and shag carpets: the outline is noise).
    """
    if not mask.any():
        return mask
    kernel = disk(max(2, round(max(mask.shape) / 200)))
    smooth = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, kernel)
    smooth = cv2.morphologyEx(smooth, cv2.MORPH_CLOSE, kernel) > 0
    return keep_big_components(smooth, min_fraction=0.2) if smooth.any() else mask


def smooth_matte(alpha: np.ndarray, *, sigma: float, scale: float = 1.0) -> np.ndarray:
    """The matte (float 0..1) with a smooth, anti-aliased outline.

    A mask made at the working size and blurred by a pixel shows its pixel steps (and the rug's noise, and
    the edge choke's one-pixel bites) along every slanted edge. Blurred by `sigma` working pixels instead,
    its half level is a smoothed outline (steps and nicks a few pixels deep are averaged away, corners
    rounded by as little); the blur is then steepened back around that level so the edge is about 1.5
    pixels wide. The blur is done at the working size (`alpha` is `scale` times larger): at full size it
    cost 1.25 CPU s on a 12.9 MP photo. For busy backgrounds, where the guided filter is not used.
    """
    size = alpha.shape[1::-1]
    small = (
        alpha
        if scale <= 1
        else cv2.resize(alpha, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
    )
    soft = cv2.GaussianBlur(small.astype(np.float32), (0, 0), sigma)
    soft = soft if soft.shape == alpha.shape else cv2.resize(soft, size, interpolation=cv2.INTER_LINEAR)
    return _steepen(soft, sigma=sigma, scale=scale)


def _steepen(soft: np.ndarray, *, sigma: float, scale: float) -> np.ndarray:
    """A matte blurred by `sigma` working pixels steepened back around its half level to an edge ~1.5 px wide
    (`scale`: full-size pixels per working pixel)."""
    # A blurred straight edge's slope at its half level is 1 / (sigma * scale * sqrt(2 pi)) per pixel.
    # A Python float: a NumPy float64 scalar would make the full-size result float64 (0.4 instead of 0.1 CPU s
    # on a 12 MP photo, and every step after it slower).
    gain = float(sigma * max(scale, 1.0) * np.sqrt(2 * np.pi) / 1.5)
    return np.clip((soft - 0.5) * gain + 0.5, 0, 1)


def open_enclosed_gaps(
    mask: np.ndarray,
    rgb: np.ndarray,
    support: np.ndarray,
    *,
    sure: np.ndarray | None = None,
    least: np.ndarray | None = None,
    border: np.ndarray | None = None,
) -> np.ndarray:
    """Remove background seen through enclosed gaps that both networks took for garment.

    `open_background_gaps` compares with the photo's border colours, but the floor or wardrobe seen between
    sleeve and body is often lit unlike the border (a flash-lit centre), and a hanger bar inside a neckline
    is not in the border at all. Here the colours are those of the background right around the garment (a
    band outside the mask, where no network sees garment), weighing lightness little; a region goes only
    when it is (1) like that background, (2) at least twice as far from the garment's own clear colours
    (those unlike the background) as from the background, (3) enclosed by the garment (a light stripe along
    a side is not a gap), and (4) at least 0.4 % of the garment. A garment mostly coloured like the
    background around it is left alone. Background kept in a pocket open to the outside goes too (`_pockets`).
    `support` is the networks' largest garment probability. `sure` marks where every other witness calls
    garment: all networks (each p > 0.9) and the photo's border colours (`background_distance` > 3); a
    region mostly there stays, the band's colours being the only evidence against it (the beige check
    lining in a navy jacket's collar on beige tiles: punched out before; the 8 gaps the 48 labelled photos
    lose all have a network or the border colours against them).

    `least` is the networks' smallest garment probability: where one network calls a region background
    (mostly under 0.2) that is a second witness, so 1.5 times as far is enough, and the gap takes the whole
    of that network's background joined to it that is not clearly garment-coloured (a sofa wedge beside a
    sleeve is coloured much like the garment's orange flowers, and only U²-Net-p calls it background; the
    colours alone stopped a third of the way across). `border` is `background_distance`: a part of the
    garment every network lost (a shaded sleeve lying in the band) is coloured like the garment's sure parts
    and unlike the photo's border, and is kept out of the band, else the garment looks like its background.
    Measured on the 48 labelled photos: the sofa wedge and a bed-sheet strip at the top of a sleeve gap go;
    6 others lose a few pixels of background or shadow at the top of a gap. Floor every network calls
    background at a pocket's narrow top goes too when it is merely unlike the garment (`_sure_pockets`).
    """
    if not mask.any():
        return mask
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.3  # the light falls unevenly; the hue of a floor seen through a gap is its own
    band = _surroundings(mask, support)
    if border is not None and sure is not None and (sure & mask).sum() >= 200:
        band &= (border <= 3.0) | (_cluster_distance(lab, lab[sure & mask], 6) >= 1.5)
    if band.sum() < 200:
        return mask
    local = cv2.GaussianBlur(_cluster_distance(lab, lab[band], 5), (0, 0), 1.5)
    inner = cv2.erode(mask.astype(np.uint8), disk(2)) > 0
    if not inner.any() or (local[inner] < 1.5).mean() > 0.2:
        return mask
    own = inner & (local >= 2.5)
    if own.sum() < 200:
        return mask
    garment = _cluster_distance(lab, lab[own], 6)
    candidates = cv2.morphologyEx((inner & (local < 2.0)).astype(np.uint8), cv2.MORPH_OPEN, disk(2))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    gaps = np.zeros_like(mask)
    witnessed = np.zeros_like(mask)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 0.004 * mask.sum():
            continue
        box = _box(stats, label)
        region = labels[box] == label
        seen = least is not None and (least[box][region] < 0.2).mean() > 0.5
        far = np.median(garment[box][region]) > (1.5 if seen else 2.0) * max(
            float(np.median(local[box][region])), 0.5
        )
        vouched = sure is not None and sure[box][region].mean() > 0.5
        if far and not vouched and enclosed(mask, labels, stats, label):
            gaps[box] |= region
            witnessed[box] |= region & seen
    gaps |= _pockets(mask, support < 0.2, 2.0, local, garment)
    if least is not None:
        gaps |= _pockets(mask, least < 0.2, 1.5, local, garment)
    sure_pockets = _sure_pockets(mask, support, local, garment)
    if not gaps.any() and not sure_pockets.any():
        return mask
    # Grow each gap over its speckled parts and the soft transition to the garment: every pixel nearer the
    # background's colours than the garment's.
    gaps = (cv2.dilate(gaps.astype(np.uint8), disk(3)) > 0) & (garment > local)
    if least is not None and witnessed.any():
        _, parts = cv2.connectedComponents((mask & (least < 0.2) & (garment > 0.5 * local)).astype(np.uint8))
        touched = np.unique(parts[witnessed])
        gaps |= np.isin(parts, touched[touched > 0])
    return keep_big_components(mask & ~(gaps | sure_pockets), min_fraction=0.2)


def continue_opened_gaps(
    mask: np.ndarray, opened: np.ndarray, rgb: np.ndarray, least: np.ndarray
) -> np.ndarray:
    """Remove the background left along a gap the gap steps opened: the same sheet continuing into the mask.

    The gap steps open a gap by colour models of the whole background around the garment, so along its
    sides a strip stays where the sleeve's shadow darkens the sheet (a brown sliver along a striped sleeve):
    unlike the lit sheet, no nearer the garment. Such a strip is the sheet seen in the gap, continued. Here
    the mask is peeled from the opened gap (`opened`) a pixel a round: a pixel next to it goes when one
    network calls it background (`least`, the networks' smallest garment probability, under 0.2) and its
    chromaticity (colour with lightness divided out: a shadow on a surface keeps the surface's) is
    `GAP_CHROMA_SHARE` or less of its distance from the garment's, each the nearest quarter of the colours
    within `GAP_CONTINUE_RADIUS` px: the gap's pixels (and those peeled before) against the garment's pixels
    no network calls background. A garment coloured like the sheet is as near both, and stays; nothing
    goes where every network sees garment. Measured on the 48 labelled photos (after the hanger steps, see
    `segment_work`): 11 change; the shaded sheet along a striped sleeve, wood along a sofa wedge's side and
    tip, a wall's shaded strip above two hanging sleeves' gaps and a wall and floor sliver in two coats'
    armpits go; the others move by a few pixels. Peeled up to `GAP_CONTINUE_ROUNDS` px from the gap (was 6:
    a hanging long-sleeve's strip of shaded wall now opens 18 px further up, as far as a network calls it
    background, and a sofa wedge's tip 1-2 px further; no other photo moves).
    """
    if not opened.any() or not mask.any():
        return mask
    shifted = rgb.astype(np.float32) + 8  # dark pixels' chromaticity is noise: a small offset calms it
    chroma = 100 * shifted / shifted.sum(2, keepdims=True)
    garment = (cv2.erode(mask.astype(np.uint8), disk(2)) > 0) & (least >= 0.5)
    candidates = mask & (least < 0.2)
    seen, kept = opened.copy(), mask.copy()
    # A refused pixel stays refused until something within its radius is peeled (only that can change it).
    refused = np.zeros_like(mask)
    for _ in range(GAP_CONTINUE_ROUNDS):
        frontier = kept & candidates & ~refused
        frontier &= cv2.dilate(seen.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
        ys, xs = np.nonzero(frontier)
        pixels = zip(ys, xs, strict=True)
        sheet = np.array([_sheet_like(chroma, seen, garment, y, x) for y, x in pixels], bool)
        refused[ys[~sheet], xs[~sheet]] = True
        if not sheet.any():
            break
        peeled = np.zeros_like(mask)
        peeled[ys[sheet], xs[sheet]] = True
        kept &= ~peeled
        seen |= peeled
        refused &= ~(cv2.dilate(peeled.astype(np.uint8), disk(GAP_CONTINUE_RADIUS)) > 0)
    if not (kept != mask).any():
        return mask
    # A pixel peeled alone between kept ones (a dark fibre of the sheet inside the sleeve's dark rim) would be
    # a pinhole: only what survives a 3 px opening of the gap and the peeled strip together goes.
    whole = cv2.morphologyEx(seen.astype(np.uint8), cv2.MORPH_OPEN, np.ones((3, 3), np.uint8)) > 0
    kept |= mask & ~whole
    return keep_big_components(kept, min_fraction=0.2) if kept.any() else mask


def _sheet_like(chroma: np.ndarray, background: np.ndarray, garment: np.ndarray, y: int, x: int) -> bool:
    """Is the pixel (y, x) of `chroma` clearly nearer the `background` colours around it than the
    `garment` ones (`continue_opened_gaps`)? Each distance is the nearest quarter's."""
    r = GAP_CONTINUE_RADIUS
    box = slice(max(0, y - r), y + r + 1), slice(max(0, x - r), x + r + 1)
    colour = chroma[y, x]
    near = []
    for where in (background[box], garment[box]):
        if not where.any():
            return False
        near.append(np.percentile(np.sqrt(((chroma[box][where] - colour) ** 2).sum(1)), 25))
    return bool(near[0] <= GAP_CHROMA_SHARE * near[1])


def trim_background_rim(
    mask: np.ndarray, rgb: np.ndarray, support: np.ndarray, *, depth: float = 0.03
) -> np.ndarray:
    """Remove the bits of a busy background (rug flecks, a carpet wedge in an armpit) left along the outline.

    On a rug or shag carpet GrabCut and the networks keep background pieces at the outline. Each pixel
    within `depth` (a share of the photo's size) inside the outline is compared with two local colour
    models: the background in a band just outside the mask and the garment's core (the mask eroded by
    `depth`), both k-means clusters in LAB with lightness weighed half, and each cluster counting only
    near where it occurs (a grey print in the chest does not vouch for grey carpet at a sleeve). A pixel
    goes when it is within 5 spreads of the local background and farther from the local garment by a
    factor of 1 + 2 × the networks' support: where the networks see background, nearer the background is
    enough; where they lean to garment, it must be clearly so; where they are sure (support ≥ 0.8: a
    lining, a cuff, a stripe) it stays. Only pixels joined to the outside through such pixels go, so a
    print inside the garment is never punched out. A garment coloured like its background is never "farther
    from the garment", so it keeps its outline. `support` is the networks' largest garment probability.
    Measured on the 5 labelled photos with a busy background: 0.1-1 % of the garment goes (the carpet at a
    tee's armpit and shoulders, red flecks at a black skirt's sides); on the other photos it is not run.
    """
    if not mask.any():
        return mask
    reach = max(3, round(depth * max(mask.shape)))
    rim = mask & ~(cv2.erode(mask.astype(np.uint8), disk(reach)) > 0) & (support < 0.8)
    found = rim_colour_distances(mask, rgb, rim, depth=depth)
    if found is None:
        return mask
    ys, xs, background, garment = found
    alike = (background < 5.0) & (garment > (1 + 2 * support[ys, xs]) * background)
    bits = np.zeros_like(mask)
    bits[ys[alike], xs[alike]] = True
    _, labels = cv2.connectedComponents((bits | ~mask).astype(np.uint8), connectivity=4)
    outer = np.unique(labels[~mask])
    out = keep_big_components(mask & ~(bits & np.isin(labels, outer[outer > 0])), min_fraction=0.2)
    return out if out.any() else mask


def snap_to_colour_edge(mask: np.ndarray, rgb: np.ndarray) -> np.ndarray:
    """Move the outline of a garment on a busy background to where its colours meet the background's.

    After `trim_background_rim` the outline is decided pixel by pixel, and a rug's or a shag carpet's fibres
    are noise at that scale: the side of a tee comes out ragged, bits of carpet stay between notches. Here
    every pixel within about 1 % of the photo's size of the outline, on either side, is weighed by how much
    nearer it is to the local garment's colours than to the local background's (the models of
    `rim_colour_distances`, as a log ratio), that evidence is averaged over a few pixels (so one fibre does
    not move the outline), and where it is clear one way (the pixels' distances differ by half) the pixel
    is set that way; where it is not (a part coloured like neither, or like both), the mask stays as it was.
    """
    if not mask.any():
        return mask
    size = max(mask.shape)
    band = edge_band(mask, max(2, round(0.009 * size)))
    found = rim_colour_distances(mask, rgb, band)
    if found is None:
        return mask
    ys, xs, background, garment = found
    with np.errstate(invalid="ignore", divide="ignore"):
        lean = np.log((background + 0.5) / (garment + 0.5))  # > 0: garment-like
    evidence = np.where(mask, 3.0, -3.0).astype(np.float32)
    evidence[ys, xs] = np.clip(np.nan_to_num(lean, nan=0.0), -3.0, 3.0)
    evidence = cv2.GaussianBlur(evidence, (0, 0), max(1.0, 0.0037 * size))
    snapped = np.where(band & (evidence > 0.7), True, np.where(band & (evidence < -0.7), False, mask))
    snapped = keep_big_components(snapped, min_fraction=0.2)
    return snapped if snapped.any() else mask


def rim_colour_distances(
    mask: np.ndarray, rgb: np.ndarray, where: np.ndarray, *, depth: float = 0.03
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """How far the `where` pixels (near the outline) are from the local background and the local garment.

    The background is a band just outside the mask (past the mixed pixels), the garment the mask's core (the
    mask eroded by `depth`, a share of the photo's size); both are k-means clusters in LAB with lightness
    weighed half, each counting only near where it occurs (see `_local_cluster_distance`). Returns the
    pixels' coordinates and the two distances in cluster spreads, or None when either side has too few
    pixels to model or `where` is empty.
    """
    m8 = mask.astype(np.uint8)
    reach = max(3, round(depth * max(mask.shape)))
    outside = (cv2.dilate(m8, disk(reach)) > 0) & ~(cv2.dilate(m8, disk(2)) > 0)  # past the mixed pixels
    core = cv2.erode(m8, disk(reach)) > 0
    if outside.sum() < 200 or core.sum() < 200 or not where.any():
        return None
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.5  # shading varies along an outline more than hue
    ys, xs = nonzero(where)
    background = _local_cluster_distance(lab, outside, ys, xs, radius=2 * reach)
    garment = _local_cluster_distance(lab, core, ys, xs, radius=2 * reach)
    return ys, xs, background, garment


def _local_cluster_distance(
    lab: np.ndarray, where: np.ndarray, ys: np.ndarray, xs: np.ndarray, *, radius: float, clusters: int = 6
) -> np.ndarray:
    """How far the pixels (ys, xs) of `lab` are from the colours of the `where` pixels near them.

    The colours are k-means clusters of the `where` pixels; a cluster counts at a pixel when at least 10 %
    of the `where` pixels within about `radius` belong to it. Distances are in units of each cluster's
    spread, inf where no cluster is near. Which clusters are near changes slowly, so it is worked out on a
    grid `radius / 4` apart.
    """
    members = lab[where]
    samples = np.ascontiguousarray(members[:: max(1, len(members) // 4000)])
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    step = max(1, round(radius / 4))
    grid = where[::step, ::step]
    nearest = np.full(grid.shape, -1, np.int8)
    nearest[grid] = ((lab[::step, ::step][grid][:, None, :] - centres[None]) ** 2).sum(2).argmin(1)
    cy, cx = np.minimum(ys // step, grid.shape[0] - 1), np.minimum(xs // step, grid.shape[1] - 1)

    def around(share: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(share.astype(np.float32), (0, 0), radius / step)[cy, cx]

    density = np.maximum(around(grid), 1e-3)
    colours = lab[ys, xs]
    out = np.full(len(ys), np.inf, np.float32)
    for c in range(clusters):
        own = samples[labels == c]
        spread = max(float(np.sqrt(((own - centres[c]) ** 2).sum(1)).mean()), 4.0) if len(own) else 4.0
        near = around(nearest == c) > 0.1 * density
        out = np.where(near, np.minimum(out, np.sqrt(((colours - centres[c]) ** 2).sum(1)) / spread), out)
    return out


def _surroundings(mask: np.ndarray, support: np.ndarray) -> np.ndarray:
    """The background right around the garment: a band a little outside the mask where no network sees
    garment (`support` is the networks' largest garment probability)."""
    size = max(mask.shape)
    m8 = mask.astype(np.uint8)
    band = (cv2.dilate(m8, disk(max(8, size // 25))) > 0) & ~(cv2.dilate(m8, disk(max(3, size // 100))) > 0)
    return band & (support < 0.3)


def _pockets(
    mask: np.ndarray, background: np.ndarray, factor: float, local: np.ndarray, garment: np.ndarray
) -> np.ndarray:
    """Background kept in a pocket of the outline that opens to the outside (the top of the gap between two
    legs or between a sleeve and the body, where GrabCut's smoothing closes the narrow end).

    A pocket is a connected region of the mask that (1) the networks call background (`background`: both,
    or one of them, under 0.2), (2) is nearer the colours of the background around the garment than the
    garment's (`local`, `garment` as in `open_enclosed_gaps`) and at least `factor` times as far from the
    garment's as from the background's (twice with both networks against it, 1.5 times with one: a bed
    sheet at the top of a sleeve gap, which the other network takes for garment), (3) touches the outside (a
    region wholly inside is `open_enclosed_gaps`' to judge), and (4) lies deep inside the garment's convex
    hull, every pixel at least 5 % of the photo's size from the hull's edge: a concave notch, not a bit at
    a tip or along a straight side (a cuff the networks missed). Regions under 0.05 % of the garment are
    noise. Measured on the 48 labelled photos: 5 changed, each losing only background (the floor at the top
    of two trousers' and a pair of shorts' leg gaps, a grey wedge in a dress's armpit, the wall between two
    hanging sleeves).
    """
    candidates = (mask & background & (garment > local)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    pockets = np.zeros_like(mask)
    if count < 2:
        return pockets
    depth = _hull_depth(mask)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 0.0005 * mask.sum():
            continue
        box = _box(stats, label)
        region = labels[box] == label
        far = np.median(garment[box][region]) > factor * max(float(np.median(local[box][region])), 0.5)
        deep = depth[box][region].min() >= 0.05 * max(mask.shape)
        ring = (cv2.dilate(region.astype(np.uint8), disk(2)) > 0) & ~region
        if far and deep and not mask[box][ring].all():
            pockets[box] |= region
    return pockets


def _hull_depth(mask: np.ndarray) -> np.ndarray:
    """How far each pixel is from the edge of the mask's convex hull (0 outside it)."""
    contours, _ = cv2.findContours(mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    hull = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(hull, [cv2.convexHull(np.vstack(contours))], 1)
    return cv2.distanceTransform(hull, cv2.DIST_L2, 5)


def _sure_pockets(
    mask: np.ndarray, support: np.ndarray, local: np.ndarray, garment: np.ndarray
) -> np.ndarray:
    """Background both networks are sure of, kept at the narrow top of a pocket (a gap between two legs).

    There the floor is often in the garment's shadow, or mixed with the garment's edge at the working size:
    it is unlike the lit floor around the garment as much as unlike the garment, so `_pockets`' colour test
    fails. Where every network calls it background (`support`, the largest garment probability, under 0.2)
    the colour need only not be the garment's: pixels over 1 spread from its clear colours (`garment`), the
    region's median over 1.5 and at least a third of its distance from the background around (`local`).
    The shaded white fabric in a tee's crumpled armpit, which both networks call background on a red
    bedspread, is 1.35 spreads from the garment and 10 from the bedspread, and stays. The region must touch
    the outside and lie deep in the convex hull as in `_pockets`, and have at least 0.02 % of the garment (a
    pocket's tip has a few pixels; a 1 px edge strip is not joined up).
    Measured on the 48 labelled photos: 8 changed, all losing only background (the shadowed floor between
    red trousers' legs, the tip of a jeans' leg gap and a floor sliver along it, the wall at the foot of a
    long-sleeve's sleeve gaps, a few pixels at other gap tops).
    """
    candidates = (mask & (support < 0.2) & (garment > 1.0)).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(candidates, connectivity=8)
    pockets = np.zeros_like(mask)
    if count < 2:
        return pockets
    depth = _hull_depth(mask)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < 0.0002 * mask.sum():
            continue
        box = _box(stats, label)
        region = labels[box] == label
        deep = depth[box][region].min() >= 0.05 * max(mask.shape)
        ring = (cv2.dilate(region.astype(np.uint8), disk(2)) > 0) & ~region
        unlike = np.median(garment[box][region]) > max(1.5, float(np.median(local[box][region])) / 3)
        if deep and unlike and not mask[box][ring].all():
            pockets[box] |= region
    return pockets


def remove_hairlines(mask: np.ndarray, support: np.ndarray, least: np.ndarray) -> np.ndarray:
    """Cut off hairlines of background stuck to the outline: a tile's grout line, a floorboard's seam.

    GrabCut follows a dark line of a few pixels' width out of a dark garment edge, and the decontamination
    then paints it in the garment's colour (red specks at a tartan skirt's sides). A line at most 2 px
    wide (what a 3 px opening removes), at least 4 px long, where one network is sure of background
    (`least`, the networks' smallest garment probability, under 0.1) and none is sure of garment
    (`support`, the largest, under 0.8) goes. Colour cannot tell such a line from a strap (both are like
    the garment's dark parts); the networks can: a strap is never nothing to one of them. Measured on the
    48 labelled photos: 3 changed (grout lines at a skirt's side and a jacket's hem shortened, the top of
    a pale strip beside a coat), none lost garment.

    A short line is also judged whole: near the outline the networks' edges blur, so a 5 px grout speck
    has one network under 0.1 on only 3 of its pixels (too few to count as a line) and 0.14 on the two at
    its root. A thin part of at least `HAIRLINE` px whose pixels' median `least` is under 0.1 (and none sure
    of garment) goes whole. Measured on the 48 labelled photos: 2 changed (the lower grout speck at
    skirt_c938f1ac's side, up to alpha 105 before, gone; one grout pixel at a jacket's hem corner).
    """
    body = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(1)) > 0
    thin = mask & ~body & (support < 0.8)
    lines = thin & (least < 0.1)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(lines.astype(np.uint8), connectivity=8)
    hairlines = np.isin(labels, np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= HAIRLINE) + 1)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(thin.astype(np.uint8), connectivity=8)
    for label in np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= HAIRLINE) + 1:
        box = _box(stats, label, pad=0)
        part = labels[box] == label
        if np.median(least[box][part]) < 0.1:
            hairlines[box] |= part
    if not hairlines.any():
        return mask
    out = keep_big_components(mask & ~hairlines, min_fraction=0.2)
    return out if out.any() else mask


def remove_unseen_stubs(mask: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Cut off a stub of background that sticks out of the outline where both networks see background.

    GrabCut keeps a bar of a bedspread's dark pattern at a tee's side because it is coloured like the tee's
    shadowed folds; colour cannot tell them apart, the networks can (both under 0.2 over the bar). A stub is
    a part of the mask that an opening with a disk of about 1 % of the photo's size removes, joined to the
    outside, at least 0.02 % of the garment (smaller bits are the outline's own wobble), where the networks'
    largest garment probability (`support`) has a median under 0.2. A strap or a cuff the networks missed is
    rarely missed by both, and a wider part survives the opening. Measured on the 48 labelled photos: 2
    changed (the bedspread bar at t-shirt_0b20fabe's side, two rug bits at a black skirt's side).
    """
    radius = max(2, round(0.01 * max(mask.shape)))
    opened = cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_OPEN, disk(radius)) > 0
    sticking_out = (mask & ~opened).astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(sticking_out, connectivity=4)
    outside = cv2.dilate((~mask).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    stubs = np.zeros_like(mask)
    for label in range(1, count):
        if stats[label, cv2.CC_STAT_AREA] < max(6, 0.0002 * mask.sum()):
            continue
        box = _box(stats, label, pad=1)
        region = labels[box] == label
        if outside[box][region].any() and np.median(support[box][region]) < 0.2:
            stubs[box] |= region
    if not stubs.any():
        return mask
    # The opening leaves the stub's root in the fillets where it meets the side: the root goes as far as
    # the networks call it background (under 0.5), within one radius of the stub.
    root = mask & (support < 0.5) & (cv2.dilate(stubs.astype(np.uint8), disk(radius)) > 0)
    _, labels = cv2.connectedComponents((root | stubs).astype(np.uint8), connectivity=4)
    stubs |= root & np.isin(labels, np.unique(labels[stubs]))
    out = keep_big_components(mask & ~stubs, min_fraction=0.2)
    return out if out.any() else mask


def remove_cast_shadow(mask: np.ndarray, rgb: np.ndarray, support: np.ndarray) -> np.ndarray:
    """Peel off the garment's cast shadow kept along the outline (a dark strip of floor under a hem).

    A shadow on a coloured floor keeps the floor's hue and loses lightness. A pixel within 1.5 % of the
    photo's size inside the outline, where the networks are not sure (support under 0.95), is shadow when
    its hue (LAB a, b) is much nearer the floor's right outside than the garment's right inside (half the
    angle or less, the two hues at least 40° apart and both clearly coloured) and it is darker than both
    by 10 levels: a pixel mixing garment and floor at the outline is never darker than both. Only shadow
    joined to the outside through shadow goes, in strips of at least 0.05 % of the garment (a few dark
    pixels are the garment's own edge). A nearly colourless garment (a navy jacket on a pink floor) has no
    hue to compare, so it is left alone. Measured on the 48 labelled photos: only the pink trousers on a
    wooden floor changed (the dark strips under both hems gone). On a faintly coloured floor (chroma 8 or
    more: light grey carpet under jeans) a shadow is darker than the floor, not the garment; there a pixel
    is shadow when it keeps the floor's hue (nearer it than 0.3 of the way to the garment's, and at least
    half its chroma, so a garment's own colour darkened toward grey is not) yet lost 0.4 or more of the
    lightness between floor and garment: a mix moves hue and lightness alike. That took the brown smudge
    off the jeans' left hem (pants_26acb9ef) and floor slivers off a dress's and a coat's side. A floor
    fainter still (chroma ~6: the same carpet under the right hem) shows its hue in the shadow instead:
    lit by light the floor bounced, the shadow is more saturated than the lit floor. So a strip goes when
    some of its pixels show the floor's hue with chroma 8 (along the floor's direction) and the others
    join them, 8-connected: that took the right hem's smudge, a dark fringe under a red dress's hem and
    part of the brown shadow along a pair of shorts' side. `support` is the networks' largest garment
    probability.
    """
    if not mask.any():
        return mask
    m8 = mask.astype(np.uint8)
    reach = max(3, round(0.015 * max(mask.shape)))
    core = cv2.erode(m8, disk(reach)) > 0
    rim = mask & ~core & (support < 0.95)
    outside = (cv2.dilate(m8, disk(3 * reach)) > 0) & ~(cv2.dilate(m8, disk(2)) > 0)
    if not rim.any() or outside.sum() < 200 or core.sum() < 200:
        return mask
    ys, xs = nonzero(rim)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32) - (0, 128, 128)
    # The floor's and the garment's colours near each rim pixel change slowly: window means on a grid `step`
    # times coarser, read at the rim pixels only (full-size Gaussian blurs cost ~0.3 s a photo).
    step = max(1, reach // 3)
    size = (max(1, mask.shape[1] // step), max(1, mask.shape[0] // step))
    small = cv2.resize(lab, size, interpolation=cv2.INTER_AREA)
    cell = np.minimum(ys // step, size[1] - 1), np.minimum(xs // step, size[0] - 1)

    window = (2 * round(2 * reach / step) + 1,) * 2  # about 2 × reach either side

    def near(where: np.ndarray) -> np.ndarray:
        share = cv2.resize(where.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        weight = cv2.blur(share, window)
        total = cv2.blur(small * share[..., None], window)
        return (total / np.maximum(weight, 1e-3)[..., None])[cell]

    def angle(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        cos = np.einsum("ij,ij->i", u, v) / np.maximum(np.hypot(*u.T) * np.hypot(*v.T), 1e-3)
        return np.degrees(np.arccos(np.clip(cos, -1, 1)))

    pixel, floor, garment = lab[ys, xs], near(outside), near(core)
    hue, floor_hue, garment_hue = pixel[:, 1:], floor[:, 1:], garment[:, 1:]
    coloured = (np.hypot(*hue.T) >= 6) & (np.hypot(*floor_hue.T) >= 15) & (np.hypot(*garment_hue.T) >= 12)
    apart = angle(floor_hue, garment_hue) >= 40
    floor_like = angle(hue, floor_hue) <= 0.5 * angle(hue, garment_hue)
    darker = pixel[:, 0] < np.minimum(floor[:, 0], garment[:, 0]) - 10
    dark = coloured & apart & floor_like & darker
    # A faintly coloured floor (grey carpet under jeans): the shadow is darker than the floor only, but keeps
    # the floor's hue while it took most of the way to the garment's lightness: a mix moves both alike.
    floor_chroma = np.hypot(*floor_hue.T)
    hue_gap = np.hypot(*(garment_hue - floor_hue).T)
    hue_share = np.hypot(*(hue - floor_hue).T) / np.maximum(hue_gap, 1e-3)
    light_share = (floor[:, 0] - pixel[:, 0]) / np.maximum(floor[:, 0] - garment[:, 0], 1e-3)
    faint = floor_like & (floor_chroma >= FAINTEST_FLOOR_CHROMA) & (np.hypot(*hue.T) >= 0.5 * floor_chroma)
    faint &= (hue_gap >= FAINT_HUE_GAP) & (floor[:, 0] - garment[:, 0] >= 40)
    faint &= (hue_share <= FAINT_HUE_SHARE) & (light_share >= FAINT_LIGHT_SHARE)
    # The floor's hue has a direction where the lit floor shows it clearly or the shadow itself does (lit by
    # light bounced off the floor, a shadow is often more saturated than the lit floor); the rest of the strip
    # joins through pixels that keep that hue more faintly.
    along = np.einsum("ij,ij->i", hue, floor_hue) / np.maximum(floor_chroma, 1e-3)
    sure = faint & ((floor_chroma >= FAINT_FLOOR_CHROMA) | (along >= FAINT_FLOOR_CHROMA))
    shadow = np.zeros_like(mask)
    shadow[ys[faint], xs[faint]] = True
    shadow = _parts_holding(shadow, (ys[sure], xs[sure]))
    shadow[ys[dark], xs[dark]] = True
    if not shadow.any():
        return mask
    _, labels = cv2.connectedComponents((shadow | ~mask).astype(np.uint8), connectivity=4)
    outer = np.unique(labels[~mask])
    shadow &= np.isin(labels, outer[outer > 0])
    # A cast shadow is a strip, not a few dark pixels of the garment's own edge.
    _, labels, stats, _ = cv2.connectedComponentsWithStats(shadow.astype(np.uint8), connectivity=8)
    strips = np.flatnonzero(stats[1:, cv2.CC_STAT_AREA] >= 0.0005 * mask.sum()) + 1
    if not len(strips):
        return mask
    peeled = keep_big_components(mask & ~np.isin(labels, strips), min_fraction=0.2)
    return peeled if peeled.any() else mask


def _parts_holding(where: np.ndarray, seeds: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """The 8-connected parts of `where` that hold one of the `seeds` (rows, columns): the weak pixels joined
    to sure ones, as in hysteresis thresholding."""
    _, labels = cv2.connectedComponents(where.astype(np.uint8), connectivity=8)
    keep = np.unique(labels[seeds])
    return np.isin(labels, keep[keep > 0])


def enclosed(mask: np.ndarray, labels: np.ndarray, stats: np.ndarray, label: int) -> bool:
    """Is the connected region `label` (of `labels`, with its `stats`) surrounded by the garment: more than
    85 % of a 4 px ring around it inside `mask`? Background seen through a gap is; a light stripe or a patch
    of background along the outline is not."""
    box = _box(stats, label)
    region = labels[box] == label
    ring = (cv2.dilate(region.astype(np.uint8), disk(4)) > 0) & ~region
    return bool(mask[box][ring].mean() > 0.85)


def _box(stats: np.ndarray, label: int, pad: int = 5) -> tuple[slice, slice]:
    x, y, w, h = stats[label, :4]
    return slice(max(0, y - pad), y + h + pad), slice(max(0, x - pad), x + w + pad)


def _cluster_distance(
    lab: np.ndarray, samples: np.ndarray, clusters: int, *, settled: bool = False
) -> np.ndarray:
    """How far each pixel of `lab` is from the nearest k-means cluster of `samples`, in units of that
    cluster's spread (clusters under 3 % of the samples are noise and left out).

    By default every n-th of at most 4000 samples, from k-means++ seeds: quick, but a few samples more or
    less pick others and the clusters land elsewhere. `settled` clusters (up to `SETTLED_SAMPLES`) samples
    from seeds that do not depend on which pixels were picked (`_settled_kmeans`): a mask a row shorter
    moves them a little, not to another partition."""
    if settled:
        samples = np.ascontiguousarray(samples[:: max(1, -(-len(samples) // SETTLED_SAMPLES))])
        labels, centres = _settled_kmeans(samples, clusters)
    else:
        samples = np.ascontiguousarray(samples[:: max(1, len(samples) // 4000)])
        criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
        cv2.setRNGSeed(0)
        _, labels, centres = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    dist = np.full(lab.shape[:2], np.inf, np.float32)
    for c in range(clusters):
        members = samples[labels == c]
        if len(members) < 0.03 * len(samples):
            continue
        spread = max(float(np.sqrt(((members - centres[c]) ** 2).sum(1)).mean()), 4.0)
        dist = np.minimum(dist, np.sqrt(((lab - centres[c]) ** 2).sum(2)) / spread)
    return dist


def _settled_kmeans(samples: np.ndarray, clusters: int) -> tuple[np.ndarray, np.ndarray]:
    """k-means of `samples` (float32 rows) started from bands of equal count along lightness (the first
    column), run until the centres stop moving. The start depends only on the order of lightness, so it
    moves little when a few samples come or go; random seeds (k-means++) and an early stop after 20 rounds
    each gave one of two partitions of a black jacket's shades, turn about as its mask lost a row."""
    ranks = np.argsort(np.argsort(samples[:, 0], kind="stable"), kind="stable")
    start = (ranks * clusters // len(samples)).astype(np.int32)[:, None]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 100, 0.01)
    _, labels, centres = cv2.kmeans(samples, clusters, start, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    return labels, centres


def background_distance(rgb: np.ndarray, *, clusters: int = 5) -> np.ndarray:
    """How unlike the photo's border colours each pixel is, in units of the nearest border cluster's spread.

    k-means in LAB on the outer 4 % ring; rare ring clusters (the garment touching the frame) are not taken
    as background. Below ~1.5 a pixel looks like the background, above ~3 it surely is not.
    """
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB).astype(np.float32)
    lab[..., 0] *= 0.6  # lighting varies more than hue across a background: weigh lightness less
    h, w = lab.shape[:2]
    m = max(2, round(0.04 * min(h, w)))
    ring = np.ones((h, w), bool)
    ring[m:-m, m:-m] = False
    # Corners are background in nearly every garment photo; the middle of a side often is the garment.
    c = max(2, round(0.1 * min(h, w)))
    corner = np.zeros((h, w), bool)
    corner[:c, :c] = corner[:c, -c:] = corner[-c:, :c] = corner[-c:, -c:] = True
    step = max(1, ring.sum() // 4000)
    samples, in_corner = lab[ring][::step], corner[ring][::step]
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.5)
    cv2.setRNGSeed(0)
    _, labels, centres = cv2.kmeans(samples, clusters, None, criteria, 2, cv2.KMEANS_PP_CENTERS)
    labels = labels.ravel()
    dist = np.full((h, w), np.inf, np.float32)
    for c in range(clusters):
        members = samples[labels == c]
        corner_share = (labels[in_corner] == c).mean() if in_corner.any() else 0.0
        if corner_share < 0.1 and len(members) < 0.35 * len(samples):
            continue  # a colour of the garment where it touches the frame, not of the background
        spread = max(float(np.sqrt(((members - centres[c]) ** 2).sum(1)).mean()), 4.0)
        dist = np.minimum(dist, np.sqrt(((lab - centres[c]) ** 2).sum(2)) / spread)
    return cv2.GaussianBlur(dist, (0, 0), 1.5)


def border_model_mask(rgb: np.ndarray, *, dist: np.ndarray | None = None) -> np.ndarray:
    """Independent hypothesis: whatever is unlike the colours of the photo's outer ring is the garment."""
    dist = background_distance(rgb) if dist is None else dist
    h, w = dist.shape
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


def edge_band(mask: np.ndarray, radius: int) -> np.ndarray:
    """Pixels within about `radius` of the mask's outline, either side.

    A wide morphology at 12 MP is slow, so past a few pixels it runs on a copy shrunk to keep the radius
    near 3 and is scaled back: the band is only a region to work in, its exact border does not matter.
    """
    step = max(1, radius // 3)
    if step == 1:
        return cv2.morphologyEx(mask.astype(np.uint8), cv2.MORPH_GRADIENT, disk(radius)) > 0
    h, w = mask.shape
    small = cv2.resize(
        mask.astype(np.float32), (max(1, w // step), max(1, h // step)), interpolation=cv2.INTER_AREA
    )
    band = cv2.morphologyEx(
        (small > 0.5).astype(np.uint8), cv2.MORPH_GRADIENT, disk(round(radius / step) + 1)
    )
    return cv2.resize(band, (w, h), interpolation=cv2.INTER_NEAREST) > 0


def refine_edges(rgb: np.ndarray, coarse: np.ndarray, *, scale: float) -> np.ndarray:
    """Snap an upscaled matte to the full-resolution image edges, only in a band around the boundary.

    `scale` is full-resolution pixels per working pixel; the band and filter radius grow with it because
    that is how far off the upscaled edge can be. Above 2× the filter's coefficients are computed on a grid
    `scale / 2` times coarser and read only at the band's pixels: at 12 MP full-size passes over the whole
    crop were most of the edge refinement's time, and the band is a few % of the crop.
    """
    radius = max(2, round(2 * scale))
    band = edge_band(coarse > 0.5, radius)
    if not band.any():
        return coarse
    y0, y1, x0, x1 = bounding_box(band, pad=2 * radius + 1)
    grey8 = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    subsample = max(1, round(scale / 2))
    alpha = coarse.copy()
    if subsample == 1:
        fine = guided_filter(grey8.astype(np.float32) / 255, coarse[y0:y1, x0:x1], radius, 5e-3)
        sub = band[y0:y1, x0:x1]
        alpha[y0:y1, x0:x1][sub] = np.clip(fine, 0, 1)[sub]
        return alpha
    ys, xs = nonzero(band[y0:y1, x0:x1])
    mean_a, mean_b = guided_coefficients(grey8, coarse[y0:y1, x0:x1], radius, 5e-3, subsample=subsample)
    shape = grey8.shape
    guide = grey8[ys, xs].astype(np.float32) / 255
    fine = sample_bilinear(mean_a, ys, xs, shape) * guide + sample_bilinear(mean_b, ys, xs, shape)
    alpha[ys + y0, xs + x0] = np.clip(fine, 0, 1)
    return alpha


def nonzero(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.nonzero` of a 2-D bool mask, ~10× faster on a 12 MP one (flat indices, then divided)."""
    return np.divmod(np.flatnonzero(mask), mask.shape[1])


def guided_coefficients(
    grey8: np.ndarray, src: np.ndarray, radius: int, eps: float, *, subsample: int
) -> tuple[np.ndarray, np.ndarray]:
    """The fast guided filter's smoothed coefficients (a, b) on a grid `subsample` times coarser than
    `grey8` (uint8 guide); the filtered value at a full-size pixel is a·guide + b, a and b read bilinearly.
    """
    small = (max(1, grey8.shape[1] // subsample), max(1, grey8.shape[0] // subsample))
    g = cv2.resize(grey8, small, interpolation=cv2.INTER_AREA).astype(np.float32) / 255
    p = cv2.resize(src, small, interpolation=cv2.INTER_AREA)
    size = (2 * max(1, round(radius / subsample)) + 1,) * 2

    def mean(x: np.ndarray) -> np.ndarray:
        return cv2.boxFilter(x, cv2.CV_32F, size, borderType=cv2.BORDER_REFLECT)

    mean_i, mean_p = mean(g), mean(p)
    a = (mean(g * p) - mean_i * mean_p) / (mean(g * g) - mean_i * mean_i + eps)
    b = mean_p - a * mean_i
    return mean(a), mean(b)


def sample_bilinear(grid: np.ndarray, ys: np.ndarray, xs: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """`grid` resized to `shape` (as cv2.resize INTER_LINEAR does: pixel centres aligned, edges clamped),
    read only at the pixels (ys, xs)."""
    gh, gw = grid.shape
    fy = np.clip((ys + 0.5) * (gh / shape[0]) - 0.5, 0, gh - 1).astype(np.float32)
    fx = np.clip((xs + 0.5) * (gw / shape[1]) - 0.5, 0, gw - 1).astype(np.float32)
    y0, x0 = fy.astype(np.int32), fx.astype(np.int32)
    y1, x1 = np.minimum(y0 + 1, gh - 1), np.minimum(x0 + 1, gw - 1)
    wy, wx = fy - y0, fx - x0
    top = grid[y0, x0] * (1 - wx) + grid[y0, x1] * wx
    bottom = grid[y1, x0] * (1 - wx) + grid[y1, x1] * wx
    return top * (1 - wy) + bottom * wy


def _local_means(rgb: np.ndarray, alpha: np.ndarray, edge: np.ndarray, grid=None):
    """Local background and garment colour means, read at the `edge` pixels, plus their coordinates.

    The means are smooth, so they are computed on a grid of at most ~640 px: cheap at 12 MP. Each grid
    cell averages exactly step × step pixels (OpenCV's fast path for whole factors: 3× faster at 12 MP
    than a fractional one); the few rows and columns past the last whole cell read the last cell.
    `grid`: the `_colour_grid` of rgb and alpha, if the caller has it already.
    """
    small, small_alpha, at = grid or _colour_grid(rgb, alpha)
    ys, xs = nonzero(edge)
    cell = at(ys, xs)
    return _blur_mean(small, small_alpha < 0.01)[cell], _blur_mean(small, small_alpha > 0.99)[cell], ys, xs


def _half_means(grid, ys: np.ndarray, xs: np.ndarray):
    """Local means of the garment's pixels darker and lighter than its local mean (the black and the white
    of a striped sleeve), read at pixels (ys, xs) of a `_colour_grid` like `_local_means`; each the
    garment's mean where it has no such pixels. Read only where needed: at the whole edge band of a 12 MP
    photo it cost ~0.15 s.
    """
    small, small_alpha, at = grid
    # Not the outline's own cells: an opaque rim tinted by the background (JPEG bleed) would be most of the
    # darker half of a plain white garment there, and kept.
    inside = cv2.erode((small_alpha > 0.99).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    garment = _blur_mean(small, inside)
    darker = inside & (small.sum(2) < garment.sum(2))
    cell = at(ys, xs)
    return (_blur_mean(small, weight, garment)[cell] for weight in (darker, inside & ~darker))


def _colour_grid(rgb: np.ndarray, alpha: np.ndarray):
    """The photo and matte on the local means' grid (see `_local_means`), and a function giving the grid
    cell of full-size pixels.
    """
    step = max(1, round(max(alpha.shape) / 640))
    size = (max(1, alpha.shape[1] // step), max(1, alpha.shape[0] // step))
    whole = (slice(0, size[1] * step), slice(0, size[0] * step))
    small = cv2.resize(rgb[whole], size, interpolation=cv2.INTER_AREA).astype(np.float32)
    small_alpha = cv2.resize(alpha[whole], size, interpolation=cv2.INTER_AREA)

    def at(ys: np.ndarray, xs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.minimum(ys // step, size[1] - 1), np.minimum(xs // step, size[0] - 1)

    return small, small_alpha, at


def _blur_mean(small: np.ndarray, weight: np.ndarray, fallback: np.ndarray | None = None) -> np.ndarray:
    """Gaussian-weighted local mean of `small` over the pixels in `weight`, `fallback` where none are."""
    weight = weight.astype(np.float32)
    num = cv2.GaussianBlur(small * weight[..., None], (0, 0), 3)
    den = cv2.GaussianBlur(weight, (0, 0), 3)[..., None]
    mean = num / np.maximum(den, 1e-4)
    return mean if fallback is None else np.where(den > 1e-3, mean, fallback)


def choke_background_edge(rgb: np.ndarray, alpha: np.ndarray, *, any_colour: bool = False) -> np.ndarray:
    """Lower the matte of edge pixels whose colour is the background's rather than the garment's.

    A colour-line estimate: where the local garment and background colours differ clearly, a pixel's share
    of the way from background to garment colour bounds its alpha. Pixels of the thin band at the outline
    that stay opaque but carry the background's tint (JPEG bleeds colour ~2 px) become a hair transparent,
    so `decontaminate` cleans their colour too. `any_colour` (a busy background: rug, shag carpet) applies
    it against a grey or beige background as well: there the outline's pixels are part fibre, and the grey
    rim they leave is worse than a garment part fading into a floor of its own colour. There it makes a
    pixel at most half transparent: fibres scatter the estimate pixel by pixel, and a full choke punched
    notches into the outline (a light waistband edge on a beige rug came out dotted).
    """
    reach = max(3, round(0.006 * max(alpha.shape)))
    band = edge_band(alpha > 0.5, reach) & (alpha > 0.01)
    if not band.any():
        return alpha
    grid = _colour_grid(rgb, alpha)
    background, garment, ys, xs = _local_means(rgb, alpha, band, grid)
    image = rgb[ys, xs].astype(np.float32)
    line = garment - background
    # einsum: numpy's sum over a length-3 axis is several times slower on half a million pixels
    length2 = np.einsum("ij,ij->i", line, line)
    share = np.einsum("ij,ij->i", image - background, line) / np.maximum(length2, 1.0)
    # A pixel lighter than both colours and far off the line between them is no mix of the two: it is the
    # garment's own highlight (a white collar rim against the wood floor, lighter than the collar's grey
    # shade: its share came out near 0 and the rim went). A darker one is kept bounded (a cast shadow left
    # at a hem), and so is any on a busy background (light rug fibres).
    off = image - background - share[:, None] * line
    far = np.einsum("ij,ij->i", off, off) > MIX_SPREAD**2 * length2
    lighter = image.mean(1) > np.maximum(background.mean(1), garment.mean(1))
    mixed = ~(far & lighter) | any_colour
    # Only against a coloured background (red bedspread, pink sheet): that is where a fringe shows, and a
    # garment part that happens to match a grey or beige floor (a collar lining) must not fade; unless the
    # background is busy (`any_colour`).
    chroma = background.max(1) - background.min(1)
    applies = (length2 > 40.0**2) & ((chroma > 40) | any_colour) & mixed
    share = np.minimum(np.clip(share, 0, 1), 0.985)
    before = alpha[ys, xs]
    if not any_colour:
        # One average garment colour explains no stripe: the black of a black-and-white sleeve is far off
        # the line to its grey mean and came out half transparent. Of the pixels that line would choke, one
        # the line to the darker or lighter half's colour passes nearer, and near enough, takes its share
        # from that; one that is such a colour shaded, with no background in it (a grey fold at a white
        # tee's hem on a red bedspread), is kept. A cast shadow, the background's own colour darkened, lies
        # near none of them and stays bounded. Not on a busy background: there fibres of every shade match
        # some garment colour.
        doubt = np.flatnonzero(applies & (share < before - 0.05))  # not the hair of the tint's choke
        halves = _half_means(grid, ys[doubt], xs[doubt])
        share[doubt] = _share_by_halves(image[doubt], background[doubt], *halves, share[doubt], off[doubt])
    out = alpha.copy()
    bound = np.where(applies, share, 1.0)
    if any_colour:
        bound = np.maximum(bound, np.minimum(before, 0.5))
    out[ys, xs] = np.minimum(before, bound)
    return out


def smooth_choked(before: np.ndarray, after: np.ndarray, *, scale: float = 1.0) -> np.ndarray:
    """The choked matte `after` with its outline smoothed (`smooth_matte`) near where the choke bit into
    `before` (the matte it was given), never above `before`; elsewhere `after` as it is.

    The choke bounds each edge pixel by its own colour, so along a cast shadow under a hem its outline is as
    ragged as the shadow's edge is noisy: teeth, a notch cut into the hem's corner, light specks of floor
    kept as "lighter than both colours" and detached flecks (pants_137ef939's hems). Smoothed over a
    working pixel, the teeth and notches close and specks below that size fade; capped by `before`, nothing
    the guided filter had not kept comes back. Only near the bites: elsewhere the guided filter's edge (a
    soft hair, a fuzz) is the photo's and stays. `scale`: full-size pixels per working pixel.
    """
    # Everything is done at the working size and read back only near the bites: at 12 MP each full-size
    # temporary costs its page faults (seven of them made this step 0.4-0.6 s; this 0.1-0.2 s).
    bitten = cv2.compare(cv2.subtract(before, after), CHOKE_BITE, cv2.CMP_GT)  # 255 where bitten
    if not cv2.countNonZero(bitten):
        return after
    small, soft = bitten, after
    if scale > 1:  # a working pixel holding any bitten pixel counts as bitten
        small = cv2.resize(bitten, None, fx=1 / scale, fy=1 / scale, interpolation=cv2.INTER_AREA)
        soft = cv2.resize(after, small.shape[1::-1], interpolation=cv2.INTER_AREA)
    small = cv2.dilate(small, disk(CHOKE_REACH))
    if small.shape != bitten.shape:
        small = cv2.resize(small, bitten.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    ys, xs = np.nonzero(small)
    soft = cv2.GaussianBlur(soft.astype(np.float32), (0, 0), CHOKE_SMOOTH)
    smooth = _steepen(sample_bilinear(soft, ys, xs, after.shape), sigma=CHOKE_SMOOTH, scale=scale)
    out = after.copy()
    out[ys, xs] = np.minimum(smooth, before[ys, xs])
    return out


def _share_by_halves(image, background, dark_half, light_half, share, off) -> np.ndarray:
    """`share` (of the way from background to the garment's mean colour, `off` the pixel's offset from that
    line) replaced where a line to a half's colour explains the pixel better, or it is a half's shade.
    """
    miss = np.einsum("ij,ij->i", off, off)
    from_background = np.einsum("ij,ij->i", image - background, image - background)
    for half in (dark_half, light_half):
        half_share, half_miss, half_length2 = _mix(image, background, half)
        better = (half_miss < miss) & (half_miss <= MIX_SPREAD**2 * half_length2)
        depth = np.einsum("ij,ij->i", image, half) / np.maximum(np.einsum("ij,ij->i", half, half), 1)
        unlit = image - np.clip(depth, *SHADE)[:, None] * half
        fold = np.einsum("ij,ij->i", unlit, unlit) <= SHADE_SPREAD**2 * from_background
        share = np.where(fold, 0.985, np.where(better, np.clip(half_share, 0, 0.985), share))
        miss = np.where(better, half_miss, miss)
    return share


def _mix(image: np.ndarray, background: np.ndarray, colour: np.ndarray):
    """Each pixel's share of the way from its background to `colour` (n × 3 arrays), the squared distance
    from it to that line, and the line's squared length.
    """
    line, d = colour - background, image - background
    length2 = np.maximum(np.einsum("ij,ij->i", line, line), 1.0)
    share = np.einsum("ij,ij->i", d, line) / length2
    off = d - share[:, None] * line
    return share, np.einsum("ij,ij->i", off, off), length2


def decontaminate(rgb: np.ndarray, alpha: np.ndarray, *, busy: bool = False) -> np.ndarray:
    """Remove background colour bleeding into semi-transparent edge pixels.

    Solves I = αF + (1−α)B for F with B the local background mean; where α is small that is ill-posed,
    so F leans on the local mean of the garment's own colour instead. F is kept between the observed pixel
    and the garment's colour, channel by channel: an over-estimated background can then never push it past
    the garment into the complementary colour (a cyan fringe from a red bedspread). Only pixels with a
    fractional alpha change (`repair.locate` relies on it).

    On a busy background (`busy`: rug, shag carpet) the background at the outline is no one colour: a dark
    fibre or the shadow line under the garment's edge is not the local mean, and solving for F keeps its
    darkness, which `_untint` then saturates (a dark-red rim along a red tee's shoulders on a grey
    carpet). There F's lightness is kept between that of the garment's local darker and lighter halves
    (`_half_means`: a stripe's black and white both stay, a fibre's shade goes). Measured on the 5 busy
    photos of the 48: the red tee's shoulder edge pixels' darkest 5 % went from L 41.7 to 46.3 (its own
    darkest 5 % nearby: 48.6); the other four change by a few edge pixels, seen the same at 7x.
    """
    edge = (alpha > 0.01) & (alpha < 0.99)
    if not edge.any():
        return rgb
    grid = _colour_grid(rgb, alpha)
    background, garment, ys, xs = _local_means(rgb, alpha, edge, grid)
    image = rgb[ys, xs].astype(np.float32)
    a = alpha[ys, xs, None]
    solved = (image - (1 - a) * background) / np.maximum(a, 0.05)
    solved = np.clip(solved, np.minimum(image, garment), np.maximum(image, garment))
    trust = np.clip((a - 0.3) / 0.5, 0, 1)
    colour = _untint(trust * solved + (1 - trust) * garment, garment, background)
    if busy:
        colour = _clip_lightness(colour, *_half_means(grid, ys, xs))
    out = rgb.copy()
    out[ys, xs] = np.round(np.clip(colour, 0, 255)).astype(np.uint8)
    return out


def _untint(colour: np.ndarray, garment: np.ndarray, background: np.ndarray) -> np.ndarray:
    """Remove the part of each colour's chroma (LAB a, b) that leans from the garment's towards the
    background's; lightness (the fabric's texture) stays, and nothing moves past the garment's own hue.
    """

    def lab(x: np.ndarray) -> np.ndarray:
        return cv2.cvtColor(np.clip(x, 0, 255).astype(np.float32)[None] / 255, cv2.COLOR_RGB2LAB)[0]

    c, g, b = lab(colour), lab(garment), lab(background)
    towards = b[:, 1:] - g[:, 1:]
    unit = towards / np.maximum(np.linalg.norm(towards, axis=1, keepdims=True), 1e-3)
    lean = np.clip(((c[:, 1:] - g[:, 1:]) * unit).sum(1, keepdims=True), 0, None)
    c[:, 1:] -= lean * unit
    return cv2.cvtColor(c[None], cv2.COLOR_LAB2RGB)[0] * 255


def _clip_lightness(colour: np.ndarray, dark: np.ndarray, light: np.ndarray) -> np.ndarray:
    """`colour` (N×3 RGB floats) with its LAB lightness kept between that of `dark` and `light`; hue and
    chroma stay."""
    c, low, high = _lab(colour), _lab(dark)[:, 0], _lab(light)[:, 0]
    c[:, 0] = np.clip(c[:, 0], np.minimum(low, high), np.maximum(low, high))
    return cv2.cvtColor(c[None], cv2.COLOR_LAB2RGB)[0] * 255


def _lab(x: np.ndarray) -> np.ndarray:
    """N×3 RGB floats (0..255) in float LAB (L 0..100)."""
    return cv2.cvtColor(np.clip(x, 0, 255).astype(np.float32)[None] / 255, cv2.COLOR_RGB2LAB)[0]


def iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 1.0


def bounding_box(mask: np.ndarray, *, pad: int) -> tuple[int, int, int, int]:
    """Bounding box (y0, y1, x0, x1) of a non-empty mask, padded and clipped to the array."""
    ys, xs = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    h, w = mask.shape
    return max(ys[0] - pad, 0), min(ys[-1] + pad + 1, h), max(xs[0] - pad, 0), min(xs[-1] + pad + 1, w)
