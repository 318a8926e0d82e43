"""Compose without full-size float copies (issue 12, 4K peak RSS): the same pixels, a fraction of the memory.

Each banded or integer step is checked against the plain whole-array float version it replaced (kept here as
the reference), on a real garment's cutout where it matters; tracemalloc (which sees NumPy's and OpenCV's
arrays) bounds what composing allocates, in canvases of uint8 RGB.
"""

import io
import tracemalloc

import cv2
import numpy as np
import pytest
from PIL import Image

from packshots.engines.local.adapter import decode_cutout
from packshots.imaging import Cutout, compose, encode, load_image, segment, surfaces, thumbnail
from packshots.imaging.compose import SHADOW_FLOOR, _darken, _paste, _unmix
from packshots.imaging.encode import fit_size


def reference_paste(canvas, rgb, alpha, x, y, gw, gh):
    """The float32 paste `_paste` replaced (premultiplied colour and matte resized as float)."""
    a = alpha.astype(np.float32) / 255
    premultiplied = rgb.astype(np.float32) * a[..., None]
    method = cv2.INTER_AREA if gw < rgb.shape[1] else cv2.INTER_LINEAR
    colour = cv2.resize(premultiplied, (gw, gh), interpolation=method)
    matte = np.clip(cv2.resize(a, (gw, gh), interpolation=method), 0, 1)
    h, w = canvas.shape[:2]
    colour, matte = colour[: h - y, : w - x], matte[: h - y, : w - x, None]
    roi = canvas[y : y + colour.shape[0], x : x + colour.shape[1]]
    roi[:] = np.round(np.clip(colour + roi * (1 - matte), 0, 255)).astype(np.uint8)


def reference_darken_box(canvas, box, y0, x0, f):
    """The whole-box upscale and float multiply `_darken` replaced (after its fade and crop)."""
    part = cv2.resize(box, (box.shape[1] * f, box.shape[0] * f), interpolation=cv2.INTER_LINEAR)
    roi = canvas[y0 : y0 + part.shape[0], x0 : x0 + part.shape[1]]
    part = part[: roi.shape[0], : roi.shape[1]]
    part[part < SHADOW_FLOOR] = 0
    roi[:] = np.round(roi * (1 - part[..., None])).astype(np.uint8)


def reference_unmix(black, white):
    through = (white.astype(np.int16) - black).mean(2)
    opacity = np.clip(255 - through, 0, 255)
    colour = black.astype(np.float32) * 255 / np.maximum(opacity, 1)[..., None]
    colour = np.where(opacity[..., None] > 0, np.clip(np.round(colour), 0, 255), 255).astype(np.uint8)
    return np.dstack([colour, np.round(opacity).astype(np.uint8)])


def textured(h: int, w: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def real_cutout(garments) -> Cutout:
    """A real dress, segmented, then enlarged 4× (as a 12 MP photo's cutout would be: ~1400×2000)."""
    cutout = segment(load_image((garments / "dress_14a73972.jpg").read_bytes()), threads=2)
    size = (cutout.rgb.shape[1] * 4, cutout.rgb.shape[0] * 4)
    return Cutout(
        cv2.resize(cutout.rgb, size, interpolation=cv2.INTER_CUBIC),
        cv2.resize(cutout.alpha, size, interpolation=cv2.INTER_CUBIC),
        cutout.confidence,
        cutout.needs_review,
        "test",
    )


@pytest.mark.slow
@pytest.mark.parametrize("scale", [0.45, 1.0, 2.3])  # shrinking (area), same size, enlarging (linear)
def test_integer_paste_of_a_real_garment_matches_the_float_one_within_a_level(real_cutout, scale):
    rgb, alpha = real_cutout.rgb, real_cutout.alpha
    gw, gh = round(rgb.shape[1] * scale), round(rgb.shape[0] * scale)
    canvas = textured(gh + 40, gw + 10)
    new, old = canvas.copy(), canvas.copy()
    _paste(new, rgb, alpha, 25, 30, gw, gh)  # runs off the bottom: the crop is banded too
    reference_paste(old, rgb, alpha, 25, 30, gw, gh)
    diff = np.abs(new.astype(int) - old)
    # Only values within 1/255 of a level of x.5 round the other way: well under 1 % of them.
    assert diff.max() <= 1 and (diff > 0).mean() < 0.01


@pytest.mark.parametrize("f", [1, 3, 4, 8])
def test_banded_shadow_upscale_matches_the_whole_box_one(f):
    rng = np.random.default_rng(f)
    low = cv2.GaussianBlur(rng.random((150, 90)).astype(np.float32), (0, 0), 4) * 0.8
    low[:3], low[-3:], low[:, :3], low[:, -3:] = 0, 0, 0, 0  # the fade at the canvas edges
    canvas = textured(150 * f - 2, 90 * f - 1, seed=f)  # the canvas is a little short of f × low
    new, old = canvas.copy(), canvas.copy()
    _darken(new, low, f)
    # The reference gets the same box _darken cuts: low after its edge fade, cropped to where it is visible.
    ramp = max(2, round(0.03 * max(low.shape)))
    ys, xs = np.ogrid[: low.shape[0], : low.shape[1]]
    fade = np.minimum(np.minimum(ys, low.shape[0] - 1 - ys), np.minimum(xs, low.shape[1] - 1 - xs)) / ramp
    faded = np.where(low < SHADOW_FLOOR, 0, low * np.clip(fade, 0, 1)).astype(np.float32)
    ys, xs = np.flatnonzero(faded.any(1)), np.flatnonzero(faded.any(0))
    box = faded[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1]
    reference_darken_box(old, box, ys[0] * f, xs[0] * f, f)
    diff = np.abs(new.astype(int) - old)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4
    if f & (f - 1) == 0:  # a power of two: every coordinate is exact, so is every pixel
        assert (new == old).all()


def test_banded_unmix_is_the_whole_canvas_one():
    black = textured(700, 300, seed=1)
    white = np.maximum(black, textured(700, 300, seed=2))
    black[:50] = 0
    white[:50] = 255  # see-through rows
    assert (np.asarray(_unmix(black, white)) == reference_unmix(black, white)).all()


@pytest.mark.parametrize("kind", sorted(surfaces.PAINTERS))
def test_banded_surface_helpers_give_the_whole_array_result(kind):
    rng = np.random.default_rng(3)
    shade = rng.random((700, 530)).astype(np.float32)
    tile = rng.standard_normal((256, 256)).astype(np.float32)
    expected = shade + cv2.repeat(tile, 3, 3)[:700, :530]
    assert (surfaces._add_repeated(shade.copy(), tile) == expected).all()
    layer = rng.integers(0, 256, (700, 530), dtype=np.uint8)
    k = 0.3 / 128
    whole = cv2.addWeighted(shade, 1.0, layer, k, -128 * k, dtype=cv2.CV_32F)
    assert (surfaces._add_layer(shade.copy(), layer, k) == whole).all()
    field = (rng.random((700, 530)) * 5000).astype(np.float32)
    table = rng.random(256).astype(np.float32)
    assert (surfaces._lines(field, table) == cv2.LUT(field.astype(np.int32).astype(np.uint8), table)).all()
    # and the painter itself is still a pure function of its seed
    canvas = np.full((300, 410, 3), 180, np.uint8)
    again = canvas.copy()
    surfaces.paint(canvas, kind, seed=4)
    surfaces.paint(again, kind, seed=4)
    assert (canvas == again).all()


@pytest.fixture(scope="module")
def big_cutout() -> Cutout:
    """A cutout as large as a 12 MP photo's garment crop (shrunk onto the canvas, as such cutouts are)."""
    alpha = np.zeros((2400, 1600), np.uint8)
    cv2.ellipse(alpha, (800, 1200), (780, 1180), 0, 0, 360, 255, -1)
    rgb = np.zeros((2400, 1600, 3), np.uint8)
    rgb[:] = (180, 40, 60)
    rgb[::7] = (20, 30, 200)
    return Cutout(
        rgb=rgb, alpha=cv2.GaussianBlur(alpha, (0, 0), 2), confidence=1.0, needs_review=False, method="t"
    )


@pytest.mark.parametrize(
    ("kwargs", "canvases"),
    [
        ({"style": "white_cutout", "shadow": "contact"}, 4),
        ({"style": "flat_lay", "surface": "linen", "shadow": "natural"}, 4),
        ({"style": "flat_lay", "surface": "concrete", "shadow": "soft_drop"}, 4),
        ({"style": "marketing_ready", "background": "sage green", "shadow": "soft_drop"}, 4),
        ({"style": "white_cutout", "shadow": "contact", "transparent": True}, 8),
    ],
)
def test_composing_allocates_a_few_canvases_not_float_copies_of_them(big_cutout, kwargs, canvases):
    """Before: 7.5 canvases for every opaque style (float RGB of the garment's box), 32 transparent."""
    tracemalloc.start()
    try:
        image = compose(big_cutout, width=2048, height=2048, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert image.size == (2048, 2048)
    assert peak <= canvases * 2048 * 2048 * 3


def test_fit_size_is_pillows_thumbnail_size():
    for size in [
        (4096, 4096),
        (1536, 2048),
        (2048, 1536),
        (481, 7),
        (7, 481),
        (480, 480),
        (100, 50),
        (999, 1000),
    ]:
        probe = Image.new("L", size)
        probe.thumbnail((480, 480))
        assert fit_size(size, 480) == probe.size


def test_thumbnail_and_jpeg_are_the_bytes_of_the_copying_versions(garments):
    image = load_image((garments / "dress_14a73972.jpg").read_bytes()).resize((1100, 1500))
    small = image.copy()
    small.thumbnail((480, 480), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85, optimize=True)
    assert thumbnail(image) == buffer.getvalue()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=92, optimize=True, subsampling=0)
    assert encode(image, "jpg") == buffer.getvalue()


@pytest.mark.parametrize("mode", ["RGBA", "LA", "P"])
def test_stored_cutout_decodes_to_the_pixels_pillow_reads(mode):
    rgba = textured(60, 40, seed=5)
    image = Image.fromarray(np.dstack([rgba, rgba[..., 0]]), "RGBA")
    image = image if mode == "RGBA" else image.convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    decode_cutout.cache_clear()
    decoded, warnings = decode_cutout(buffer.getvalue())
    assert (decoded == np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGBA"))).all()
    assert not decoded.flags.writeable and warnings == ()
