"""The local engine adapter: instructions in, exact images out (pure: no Django, no database)."""

import io

import numpy as np
import pytest
from PIL import Image

from packshots.engines.base import PreparedInput
from packshots.engines.local.adapter import LocalEngine, decode_cutout, pick_input


def cutout_png() -> bytes:
    rgba = np.zeros((120, 90, 4), np.uint8)
    rgba[..., :3] = (30, 60, 160)
    rgba[10:110, 10:80, 3] = 255
    buffer = io.BytesIO()
    Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def prepared() -> list[PreparedInput]:
    return [
        PreparedInput(cutout_png, 0.9, False, "front"),
        PreparedInput(cutout_png, 0.4, True, "back view"),
    ]


@pytest.mark.parametrize(
    ("instruction", "size", "fmt"),
    [
        ({"style": "white_cutout", "options": {"size": "2K", "ar": "3:4"}}, (1536, 2048), "JPEG"),
        ({"style": "flat_lay", "surface": "oak", "options": {"format": "png"}}, (1024, 1024), "PNG"),
        ({"style": "ghost_mannequin", "framing": "wide_4_3"}, (1024, 768), "JPEG"),
        (
            {"style": "marketing_ready", "background": {"text": "navy"}, "options": {"ar": "16:9"}},
            (1024, 576),
            "JPEG",
        ),
        ({"style": "free", "options": {"width": 800, "height": 1200, "format": "png"}}, (800, 1200), "PNG"),
    ],
)
def test_render_honours_size_aspect_and_format(prepared, instruction, size, fmt):
    output = LocalEngine().render(prepared, instruction, variation=0, seed=1)
    image = Image.open(io.BytesIO(output.data))
    assert (image.size, image.format) == (size, fmt)
    assert (output.width, output.height, output.model_used) == (*size, "local")
    assert Image.open(io.BytesIO(output.thumbnail)).format == "JPEG"


def test_the_photo_noted_as_back_view_serves_a_back_angle(prepared):
    assert pick_input(prepared, "back").note == "back view"
    assert pick_input(prepared, "front").note == "front"
    assert pick_input(prepared, None) is prepared[0]
    output = LocalEngine().render(prepared, {"style": "white_cutout", "angle": "back"}, variation=0, seed=1)
    assert output.needs_review and output.confidence == 0.4


def test_same_seed_repeats_and_variations_differ(prepared):
    engine = LocalEngine()
    instruction = {"style": "marketing_ready", "background": "sand", "seed": 5}
    first = engine.render(prepared, instruction, variation=0, seed=5).data
    assert engine.render(prepared, instruction, variation=0, seed=5).data == first
    assert engine.render(prepared, instruction, variation=1, seed=5).data != first


def test_white_cutout_corners_are_pure_white(prepared):
    output = LocalEngine().render(prepared, {"style": "white_cutout"}, variation=0, seed=0)
    image = Image.open(io.BytesIO(output.data)).convert("RGB")
    w, h = image.size
    for xy in ((0, 0), (w - 1, 0), (0, h - 1), (w - 1, h - 1)):
        assert image.getpixel(xy) == (255, 255, 255)


def photo_png(garment_box: tuple[int, int, int, int], size: tuple[int, int] = (480, 640)) -> bytes:
    """A blue rectangle 'garment' on a beige floor, as an uploaded photo."""
    rgb = np.zeros((size[1], size[0], 3), np.uint8)
    rgb[:] = (205, 190, 170)
    x0, y0, x1, y1 = garment_box
    rgb[y0:y1, x0:x1] = (40, 70, 160)
    buffer = io.BytesIO()
    Image.fromarray(rgb).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_garment_cut_by_the_photo_edge_is_flagged_with_a_reason_on_every_output():
    engine = LocalEngine()
    prepared = engine.prepare(photo_png((0, 150, 300, 500)))
    output = engine.render([prepared], {"style": "white_cutout"}, variation=0, seed=1)
    assert prepared.needs_review and output.needs_review
    assert any("photo's edge" in warning for warning in output.warnings)


def test_a_small_source_enlarged_over_three_times_gets_a_warning_and_a_large_one_does_not(prepared):
    small = LocalEngine().render(
        prepared, {"style": "white_cutout", "options": {"size": "2K"}}, variation=0, seed=1
    )
    assert small.needs_review
    assert any(w.startswith("source too small for") and "upscaled" in w for w in small.warnings)
    tiny = LocalEngine().render(
        prepared, {"style": "white_cutout", "options": {"width": 120, "height": 120}}, variation=0, seed=1
    )
    assert not any("too small" in w for w in tiny.warnings)
    assert not tiny.needs_review  # the first photo was not flagged and nothing else is wrong


def test_a_cleanly_segmented_photo_renders_without_warnings():
    engine = LocalEngine()
    prepared = engine.prepare(photo_png((120, 120, 360, 520)))
    output = engine.render(
        [prepared], {"style": "white_cutout", "options": {"size": "1K"}}, variation=0, seed=1
    )
    assert output.warnings == () and not output.needs_review


def test_a_transparent_background_in_png_gives_rgba_and_in_jpeg_a_warning(prepared):
    instruction = {
        "style": "white_cutout",
        "background": {"text": "transparent"},
        "options": {"format": "png"},
    }
    png = LocalEngine().render(prepared, instruction, variation=0, seed=1)
    image = Image.open(io.BytesIO(png.data))
    assert image.mode == "RGBA" and image.getpixel((0, 0))[3] == 0
    jpeg = LocalEngine().render(prepared, {**instruction, "options": {"format": "jpg"}}, variation=0, seed=1)
    assert any("needs PNG" in w for w in jpeg.warnings)


def test_outputs_of_one_photo_decode_its_cutout_once_and_never_reuse_another_photos():
    decode_cutout.cache_clear()
    engine = LocalEngine()
    blue = [PreparedInput(cutout_png, 0.9, False)]
    instruction = {"style": "white_cutout", "options": {"width": 300, "height": 400}}
    first = engine.render(blue, instruction, variation=0, seed=1)
    second = engine.render(blue, instruction, variation=0, seed=1)
    assert decode_cutout.cache_info().misses == 1 and first.data == second.data

    def red_png() -> bytes:
        rgba = np.zeros((120, 90, 4), np.uint8)
        rgba[..., 0] = 200
        rgba[10:110, 10:80, 3] = 255
        buffer = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
        return buffer.getvalue()

    red = engine.render([PreparedInput(red_png, 0.9, False)], instruction, variation=0, seed=1)
    centre = Image.open(io.BytesIO(red.data)).convert("RGB").getpixel((150, 200))
    assert centre[0] > 150 and centre[2] < 80  # the red photo's garment, not the cached blue one
