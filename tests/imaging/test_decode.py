import io

import numpy as np
import pytest
from PIL import Image

from packshots.imaging import ImageError, load_image, probe


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def test_probe_reports_size_format_and_content_type():
    info = probe(encoded(Image.new("RGB", (300, 200), "red"), "PNG"))
    assert (info.width, info.height, info.format, info.content_type) == (300, 200, "PNG", "image/png")


def test_probe_reads_a_file_object_from_its_header_only():
    data = encoded(Image.effect_noise((400, 300), 60).convert("RGB"), "JPEG")
    # Half a file still has its header: probing does not decode, loading does (and refuses it).
    half = io.BytesIO(data[: len(data) // 2])
    assert (probe(half).width, probe(half).height) == (400, 300)
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(half)


def test_non_image_bytes_are_rejected_in_plain_words():
    with pytest.raises(ImageError, match=r"not an image .*use JPEG, PNG or WebP"):
        probe(b"%PDF-1.7 definitely not a photo")


@pytest.mark.parametrize("max_side", [None, 120])
def test_truncated_jpeg_is_reported_as_truncated(max_side):
    data = encoded(Image.effect_noise((800, 800), 60).convert("RGB"), "JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2], max_side=max_side)


def test_truncated_png_is_reported_as_truncated_when_previewed():
    data = encoded(Image.effect_noise((400, 400), 60).convert("RGB"), "PNG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        load_image(data[: len(data) // 2], max_side=100)


def test_image_over_the_pixel_cap_names_its_size_and_the_limit():
    data = encoded(Image.new("RGB", (300, 200)), "PNG")
    with pytest.raises(ImageError, match=r"This image is 300×200 \(0\.1 MP\); the limit is 0\.05 MP"):
        probe(data, max_pixels=50_000)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((1, 40_000), r"1×40000 px; a photo needs at least 64 px on each side"),
        ((40_000, 1), r"40000×1 px; a photo needs at least 64 px on each side"),
        ((12_001, 3_000), r"12001×3000 px; a photo may be at most 12,000 px on a side"),
        ((6_400, 625), r"6400×625 px; its sides may differ at most 8:1"),
        ((625, 6_400), r"625×6400 px; its sides may differ at most 8:1"),
    ],
)
def test_shapes_no_packshot_can_come_from_are_refused_from_the_header(size, message):
    # 1-bit images keep these files tiny; the check runs before any pixel is decoded.
    data = encoded(Image.new("1", size), "PNG")
    with pytest.raises(ImageError, match=message):
        probe(data)


@pytest.mark.parametrize("size", [(64, 64), (512, 64), (12_000, 1_500)])
def test_the_extreme_shapes_still_allowed_pass(size):
    info = probe(encoded(Image.new("1", size), "PNG"))
    assert (info.width, info.height) == size


def test_gif_is_unsupported_with_the_format_named():
    with pytest.raises(ImageError, match="Unsupported image format GIF: use JPEG, PNG or WebP"):
        load_image(encoded(Image.new("P", (100, 100)), "GIF"))


def test_exif_rotation_swaps_width_and_height():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encoded(Image.new("RGB", (400, 200)), "JPEG", exif=exif)
    info = probe(data)
    assert (info.width, info.height, info.orientation) == (200, 400, 6)
    assert load_image(data).size == (200, 400)
    assert load_image(data, max_side=100).size == (50, 100)


def test_orientation_in_a_png_is_read_without_decoding_it():
    exif = Image.Exif()
    exif[0x0112] = 8
    info = probe(encoded(Image.new("RGB", (400, 200)), "PNG", exif=exif))
    assert (info.width, info.height, info.orientation) == (200, 400, 8)


def test_transparent_png_loads_as_rgb_on_white():
    image = load_image(encoded(Image.new("RGBA", (80, 80), (10, 20, 30, 0)), "PNG"))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)


def test_a_preview_is_upright_and_no_larger_than_asked():
    data = encoded(Image.new("RGB", (4000, 3000), (200, 40, 60)), "JPEG")
    preview = load_image(data, max_side=480)
    assert preview.size == (480, 360) and preview.getpixel((240, 180)) == pytest.approx((200, 40, 60), abs=3)


def test_webp_is_accepted():
    assert probe(encoded(Image.new("RGB", (120, 100), "blue"), "WEBP")).content_type == "image/webp"


def test_a_preview_made_in_strips_matches_one_made_from_the_whole_image():
    # A transparent gradient big enough to be reduced in two strips: rows and seams must not show.
    width, height = 2000, 1400
    gradient = Image.linear_gradient("L").resize((width, height))
    image = Image.merge(
        "RGBA",
        (
            gradient,
            gradient.transpose(Image.Transpose.ROTATE_90).resize((width, height)),
            Image.new("L", (width, height), 90),
            gradient,
        ),
    )
    data = encoded(image, "PNG")
    preview = load_image(data, max_side=100)
    reference = load_image(data)
    reference.thumbnail((100, 100), Image.Resampling.LANCZOS)
    assert preview.size == reference.size == (100, 70)
    difference = np.abs(np.asarray(preview, np.int16) - np.asarray(reference, np.int16))
    assert difference.max() <= 8 and difference.mean() < 1


def test_a_16_bit_grey_png_keeps_its_tones_instead_of_turning_white():
    ramp = np.linspace(0, 65535, 200 * 160).reshape(200, 160).astype(np.uint16)
    buffer = io.BytesIO()
    Image.fromarray(ramp).save(buffer, "PNG")
    assert Image.open(io.BytesIO(buffer.getvalue())).mode.startswith("I")
    pixels = np.asarray(load_image(buffer.getvalue()))
    expected = np.round(ramp / 257)
    assert np.abs(pixels[..., 0].astype(int) - expected).max() <= 1
    assert (pixels == 255).mean() < 0.01  # it was 99.6 % white
