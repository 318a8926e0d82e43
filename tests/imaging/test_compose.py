import io

import cv2
import numpy as np
import pytest
from PIL import Image

from packshots import compliance
from packshots.imaging import Cutout, compose, encode, load_image, segment, surfaces
from packshots.imaging.compose import SHADOWS, STYLES

CORNERS = ((0, 0), (0, -1), (-1, 0), (-1, -1))


@pytest.mark.parametrize(
    ("style", "width", "height"),
    [
        ("white_cutout", 1536, 2048),
        ("flat_lay", 1000, 1000),
        ("ghost_mannequin", 1200, 900),
        ("free", 333, 517),
    ],
)
def test_output_has_exactly_the_requested_size(cutout, style, width, height):
    assert compose(cutout, style=style, width=width, height=height).size == (width, height)


@pytest.mark.parametrize("shadow", SHADOWS)
@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_white_cutout_corners_stay_pure_white_after_encoding(cutout, shadow, fmt):
    image = compose(cutout, style="white_cutout", width=1536, height=2048, shadow=shadow)
    decoded = np.asarray(Image.open(io.BytesIO(encode(image, fmt))).convert("RGB"))
    for y, x in CORNERS:
        assert tuple(decoded[y, x]) == (255, 255, 255)
    assert (decoded[:40] == 255).all() and (decoded[:, :40] == 255).all()


def test_full_frame_white_cutout_background_is_pure_white_away_from_the_garment(cutout):
    pixels = np.asarray(compose(cutout, style="white_cutout", width=800, height=800, framing="full_frame"))
    assert (pixels[:8] == 255).all() and (pixels[:, :8] == 255).all()


def test_white_cutout_without_shadow_only_touches_pixels_under_the_garment(cutout):
    pixels = np.asarray(compose(cutout, style="white_cutout", width=600, height=600, shadow="none"))
    assert (pixels == 255).all(axis=2).mean() > 0.5
    assert (pixels[550:] == 255).all()


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("shadow", SHADOWS)
def test_every_style_renders_with_every_shadow(cutout, style, shadow):
    image = compose(
        cutout,
        style=style,
        width=400,
        height=500,
        shadow=shadow,
        background="sage",
        surface="oak",
        lighting="dramatic warm",
    )
    assert image.mode == "RGB" and image.size == (400, 500)


def test_garment_is_centred_and_fills_the_framing(cutout):
    pixels = np.asarray(compose(cutout, style="flat_lay", width=1000, height=1000, shadow="none"))
    garment = np.abs(pixels.astype(int) - (180, 40, 60)).sum(2) < 30
    ys, xs = np.flatnonzero(garment.any(1)), np.flatnonzero(garment.any(0))
    assert abs((xs[0] + xs[-1]) / 2 - 500) < 5 and abs((ys[0] + ys[-1]) / 2 - 500) < 5
    assert 0.78 < (ys[-1] - ys[0]) / 1000 < 0.86


def test_flat_lay_surface_text_sets_the_colour(cutout):
    pixels = np.asarray(compose(cutout, style="flat_lay", width=300, height=300, surface="slate"))
    assert np.abs(np.median(pixels[:30].reshape(-1, 3), axis=0) - (94, 102, 110)).max() < 10


def test_two_background_colours_make_a_gradient(cutout):
    pixels = np.asarray(
        compose(cutout, style="marketing_ready", width=300, height=300, background="white to navy")
    )
    assert pixels[2, 150].sum() > pixels[-3, 150].sum() + 300


def test_variations_differ_visibly(cutout):
    a, b = (
        np.asarray(compose(cutout, style="ghost_mannequin", width=600, height=800, variation=v))
        for v in (1, 2)
    )
    assert np.abs(a.astype(int) - b).mean() > 1


def test_same_seed_and_variation_repeat_byte_for_byte(cutout):
    def render():
        return encode(
            compose(cutout, style="flat_lay", width=500, height=500, surface="marble", seed=7, variation=3),
            "png",
        )

    assert render() == render()


def test_unknown_style_is_refused(cutout):
    with pytest.raises(ValueError, match="unknown style"):
        compose(cutout, style="cubist", width=100, height=100)


def test_4k_output_works(cutout):
    assert compose(cutout, style="flat_lay", width=4096, height=4096, surface="concrete").size == (4096, 4096)


def test_transparent_output_is_rgba_with_a_clean_alpha_and_no_white_halo(cutout):
    image = compose(cutout, style="white_cutout", width=600, height=600, shadow="none", transparent=True)
    rgba = np.asarray(image)
    assert image.mode == "RGBA"
    assert rgba[0, 0, 3] == 0 and rgba[300, 300, 3] == 255
    edge = (rgba[..., 3] > 20) & (rgba[..., 3] < 235)
    assert edge.any()
    # Edge pixels keep the garment's own colour (180, 40, 60): no white mixed in.
    assert np.abs(rgba[edge][:, :3].astype(int) - (180, 40, 60)).max() <= 6


def test_transparent_output_keeps_the_shadow_as_black_of_its_own_opacity(cutout):
    def render(shadow: str) -> np.ndarray:
        return np.asarray(
            compose(cutout, style="white_cutout", width=600, height=600, shadow=shadow, transparent=True)
        )

    garment = render("none")[..., 3] > 0
    rgba = render("contact")
    shadow = rgba[~garment & (rgba[..., 3] > 5)]
    assert len(shadow) > 100 and (shadow[:, :3] == 0).all()


# ---------------------------------------------------------------- surfaces


def painted(
    kind: str, size: int = 1024, colour=(200, 190, 180), seed: int = 1, variation: int = 0
) -> np.ndarray:
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = colour
    surfaces.paint(canvas, kind, seed=seed, variation=variation)
    return canvas


def luma(pixels: np.ndarray) -> np.ndarray:
    return pixels.astype(np.float32) @ np.float32([0.299, 0.587, 0.114])


def spectrum(lum: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Power along rows (averaged over rows) by frequency in cycles per pixel."""
    rows = lum - lum.mean(axis=1, keepdims=True)
    power = (np.abs(np.fft.rfft(rows, axis=1)) ** 2).mean(axis=0)
    return np.fft.rfftfreq(lum.shape[1]), power


@pytest.mark.parametrize("size", [1024, 2048])
def test_linen_has_weave_energy_at_its_thread_pitch(size):
    freq, power = spectrum(luma(painted("linen", size)))
    pitch = surfaces.weave_pitch("linen", size, size)
    near = np.abs(freq - 1 / pitch) < 0.02
    band = (freq > 0.05) & ~near
    assert power[near].max() > 20 * np.median(power[band])


def test_paper_has_no_weave_and_stays_subtle():
    lum = luma(painted("paper", 1024, (246, 243, 236)))
    freq, power = spectrum(lum)
    pitch = surfaces.weave_pitch("linen", 1024, 1024)
    near = np.abs(freq - 1 / pitch) < 0.02
    assert power[near].max() < 5 * np.median(power[freq > 0.05])
    assert lum.std() < 3.5 and np.percentile(lum, 0.5) > np.median(lum) - 15


def test_marble_has_thin_high_contrast_veins():
    lum = luma(painted("marble", 1024, (237, 235, 231)))
    cores = lum < np.median(lum) - 50  # the veins' dark cores, not their soft halos
    assert 0.002 < cores.mean() < 0.08
    assert lum.min() < np.median(lum) - 90
    # Thin: a 7×7 erosion (lines under 7 px wide vanish) leaves almost nothing of them.
    eroded = cv2.erode(cores.astype(np.uint8), np.ones((7, 7), np.uint8))
    assert eroded.sum() < 0.2 * cores.sum()


def test_black_marble_gets_light_veins():
    lum = luma(painted("marble", 1024, (50, 50, 50)))
    assert (lum > np.median(lum) + 30).mean() > 0.001


def test_wood_is_boards_with_dark_seams_and_grain_along_them():
    lum = luma(painted("wood", 1024, (200, 162, 122)))
    columns = lum.mean(axis=0)
    # Seams: narrow runs of dark columns, 4 to 8 boards across the canvas.
    dark = columns < np.median(columns) - 12
    starts = np.flatnonzero(dark[1:] & ~dark[:-1])
    assert 3 <= len(starts) <= 9
    # Grain runs along the boards: rows vary more across (x) than down (y).
    across = np.abs(np.diff(lum, axis=1)).mean()
    down = np.abs(np.diff(lum, axis=0)).mean()
    assert across > 1.5 * down


def test_concrete_is_mottled_with_small_pores():
    lum = luma(painted("concrete", 1024, (185, 182, 176)))
    smooth = cv2.GaussianBlur(lum, (0, 0), 40)
    assert smooth.std() > 2  # mottled, not flat
    pores = (lum < cv2.GaussianBlur(lum, (0, 0), 6) - 18).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(pores)
    areas = stats[1:, cv2.CC_STAT_AREA]
    assert count > 150 and np.median(areas) < 40


def test_terrazzo_has_chips_of_several_colours():
    pixels = painted("terrazzo", 512, (226, 222, 214)).reshape(-1, 3).astype(int)
    far = np.abs(pixels - (226, 222, 214)).sum(1) > 60
    hues = {tuple(c) for c in (pixels[far] // 40)}
    assert 0.05 < far.mean() < 0.6 and len(hues) >= 4


@pytest.mark.parametrize("kind", sorted(surfaces.PAINTERS))
def test_a_seed_reproduces_a_surface_and_variations_differ(kind):
    a, b = painted(kind, 256, seed=4), painted(kind, 256, seed=4)
    c = painted(kind, 256, seed=4, variation=1)
    assert (a == b).all() and np.abs(a.astype(int) - c).mean() > 0.3


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("Light oak table", "oak"),
        ("white marble slab", "marble"),
        ("raw linen", "linen"),
        ("sage velvet", None),
    ],
)
def test_surface_words_are_found_in_free_text(text, word):
    assert surfaces.surface_word(text) == word


def test_unknown_surface_word_falls_back_to_its_colour_plainly(cutout):
    pixels = np.asarray(compose(cutout, style="flat_lay", width=600, height=600, surface="sage velvet"))
    border = pixels[:60, :60].reshape(-1, 3)
    assert np.abs(np.median(border, axis=0) - (178, 191, 166)).max() < 6
    assert luma(pixels[:60, :60]).std() < 3


def test_named_colours_tint_a_material_surface(cutout):
    def border(surface: str) -> float:
        pixels = np.asarray(compose(cutout, style="flat_lay", width=300, height=300, surface=surface))
        return float(np.median(luma(pixels[:40])))

    assert border("black marble") < 90 < 200 < border("white marble")
    assert border("walnut") < border("oak") < border("white oak")


def test_flat_lay_without_surface_text_is_woven_linen(cutout):
    pixels = np.asarray(compose(cutout, style="flat_lay", width=1024, height=1024, shadow="none"))
    freq, power = spectrum(luma(pixels[:, :150]))
    near = np.abs(freq - 1 / surfaces.weave_pitch("linen", 1024, 1024)) < 0.02
    assert power[near].max() > 10 * np.median(power[freq > 0.05])


# ---------------------------------------------------------------- shadows


@pytest.fixture(scope="module")
def trousers() -> Cutout:
    """Two legs joined at the waist: a contact shadow must follow each cuff, not fill the gap between."""
    alpha = np.zeros((400, 260), np.uint8)
    cv2.fillPoly(
        alpha, [np.int32([(10, 0), (250, 0), (250, 399), (160, 399), (130, 120), (100, 399), (10, 399)])], 255
    )
    rgb = np.zeros((400, 260, 3), np.uint8)
    rgb[:] = (40, 50, 90)
    return Cutout(rgb=rgb, alpha=alpha, confidence=1.0, needs_review=False, method="test")


def shadow_of(cutout: Cutout, shadow: str, style: str = "white_cutout") -> tuple[np.ndarray, np.ndarray]:
    """Darkness (levels below the shadowless render) outside the garment, and the garment mask."""
    kwargs = {"style": style, "width": 600, "height": 600, "surface": "paper"}
    bare = luma(np.asarray(compose(cutout, shadow="none", **kwargs)))
    shaded = luma(np.asarray(compose(cutout, shadow=shadow, **kwargs)))
    garment = np.asarray(compose(cutout, shadow="none", transparent=True, **kwargs))[..., 3] > 0
    return np.where(garment, 0, bare - shaded), garment


def box(mask: np.ndarray) -> tuple[int, int, int, int]:
    ys, xs = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    return xs[0], ys[0], xs[-1], ys[-1]


def test_contact_shadow_hugs_the_hem_and_leaves_the_gap_between_the_legs_light(trousers):
    dark, garment = shadow_of(trousers, "contact")
    x0, y0, x1, y1 = box(garment)
    assert dark.max() > 40
    # Nearly all of it lies at the bottom (the cuffs), little beside the legs higher up.
    low = dark[y1 - (y1 - y0) // 5 :].sum()
    assert low > 0.85 * dark.sum()
    # Under each cuff it is dark; under the gap between the legs (the crotch is far above) it is not:
    # an ellipse under the garment would darken the gap too.
    below = dark[y1 + 2 : y1 + 8]
    width = x1 - x0
    left_cuff, gap = below[:, x0 + width // 6], below[:, x0 + width // 2]
    assert left_cuff.max() > 25 and gap.max() < 0.3 * left_cuff.max()


def test_soft_drop_shadow_falls_down_and_to_the_right_of_the_outline(trousers):
    dark, garment = shadow_of(trousers, "soft_drop")
    x0, y0, x1, y1 = box(garment)
    mid = slice(y0 + (y1 - y0) // 4, y1 - (y1 - y0) // 4)
    right, left = dark[mid, x1 + 1 : x1 + 30].sum(), dark[mid, max(x0 - 30, 0) : x0].sum()
    assert right > 3 * max(left, 1)
    assert dark[y1 + 1 : y1 + 40].sum() > 0


def test_natural_shadow_rings_the_whole_outline_a_little_more_below(trousers):
    dark, garment = shadow_of(trousers, "natural")
    x0, y0, x1, y1 = box(garment)
    mid = slice(y0 + (y1 - y0) // 4, y1 - (y1 - y0) // 4)
    right, left = dark[mid, x1 + 1 : x1 + 20].sum(), dark[mid, max(x0 - 20, 0) : x0].sum()
    assert left > 0 and 0.5 < right / left < 2
    assert (
        dark[max(y0 - 20, 0) : y0].sum() > 0
        and dark[y1 + 1 : y1 + 20].sum() > dark[max(y0 - 20, 0) : y0].sum()
    )


@pytest.mark.parametrize("style", ["white_cutout", "flat_lay"])
def test_every_shadow_value_looks_different_and_stays_near_the_garment(trousers, style):
    shadows = {shadow: shadow_of(trousers, shadow, style) for shadow in SHADOWS}
    garment = shadows["none"][1]
    near = cv2.dilate(garment.astype(np.uint8), np.ones((91, 91), np.uint8)) > 0  # 15 % of the canvas
    assert shadows["none"][0].max() <= 1
    for name, (dark, _) in shadows.items():
        assert dark[~near].max() <= 1, name
    names = [s for s in SHADOWS if s != "none"]
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert np.abs(shadows[a][0] - shadows[b][0]).mean() > 0.2, (a, b)


# ---------------------------------------------------------------- framing


def fill_of(image) -> float:
    return compliance.fill_ratio(compliance.product_box(np.asarray(image)))


@pytest.mark.parametrize(("width", "height"), [(1024, 1024), (768, 1024), (1024, 768)])
def test_white_cutout_fills_85_percent_by_default_and_its_variations_stay_within_3(cutout, width, height):
    for variation in range(5):
        image = compose(cutout, style="white_cutout", width=width, height=height, seed=9, variation=variation)
        assert 0.82 <= fill_of(image) <= 0.88, variation
    first = compose(cutout, style="white_cutout", width=width, height=height, shadow="none")
    assert 0.84 <= fill_of(first) <= 0.86


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pants_0ccc318a.jpg", "t-shirt_15c6d0c1.jpg"])
def test_white_cutout_of_a_real_photo_fills_85_percent(garments, name):
    cutout = segment(load_image((garments / name).read_bytes()), threads=2)
    for shadow in ("none", "contact"):
        image = compose(cutout, style="white_cutout", width=1536, height=2048, shadow=shadow)
        assert 0.82 <= fill_of(image) <= 0.88
        assert (np.asarray(image)[:20] == 255).all()
