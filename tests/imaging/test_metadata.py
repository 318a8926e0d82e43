import io

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from packshots.imaging import ImageError, load_image, probe, strip_metadata

GPS_IFD, EXIF_IFD = 0x8825, 0x8769
MAKE, MODEL, ORIENTATION, DATETIME, SERIAL = 0x010F, 0x0110, 0x0112, 0x0132, 0xA431
XMP = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:Description photoshop:City="Lyon"/></x:xmpmeta>'


def phone_exif(orientation: int = 6) -> Image.Exif:
    """The EXIF a phone writes: where, with what, when, and which way up."""
    exif = Image.Exif()
    exif[MAKE], exif[MODEL], exif[DATETIME] = "Acme", "Phone 9", "2026:05:01 10:00:00"
    exif[ORIENTATION] = orientation
    exif.get_ifd(GPS_IFD).update({1: "N", 2: (45.0, 45.0, 30.0), 3: "E", 4: (4.0, 50.0, 10.0)})
    exif.get_ifd(EXIF_IFD)[SERIAL] = "SN-12345"
    return exif


def photo(size=(160, 120)) -> Image.Image:
    rng = np.random.default_rng(1)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))


def encoded(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def stripped(data: bytes, fmt: str, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    strip_metadata(io.BytesIO(data), out, format=fmt, orientation=orientation)
    return out.getvalue()


def pixels(data: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(data)) as image:
        return np.asarray(image.convert("RGBA"))


def test_jpeg_loses_gps_camera_dates_xmp_and_comments_but_keeps_orientation_and_pixels():
    icc = b"\x00" * 128  # any bytes: the profile must come through untouched
    original = encoded(
        photo(), "JPEG", exif=phone_exif(6), xmp=XMP, comment=b"Lyon, at home", icc_profile=icc
    )
    assert b"Acme" in original and b"Lyon" in original
    clean = stripped(original, "JPEG", orientation=6)
    assert b"Acme" not in clean and b"Phone 9" not in clean and b"SN-12345" not in clean
    assert b"2026:05:01" not in clean and b"Lyon" not in clean and b"xmpmeta" not in clean
    with Image.open(io.BytesIO(clean)) as image:
        exif = image.getexif()
        assert dict(exif) == {ORIENTATION: 6} and not exif.get_ifd(GPS_IFD)
        assert image.info.get("icc_profile") == icc
    assert np.array_equal(pixels(clean), pixels(original))
    assert load_image(clean).size == (120, 160)  # still displayed upright


def test_upright_jpeg_gets_no_exif_at_all():
    clean = stripped(encoded(photo(), "JPEG", exif=phone_exif(1)), "JPEG", orientation=1)
    with Image.open(io.BytesIO(clean)) as image:
        assert "exif" not in image.info


def test_progressive_jpeg_with_restart_markers_decodes_to_the_same_pixels():
    original = encoded(
        photo((400, 300)), "JPEG", progressive=True, exif=phone_exif(1), restart_marker_blocks=1
    )
    clean = stripped(original, "JPEG")
    assert np.array_equal(pixels(clean), pixels(original))
    assert b"Acme" not in clean


def test_pictures_appended_after_the_jpeg_are_dropped():
    original = encoded(photo(), "JPEG") + encoded(photo((20, 20)), "JPEG", exif=phone_exif())
    clean = stripped(original, "JPEG")
    assert clean.endswith(b"\xff\xd9") and b"Acme" not in clean
    assert np.array_equal(pixels(clean), pixels(original))


def test_png_loses_text_exif_and_time_chunks_but_keeps_transparency_and_orientation():
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Alice Martin")
    info.add_text("Location", "45.7640 N, 4.8357 E", zip=True)
    info.add_itxt("XML:com.adobe.xmp", XMP.decode())
    image = photo().convert("RGBA")
    image.putpixel((0, 0), (1, 2, 3, 0))
    original = encoded(image, "PNG", pnginfo=info, exif=phone_exif(3))
    assert b"Alice" in original and b"Acme" in original
    clean = stripped(original, "PNG", orientation=3)
    assert b"Alice" not in clean and b"Acme" not in clean and b"xmpmeta" not in clean and b"zTXt" not in clean
    with Image.open(io.BytesIO(clean)) as reopened:
        assert dict(reopened.getexif()) == {ORIENTATION: 3}
    assert np.array_equal(pixels(clean), pixels(original))


def test_webp_loses_exif_and_xmp_and_keeps_its_pixels():
    original = encoded(photo(), "WEBP", lossless=True, exif=phone_exif(8), xmp=XMP)
    assert b"Acme" in original
    clean = stripped(original, "WEBP", orientation=8)
    assert b"Acme" not in clean and b"xmpmeta" not in clean
    assert int.from_bytes(clean[4:8], "little") == len(clean) - 8
    with Image.open(io.BytesIO(clean)) as image:
        assert dict(image.getexif()) == {ORIENTATION: 8}
    assert np.array_equal(pixels(clean), pixels(original))
    assert probe(clean).orientation == 8


def test_simple_webp_without_metadata_comes_through_unchanged():
    original = encoded(photo(), "WEBP", quality=80)
    assert stripped(original, "WEBP") == original


def test_a_file_cut_inside_its_headers_is_corrupt():
    original = encoded(photo(), "PNG")
    with pytest.raises(ImageError, match="truncated or corrupt"):
        stripped(original[:40], "PNG")
