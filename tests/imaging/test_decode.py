import io

import pytest
from PIL import Image

from packshots.imaging import ImageError, load_image, probe


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def test_probe_reports_size_format_and_content_type():
    info = probe(encoded(Image.new("RGB", (30, 20), "red"), "PNG"))
    assert (info.width, info.height, info.format, info.content_type) == (30, 20, "PNG", "image/png")


def test_non_image_bytes_are_rejected_in_plain_words():
    with pytest.raises(ImageError, match=r"not an image .*use JPEG, PNG or WebP"):
        probe(b"%PDF-1.7 definitely not a photo")


def test_truncated_jpeg_is_reported_as_truncated():
    data = encoded(Image.effect_noise((200, 200), 60).convert("RGB"), "JPEG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        probe(data[: len(data) // 2])


def test_image_over_the_pixel_cap_names_its_size_and_the_limit():
    data = encoded(Image.new("RGB", (300, 200)), "PNG")
    with pytest.raises(ImageError, match=r"This image is 300×200 \(0\.1 MP\); the limit is 0\.05 MP"):
        probe(data, max_pixels=50_000)


def test_gif_is_unsupported_with_the_format_named():
    with pytest.raises(ImageError, match="Unsupported image format GIF: use JPEG, PNG or WebP"):
        load_image(encoded(Image.new("P", (10, 10)), "GIF"))


def test_exif_rotation_swaps_width_and_height():
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    data = encoded(Image.new("RGB", (40, 20)), "JPEG", exif=exif)
    assert (probe(data).width, probe(data).height) == (20, 40)
    assert load_image(data).size == (20, 40)


def test_transparent_png_loads_as_rgb_on_white():
    image = load_image(encoded(Image.new("RGBA", (8, 8), (10, 20, 30, 0)), "PNG"))
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (255, 255, 255)


def test_webp_is_accepted():
    assert probe(encoded(Image.new("RGB", (12, 10), "blue"), "WEBP")).content_type == "image/webp"
