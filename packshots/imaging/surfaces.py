"""Procedural flat-lay surfaces at output resolution: linen weave, wood planks, marble veins, concrete pores…

Each surface is a multiplicative shade (float32, 1 = the base colour) built from a few small random grids
upscaled once, 1-D profiles broadcast over the canvas, and look-up tables instead of `sin`/`exp` per pixel:
a 2K surface costs a few tens of ms of CPU (bench/README.md). Sizes are in `unit`s of 1/1000 of the canvas's
long side, so a surface looks the same at 1K and 4K; only a weave never goes below 3 px (finer turns to mush).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import cv2
import numpy as np

RGB = tuple[int, int, int]

# Surface words → the kind of texture drawn. The first word found in the text wins.
WORDS: dict[str, str] = {
    "linen": "linen",
    "flax": "linen",
    "burlap": "canvas",
    "hessian": "canvas",
    "canvas": "canvas",
    "cotton": "cotton",
    "muslin": "cotton",
    "sheet": "cotton",
    "denim": "denim",
    "jean": "denim",
    "jeans": "denim",
    "wood": "wood",
    "wooden": "wood",
    "oak": "wood",
    "walnut": "wood",
    "pine": "wood",
    "timber": "wood",
    "plank": "wood",
    "planks": "wood",
    "floorboards": "wood",
    "parquet": "wood",
    "teak": "wood",
    "maple": "wood",
    "birch": "wood",
    "marble": "marble",
    "concrete": "concrete",
    "cement": "concrete",
    "plaster": "stone",
    "stone": "stone",
    "limestone": "stone",
    "sandstone": "stone",
    "slate": "slate",
    "terrazzo": "terrazzo",
    "paper": "paper",
    "kraft": "kraft",
    "cardboard": "kraft",
}
# Colours of the surface words colors.MATERIALS does not know (it names the others).
COLOURS: dict[str, RGB] = {
    "flax": (226, 214, 190),
    "burlap": (196, 170, 126),
    "hessian": (196, 170, 126),
    "muslin": (240, 234, 222),
    "sheet": (240, 238, 234),
    "jean": (79, 109, 143),
    "jeans": (79, 109, 143),
    "timber": (170, 124, 86),
    "plank": (170, 124, 86),
    "planks": (170, 124, 86),
    "floorboards": (170, 124, 86),
    "parquet": (176, 128, 84),
    "teak": (160, 108, 62),
    "maple": (226, 196, 156),
    "birch": (228, 206, 172),
    "plaster": (232, 226, 216),
    "limestone": (222, 214, 196),
    "sandstone": (214, 186, 146),
    "terrazzo": (226, 222, 214),
    "cardboard": (190, 152, 104),
}
WEAVE_UNITS = {"linen": 2.4, "canvas": 3.2, "cotton": 1.6}  # thread pitch, units of 1/1000 of the long side
MIN_PITCH = 3.0
BAND = 256  # rows per band where full-size work goes band by band (a 4K band of float32 is 4 MB)
_WORD = re.compile(r"[a-z]+")


def surface_word(text: str) -> str | None:
    """The first surface word in `text` ("a light oak table" → "oak"), or None."""
    return next((w for w in _WORD.findall(text.lower()) if w in WORDS), None)


def weave_pitch(kind: str, width: int, height: int) -> float:
    """Thread spacing in px of a woven surface on this canvas."""
    return max(MIN_PITCH, WEAVE_UNITS[kind] * max(width, height) / 1000)


def paint(canvas: np.ndarray, kind: str, *, seed: int, variation: int = 0) -> None:
    """Draw the surface `kind` over the base colours already in `canvas` (uint8 H×W×3, in place)."""
    h, w = canvas.shape[:2]
    rng = np.random.default_rng([seed, variation, 7])
    unit = max(h, w) / 1000
    sample = canvas[:: max(1, h // 16), :: max(1, w // 16)].reshape(-1, 3)
    dark = float(sample.mean()) < 110
    shade = PAINTERS[kind](h, w, rng, unit, dark)
    if (sample == sample[0]).all():
        _apply_flat(canvas, shade, sample[0])
    else:
        _multiply(canvas, shade)
    if kind == "terrazzo":
        _chips(canvas, rng, unit)


# ------------------------------------------------------------------ building blocks


def _grid(rng: np.random.Generator, ny: float, nx: float) -> np.ndarray:
    return rng.standard_normal((max(2, round(ny)), max(2, round(nx)))).astype(np.float32)


def _up(small: np.ndarray, h: int, w: int) -> np.ndarray:
    return cv2.resize(
        small, (w, h), interpolation=cv2.INTER_LINEAR if min(small.shape) > 64 else cv2.INTER_CUBIC
    )


def _low(h: int, w: int, side: int = 256) -> tuple[int, int]:
    f = max(1.0, max(h, w) / side)
    return max(2, math.ceil(h / f)), max(2, math.ceil(w / f))


def _fbm(rng: np.random.Generator, shape: tuple[int, int], cells: float, octaves: int) -> np.ndarray:
    """Smooth fractal noise (≈ unit variance) at `shape`, `cells` bumps across its long side.

    Octaves are summed on small grids, each doubled before the next is added, and only the sum is
    resized to `shape`: the cost is one resize whatever the octaves.
    """
    lh, lw = shape
    ny, nx = max(2, round(cells * lh / max(lh, lw))), max(2, round(cells * lw / max(lh, lw)))
    total = _grid(rng, ny, nx)
    amp, norm = 1.0, 1.0
    for _ in range(octaves - 1):
        ny, nx = 2 * ny, 2 * nx
        amp *= 0.55
        total = cv2.resize(total, (nx, ny), interpolation=cv2.INTER_CUBIC) + amp * _grid(rng, ny, nx)
        norm += amp**2
    total *= 1 / math.sqrt(norm)
    return _up(total, lh, lw)


def _add_repeated(shade: np.ndarray, tile: np.ndarray) -> np.ndarray:
    """shade += `tile` repeated over it, in place: one strip of tiles, not a full-size copy (76 MB at 4K)."""
    h, w = shade.shape
    th, tw = tile.shape
    strip = cv2.repeat(tile, 1, w // tw + 1)[:, :w]
    for y in range(0, h, th):
        rows = shade[y : y + th]
        rows += strip[: rows.shape[0]]
    return shade


def _add_layer(shade: np.ndarray, layer: np.ndarray, k: float) -> np.ndarray:
    """shade += k × (layer − 128) for a uint8 `layer`, in place, in bands (no full-size float result)."""
    for y in range(0, shade.shape[0], BAND):
        rows = shade[y : y + BAND]
        cv2.addWeighted(rows, 1.0, layer[y : y + BAND], k, -128 * k, dst=rows, dtype=cv2.CV_32F)
    return shade


def _speckle(rng: np.random.Generator, sigma: float, size: int = 256) -> np.ndarray:
    """A tile of fine noise (≈ unit variance, blurred by `sigma` px) that joins seamlessly when repeated."""
    tile = rng.standard_normal((size, size)).astype(np.float32)
    if sigma > 0.3:
        pad = math.ceil(3 * sigma)  # blur the tile as if repeated, so its copies join seamlessly
        tile = cv2.GaussianBlur(np.pad(tile, pad, mode="wrap"), (0, 0), sigma)[pad:-pad, pad:-pad]
        tile /= max(float(tile.std()), 1e-6)
    return tile


def _apply_flat(canvas: np.ndarray, shade: np.ndarray, colour: np.ndarray) -> None:
    """canvas = colour × shade through a 256-entry table: one uint8 index per pixel instead of float RGB."""
    lo, hi = cv2.minMaxLoc(shade)[:2]
    k = 255 / max(hi - lo, 1e-6)
    levels = lo + np.arange(256, dtype=np.float32) / k
    table = np.clip(np.round(levels[:, None] * colour.astype(np.float32)), 0, 255).astype(np.uint8)
    channels = [np.ascontiguousarray(table[:, c]) for c in range(3)]
    for y in range(0, canvas.shape[0], BAND):
        index = cv2.convertScaleAbs(shade[y : y + BAND], alpha=k, beta=-lo * k)
        cv2.merge([cv2.LUT(index, channel) for channel in channels], dst=canvas[y : y + BAND])


def _multiply(canvas: np.ndarray, shade: np.ndarray, band: int = BAND) -> None:
    """canvas ×= shade, in bands of rows so a 4K canvas needs no full-size float copy of its colours."""
    for y in range(0, canvas.shape[0], band):
        rows = canvas[y : y + band]
        mixed = rows * shade[y : y + band, :, None]
        np.clip(mixed, 0, 255, out=mixed)
        rows[:] = mixed + 0.5


def _lines(field: np.ndarray, table: np.ndarray) -> np.ndarray:
    """table[fractional part of field]: stripes through a 256-entry table, no sin/exp per pixel.

    `field` comes multiplied by 256 (at low resolution, where that is free).
    """
    out = np.empty(field.shape, np.float32)
    for y in range(0, field.shape[0], BAND):  # in bands: the int32 and uint8 copies of a 4K field were 80 MB
        wrapped = field[y : y + BAND].astype(np.int32).astype(np.uint8)  # the uint8 cast wraps: the fraction
        cv2.LUT(wrapped, table, dst=out[y : y + BAND])
    return out


VEIN_REACH = 0.12  # field units either side of a thin line that its table covers


def _thin_lines(
    field: np.ndarray,
    h: int,
    w: int,
    width: float,
    halo: float = 0.0,
    *,
    strength: float = 1.0,
    spread: np.ndarray | float = 1.0,
) -> np.ndarray:
    """`strength` where the smooth low-resolution `field` crosses an integer, fading over `width` (+ a faint
    wider `halo`) field units × `spread` (a low-resolution map: lines thin out where it is small), at h×w.

    The distance to the nearest integer is a triangle wave: continuous, so it is taken at low resolution
    and upscaled (only the exact bottom of the V is rounded off). Scaled so 255 is VEIN_REACH, it indexes
    a table: a line a few px wide on a period of a thousand stays smooth, and costs no exp per pixel.
    """
    distance = np.abs(field - np.round(field))
    distance /= spread
    index = cv2.convertScaleAbs(_up(distance, h, w), alpha=255 / VEIN_REACH)
    d = np.arange(256, dtype=np.float32) * (VEIN_REACH / 255)
    table = np.exp(-((d / width) ** 2)) + (0.3 * np.exp(-((d / halo) ** 2)) if halo else 0)
    table[-1] = 0  # beyond the reach
    return cv2.LUT(index, (strength * table).astype(np.float32))


def _bump(centre: float, width: float) -> np.ndarray:
    """One period (256 entries) of a line: 1 at `centre`, fading over `width` (fractions of the period)."""
    t = np.arange(256, dtype=np.float32) / 256
    d = np.abs(t - centre)
    d = np.minimum(d, 1 - d)
    return np.exp(-((d / width) ** 2)).astype(np.float32)


# ------------------------------------------------------------------ woven cloth


def _weave(h: int, w: int, rng: np.random.Generator, unit: float, kind: str) -> np.ndarray:
    """Plain weave: warp and weft threads crossing over and under, with slubs (thick and thin threads)."""
    slub, amp, over = {"linen": (1.0, 0.075, 0.5), "canvas": (0.5, 0.085, 1.0), "cotton": (0.2, 0.04, 0.6)}[
        kind
    ]
    # Threads finer than MIN_PITCH px would alias into a coarse grid: draw them at MIN_PITCH but fainter,
    # as a camera blurs what it cannot resolve (a 1K linen keeps its slubs, its weave only hinted).
    ideal = WEAVE_UNITS[kind] * unit
    amp *= min(1.0, ideal / MIN_PITCH) ** 2
    # The crossing pattern repeats every two threads: one tile whose size holds a whole number of repeats.
    size = 256
    p = size / (2 * max(1, round(size / (2 * weave_pitch(kind, w, h)))))
    t = np.arange(size, dtype=np.float32)
    cx = np.cos(2 * np.pi * t / p)
    half = np.cos(np.pi * t / p)
    tile = amp * 0.33 * (cx[None, :] + cx[:, None] + over * half[None, :] * half[:, None])
    tile = tile.astype(np.float32)
    # Slubs: each weft thread thicker or thinner along its length (streaks across the cloth), warp less so.
    # One value per real thread, even where the weave itself is drawn coarser: coarse streaks read as plaid.
    thread = max(ideal, 1.0)
    lh, lw = max(2, round(h / thread)), max(2, round(w / thread))
    weft = _up(_grid(rng, lh, w / (25 * thread)), lh, lw)
    warp = _up(_grid(rng, h / (60 * thread), lw), lh, lw)
    low = 1 + 0.028 * slub * (weft + 0.3 * warp) + 0.012 * _up(_fbm(rng, _low(h, w), 3, 3), lh, lw)
    return _add_repeated(_up(low, h, w), tile)


def _linen(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    return _weave(h, w, rng, unit, "linen")


def _canvas(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    return _weave(h, w, rng, unit, "canvas")


def _cotton(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    return _weave(h, w, rng, unit, "cotton")


def _denim(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """Twill: diagonal ribs of blue warp with the white weft showing between, and vertical indigo streaks."""
    size = 256
    p = size / max(1, round(size / max(MIN_PITCH, 2.2 * unit)))
    t = np.arange(size, dtype=np.float32)
    rib = np.cos(2 * np.pi * (t[None, :] + t[:, None]) / p) + 0.5 * np.cos(2 * np.pi * t / p)[:, None]
    tile = (0.08 * rib).astype(np.float32)
    lh, lw = max(2, round(h / (8 * p))), max(2, round(w / p))
    streaks = _up(_grid(rng, h / (80 * p), lw), lh, lw)  # ring-spun warp: uneven indigo
    low = 1 + 0.07 * streaks + 0.03 * _up(_fbm(rng, _low(h, w), 3, 3), lh, lw)
    return _add_repeated(_up(low, h, w), tile)


# ------------------------------------------------------------------ wood

_RING = (1.03 - 0.22 * _bump(0.82, 0.06) + 0.04 * np.cos(2 * np.pi * np.arange(256) / 256)).astype(np.float32)


def _wood(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """Boards running down the canvas: each its own tone and grain, dark seams and butt joints between."""
    widths = rng.uniform(0.85, 1.15, 12) * w / rng.uniform(4.5, 6.5)
    edges = np.concatenate([[0.0], np.cumsum(widths)]) - rng.uniform(0, widths[0])
    x = np.arange(w, dtype=np.float32)
    board = np.searchsorted(edges, x, side="right") - 1
    across = x - edges[board]  # position inside its board, px
    width = widths[np.minimum(board, len(widths) - 1)]
    # Growth rings cut at an angle: wavy stripes along the board, 6–14 units apart, different per board;
    # some boards flat-sawn (the stripes bend into arches), so each board gets its own bend.
    spacing = rng.uniform(6, 14, len(edges)) * unit
    offset = rng.uniform(0, 50, len(edges))
    arch = rng.uniform(-1, 1, len(edges)) * 4
    centre = (across - width / 2) / w
    lh, lw = _low(h, w, 512)
    field = 1.2 * _fbm(rng, (lh, lw), 1.5, 3)
    field += 0.35 * _up(_grid(rng, lh / 60, lw / 6), lh, lw)
    bend = _up(_grid(rng, 3, 2), lh, 1) * _up((arch[board] * centre * 8).astype(np.float32)[None, :], 1, lw)
    field += bend
    field = _up(256 * field, h, w)
    field += (256 * (across / spacing[board] + offset[board])).astype(np.float32)[None, :]
    shade = _lines(field, _RING)
    del field
    # Each board is made of lengths ending at different heights; every length has its own tone.
    seam_width = max(1.0, 1.4 * unit)
    tone = np.ones((lh, lw), np.float32)
    joints = []
    scale_x, scale_y = lw / w, lh / h
    for b in range(len(edges) - 1):
        x0, x1 = max(round(edges[b]), 0), min(round(edges[b + 1]), w)
        if x1 <= x0:
            continue
        cuts = np.sort(rng.uniform(-0.3, 1.3, 2) * h)
        for y0, y1, t in zip([0, *cuts], [*cuts, h], rng.normal(0, 0.07, 3), strict=True):
            lo, hi = max(round(y0 * scale_y), 0), min(round(y1 * scale_y), lh)
            tone[lo:hi, round(x0 * scale_x) : round(x1 * scale_x)] = 1 + t
        joints += [(x0, x1, round(y)) for y in cuts if 0 < y < h - 1]
    dist = np.minimum(across, width - across)
    seam = (1 - 0.55 * np.exp(-((dist / seam_width) ** 2))).astype(np.float32)
    tone *= 1 + 0.04 * _up(_grid(rng, h / (25 * unit), w / (2.5 * unit)), lh, lw)  # fibres
    shade *= seam[None, :]
    shade *= _up(tone, h, w)
    r = max(1, round(seam_width / 2))
    for x0, x1, y in joints:
        shade[max(y - r, 0) : y + r + 1, x0:x1] *= 0.55
    return shade


# ------------------------------------------------------------------ stone


def _marble(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """Cloudy stone crossed by a few long veins and finer hairlines: darker on light marble, light on dark."""
    angle = rng.uniform(0.35, 1.2) * rng.choice([-1, 1])
    # ≤ 1024 px (half of 2K): fine enough for the bottom of a 3-px hairline; widths grow with the canvas.
    lh, lw = _low(h, w, min(max(h, w) / 2, 1024))
    ys, xs = np.ogrid[0 : lh / max(lh, lw) : lh * 1j, 0 : lw / max(lh, lw) : lw * 1j]

    def along(a: float) -> np.ndarray:
        return (xs * math.cos(a) + ys * math.sin(a)).astype(np.float32)

    # Veins follow level lines of a direction plus turbulence: weak turbulence keeps them long and
    # wandering (strong turbulence closes them into contour-map loops).
    main = along(angle) * 1.7 + 0.4 * _fbm(rng, (lh, lw), 2, 4)
    fine = along(angle + rng.uniform(-0.5, 0.5)) * 4 + 0.35 * _fbm(rng, (lh, lw), 2.5, 5)
    # A vein: a sharp core in a soft halo, as the mineral seeps into the stone around the crack. Veins
    # thin out and swell along their length (`spread`); on dark marble they are light.
    spread = 0.45 + 0.55 * np.clip(_fbm(rng, (lh, lw), 1.5, 2) + 0.7, 0, 1)
    strength = 1.1 if dark else -0.55
    veins = _thin_lines(main, h, w, 0.006, 0.06, strength=strength, spread=spread)
    veins += _thin_lines(fine, h, w, 0.007, strength=0.45 * strength, spread=spread)
    (np.minimum if dark else np.maximum)(veins, strength, out=veins)  # where two cross
    veins += _up(1 + 0.045 * _fbm(rng, _low(h, w, 512), 2.5, 4), h, w)  # grey clouds in the stone
    return veins


def _concrete(
    h: int, w: int, rng: np.random.Generator, unit: float, dark: bool, pores: bool = True
) -> np.ndarray:
    """Mottled cement with fine sand and, for concrete, small dark air pores."""
    low = _low(h, w, 512)
    shade = _up(1 + 0.05 * _fbm(rng, low, 4, 5) + 0.025 * _fbm(rng, low, 16, 2), h, w)
    _add_repeated(shade, 0.022 * _speckle(rng, 0.6 * unit))
    if pores:
        # Air pores: pits, dark inside with a lit lower-right lip (light from the upper left); many tiny,
        # a few large. Drawn on one layer around 128: below darkens, above lightens.
        holes = np.full((h, w), 128, np.uint8)
        count = int(h * w / (unit * unit) / 800)
        radius = np.clip(rng.lognormal(-0.3, 0.6, count) * 1.3 * unit, 0.8, 10 * unit)
        for px, py, r in zip(rng.integers(0, w, count), rng.integers(0, h, count), radius, strict=True):
            lip = round(0.35 * r)
            cv2.circle(holes, (int(px) + lip, int(py) + lip), round(r), 170, -1, cv2.LINE_AA)
            cv2.circle(holes, (int(px), int(py)), round(r), int(20 + 60 * rng.random()), -1, cv2.LINE_AA)
        holes = cv2.GaussianBlur(holes, (0, 0), 0.35 * unit)
        _add_layer(shade, holes, 0.3 / 128)
    return shade


def _stone(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    return _concrete(h, w, rng, unit, dark, pores=False)


def _slate(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """Cleft slate: layers stretched across the slab, faint light streaks, matte fine grain."""
    lh, lw = _low(h, w, 512)
    layers = _up(_grid(rng, h / (30 * unit), w / (300 * unit)), lh, lw)
    streaks = np.maximum(_up(_grid(rng, h / (14 * unit), w / (200 * unit)), lh, lw) - 1.6, 0)
    shade = _up(1 + 0.06 * _fbm(rng, (lh, lw), 3, 4) + 0.05 * layers + 0.12 * streaks, h, w)
    _add_repeated(shade, 0.03 * _speckle(rng, 0.5 * unit))
    return shade


def _terrazzo(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """The cement between the chips (`_chips` sets the stones in afterwards)."""
    shade = _up(1 + 0.03 * _fbm(rng, _low(h, w), 4, 3), h, w)
    _add_repeated(shade, 0.02 * _speckle(rng, 0.5 * unit))
    return shade


def _chips(canvas: np.ndarray, rng: np.random.Generator, unit: float) -> None:
    """Chips of stone in several colours, many small and a few large."""
    h, w = canvas.shape[:2]
    palette = np.array(
        [(250, 249, 246), (160, 158, 154), (60, 60, 62), (196, 112, 82), (170, 186, 160), (222, 186, 120)],
        np.int32,
    )
    weights = np.array([0.3, 0.25, 0.15, 0.12, 0.1, 0.08])
    count = int(h * w / (unit * unit) / 300)
    radius = np.clip(rng.lognormal(0.0, 0.6, count) * 4 * unit, 1.5 * unit, 30 * unit)
    colour = rng.choice(len(palette), count, p=weights)
    centres = np.column_stack([rng.uniform(0, w, count), rng.uniform(0, h, count)])
    # Irregular hexagons (random corner angles and reach), all built at once.
    angles = np.sort(rng.uniform(0, 2 * np.pi, (count, 6)), axis=1)
    reach = radius[:, None] * rng.uniform(0.5, 1.0, (count, 6))
    corners = centres[:, None, :] + np.stack([np.cos(angles), np.sin(angles)], 2) * reach[..., None]
    corners = np.round(corners).astype(np.int32)
    rgbs = [c.tolist() for c in palette]
    # One call per chip: fillPoly given many polygons fills their overlaps even-odd (holes in the chips).
    for points, i in zip(corners, colour, strict=True):
        cv2.fillConvexPoly(canvas, points, rgbs[i], cv2.LINE_AA)


# ------------------------------------------------------------------ paper


def _fibres(rng: np.random.Generator, h: int, w: int, unit: float, density: float) -> np.ndarray:
    """Short, slightly curved fibres, dark (−1) and light (+0.6), drawn in two calls on one layer."""
    count = int(h * w / (unit * unit) * density)
    start = np.column_stack([rng.uniform(0, w, count), rng.uniform(0, h, count)])
    angle = rng.uniform(0, np.pi, count)
    bend = rng.normal(0, 0.5, count)
    length = rng.uniform(5, 22, count) * unit
    points = []
    for s in range(4):
        a = angle + bend * s / 3
        points.append(start + np.column_stack([np.cos(a), np.sin(a)]) * (length * s / 3)[:, None])
    paths = list(np.round(np.stack(points, 1)).astype(np.int32))
    layer = np.full((h, w), 128, np.uint8)
    thickness = max(1, round(0.5 * unit))
    cv2.polylines(layer, paths[: count // 2], False, 0, thickness, cv2.LINE_AA)
    cv2.polylines(layer, paths[count // 2 :], False, 205, thickness, cv2.LINE_AA)
    return layer


def _paper(
    h: int, w: int, rng: np.random.Generator, unit: float, dark: bool, strength: float = 1.0
) -> np.ndarray:
    """Paper: cloudy formation and faint fibres, subtle enough to stay a background."""
    shade = _up(1 + 0.009 * strength * _fbm(rng, _low(h, w, 512), 8, 4), h, w)
    _add_repeated(shade, 0.006 * strength * _speckle(rng, 0.7 * unit))
    return _add_layer(shade, _fibres(rng, h, w, unit, 0.006 * min(strength, 1.7)), 0.02 * strength / 128)


def _kraft(h: int, w: int, rng: np.random.Generator, unit: float, dark: bool) -> np.ndarray:
    """Kraft paper or cardboard: browner, more mottled, with visible dark and light fibres."""
    return _paper(h, w, rng, unit, dark, strength=3.0)


PAINTERS: dict[str, Callable[[int, int, np.random.Generator, float, bool], np.ndarray]] = {
    "linen": _linen,
    "canvas": _canvas,
    "cotton": _cotton,
    "denim": _denim,
    "wood": _wood,
    "marble": _marble,
    "concrete": _concrete,
    "stone": _stone,
    "slate": _slate,
    "terrazzo": _terrazzo,
    "paper": _paper,
    "kraft": _kraft,
}
