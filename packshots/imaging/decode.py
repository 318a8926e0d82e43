"""Reading uploaded photos into pixels, with errors worded for the person who uploaded them.

Everything takes bytes or a binary file object (an upload's temporary file), so an upload is never read whole
into memory here; the size checks run on the header, before a single pixel is decoded.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass
from typing import BinaryIO

import pillow_heif
from PIL import Image, ImageCms, ImageOps, UnidentifiedImageError

# HEIC/HEIF (phone photos) open through pillow-heif; libheif applies their rotation while decoding.
pillow_heif.register_heif_opener()

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# Formats we read but do not keep as they are: stored as a high-quality JPEG (PiktID takes only JPEG/PNG).
TRANSCODED = {"HEIF": "JPEG"}
HEIF_JPEG_QUALITY = 95
_SRGB = ImageCms.createProfile("sRGB")
# What can make a packshot: smaller photos hold too little garment to cut out, larger ones cost memory for
# nothing (outputs are at most 4096 px), and a strip beyond 8:1 is no garment photo (but a memory trap).
MIN_SIDE = 64
MAX_SIDE = 12_000
MAX_ASPECT = 8
# EXIF orientations 5–8 rotate by 90°, so the displayed image has width and height swapped.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112

Source = bytes | BinaryIO


class ImageError(ValueError):
    """An upload we cannot use; the message is shown to users verbatim."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    content_type: str
    orientation: int = 1


def probe(source: Source, *, max_pixels: int = 40_000_000) -> ImageInfo:
    """Check an upload from its header alone: format, pixel cap and packshot-worthy dimensions.

    No pixel is decoded (truncation shows when the image is decoded: `load_image`). The size is reported as
    displayed, after EXIF orientation. A HEIC/HEIF photo is described as the JPEG it is stored as
    (`heif_to_jpeg`): format JPEG, already upright.
    """
    image = _open(source, max_pixels)
    check_dimensions(*image.size)
    orientation = _orientation(image)
    width, height = image.size
    if orientation in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    stored = TRANSCODED.get(image.format, image.format)
    return ImageInfo(width, height, stored, CONTENT_TYPES[stored], orientation)


def is_heif(source: BinaryIO) -> bool:
    """Does the file start like an ISO-BMFF HEIC/HEIF/AVIF image (`....ftyp` box)?"""
    source.seek(0)
    head = source.read(12)
    source.seek(0)
    return head[4:8] == b"ftyp"


def heif_to_jpeg(src: BinaryIO, dst: BinaryIO, *, max_pixels: int = 40_000_000) -> None:
    """Store a HEIC/HEIF photo as a quality-95 JPEG: upright, its colour profile kept, no other metadata.

    The only lossy step of an upload (PiktID takes JPEG or PNG); EXIF (GPS, camera, dates) and XMP are not
    copied, so nothing personal survives.
    """
    image = _open(src, max_pixels)
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageError("This image is truncated or corrupt") from None
    icc = image.info.get("icc_profile")
    rgb = image.convert("RGB")
    rgb.save(dst, "JPEG", quality=HEIF_JPEG_QUALITY, subsampling=0, icc_profile=icc or None)


def _orientation(image: Image.Image) -> int:
    # The base method reads what the header held (EXIF, or XMP's tiff:Orientation); PNG's override would
    # decode the whole image to look past the pixel data.
    value = Image.Image.getexif(image).get(_ORIENTATION_TAG, 1)
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def check_dimensions(width: int, height: int) -> None:
    """Refuse sizes no packshot can be made from, naming the rule that was broken."""
    size = f"{width}×{height} px"
    if min(width, height) < MIN_SIDE:
        raise ImageError(f"This image is {size}; a photo needs at least {MIN_SIDE} px on each side")
    if max(width, height) > MAX_SIDE:
        raise ImageError(f"This image is {size}; a photo may be at most {MAX_SIDE:,} px on a side")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise ImageError(
            f"This image is {size}; its sides may differ at most {MAX_ASPECT}:1 (crop it to the garment)"
        )


def load_image(source: Source, *, max_pixels: int = 40_000_000, max_side: int | None = None) -> Image.Image:
    """Decode to an upright RGB image; transparent areas become white, as on a packshot.

    With max_side, return a preview at most that large, made without any full-size copy: a JPEG decodes at
    1/2–1/8 scale (libjpeg's DCT scaling); other formats decode once and are reduced strip by strip. Truncated
    or corrupt data raises ImageError either way.
    """
    image = _open(source, max_pixels)
    try:
        if max_side:
            # Twice the preview's size, as Image.thumbnail asks (a box average, then a clean resample).
            scale = 2 * max_side / max(image.size)
            image.draft(None, (max(1, int(image.width * scale)), max(1, int(image.height * scale))))
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ImageError("This image is truncated or corrupt") from None
    icc = image.info.get("icc_profile")
    if not max_side:
        return _to_srgb(_flatten(ImageOps.exif_transpose(image), icc), icc)
    # The orientation as probe() reads it (and as the stored original keeps it), applied to the small image.
    orientation = _orientation(image)
    preview = _reduce_flat(image, max(1, max(image.size) // (2 * max_side)), icc)
    if orientation in _TRANSPOSES:
        preview = preview.transpose(_TRANSPOSES[orientation])
    preview.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _to_srgb(preview, icc)


def _profile(icc: bytes | None) -> ImageCms.ImageCmsProfile | None:
    """The embedded ICC profile when it is not sRGB already (or is unreadable: then read as sRGB)."""
    if not icc:
        return None
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        if "srgb" in ImageCms.getProfileDescription(profile).lower().replace(" ", ""):
            return None
        return profile
    except (OSError, ImageCms.PyCMSError):
        return None


def _to_srgb(image: Image.Image, icc: bytes | None) -> Image.Image:
    """RGB pixels of another RGB profile (Display P3, Adobe RGB) converted to sRGB, what everything we
    derive (thumbnails, the local engine's input, outputs) assumes. CMYK was converted in _flatten."""
    profile = _profile(icc)
    if profile is None or profile.profile.xcolor_space.strip() != "RGB":
        return image
    try:
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
    except ImageCms.PyCMSError:
        return image


_TRANSPOSES = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_STRIP_PIXELS = 2_000_000


def _reduce_flat(image: Image.Image, factor: int, icc: bytes | None = None) -> Image.Image:
    """Flatten to RGB and shrink by a whole factor (box average), a strip at a time.

    Converting a 40 MP image whole (RGBA → RGB, or the premultiplied copy Pillow makes to resize RGBA) would
    double or triple the memory of the decode; strips keep the extra to a few MB.
    """
    width, height = image.size
    rows = max(1, _STRIP_PIXELS // (width * factor)) * factor
    out = Image.new("RGB", (-(-width // factor), -(-height // factor)))
    for top in range(0, height, rows):
        strip = _flatten(image.crop((0, top, width, min(height, top + rows))), icc)
        out.paste(strip.reduce(factor) if factor > 1 else strip, (0, top // factor))
    return out


def _flatten(image: Image.Image, icc: bytes | None = None) -> Image.Image:
    if image.mode == "CMYK" and (profile := _profile(icc)) is not None:
        try:  # a CMYK photo's own profile knows its inks; a plain convert("RGB") guesses
            return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
        except ImageCms.PyCMSError:
            pass
    if image.mode == "I" or image.mode.startswith("I;16"):
        # 16-bit grey (PNG, TIFF; Pillow reads it as I;16 or I): a plain convert clips it at 255, which turns
        # the photo white. Scaled by the mode, never by a strip's own values (strips are flattened apart).
        image = image.convert("I").point(lambda value: value / 257).convert("L")
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _open(source: Source, max_pixels: int) -> Image.Image:
    """Open lazily (header only) and apply the format and pixel checks."""
    limit = f"{max_pixels / 1e6:g} MP"
    fp = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    fp.seek(0)
    # Pillow's own bomb guard warns (or refuses) at its global limit; ours is per call and worded for users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(fp)
        except Image.DecompressionBombError:
            raise ImageError(f"This image is far too large; the limit is {limit}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
            raise ImageError(
                "This file is not an image (or not one we can read): use JPEG, PNG or WebP (or HEIC)"
            ) from None
    if image.format not in CONTENT_TYPES and image.format not in TRANSCODED:
        raise ImageError(f"Unsupported image format {image.format}: use JPEG, PNG or WebP (or HEIC)")
    width, height = image.size
    # Checked from the header, before any pixel is decoded.
    if width * height > max_pixels:
        megapixels = f"{width * height / 1e6:.1f} MP"
        raise ImageError(f"This image is {width}×{height} ({megapixels}); the limit is {limit}")
    return image
