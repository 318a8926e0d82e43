import io

import numpy as np
import pytest
from PIL import Image

from packshots.imaging import compose, encode
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
    assert np.abs(pixels[5, 5].astype(int) - (94, 102, 110)).max() < 12


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
