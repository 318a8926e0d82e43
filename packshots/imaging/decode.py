"""Reading uploaded bytes into pixels, with errors worded for the person who uploaded them."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
# EXIF orientations 5–8 rotate by 90°, so the displayed image has width and height swapped.
_SWAPPING_ORIENTATIONS = {5, 6, 7, 8}
_ORIENTATION_TAG = 0x0112


class ImageError(ValueError):
    """An upload we cannot use; the message is shown to users verbatim."""


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    content_type: str


def probe(data: bytes, *, max_pixels: int = 40_000_000) -> ImageInfo:
    """Decode fully (so truncation is caught) and report the size as displayed, after EXIF orientation."""
    image = _open(data, max_pixels)
    width, height = image.size
    if image.getexif().get(_ORIENTATION_TAG) in _SWAPPING_ORIENTATIONS:
        width, height = height, width
    return ImageInfo(width, height, image.format, CONTENT_TYPES[image.format])


def load_image(data: bytes, *, max_pixels: int = 40_000_000) -> Image.Image:
    """Decode to an upright RGB image; transparent areas become white, as on a packshot."""
    image = ImageOps.exif_transpose(_open(data, max_pixels))
    if image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info:
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        return flat
    return image.convert("RGB")


def _open(data: bytes, max_pixels: int) -> Image.Image:
    limit = f"{max_pixels / 1e6:g} MP"
    # Pillow's own bomb guard warns (or refuses) at its global limit; ours is per call and worded for users.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
        except Image.DecompressionBombError:
            raise ImageError(f"This image is far too large; the limit is {limit}") from None
        except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
            raise ImageError(
                "This file is not an image (or not one we can read): use JPEG, PNG or WebP"
            ) from None
        if image.format not in CONTENT_TYPES:
            raise ImageError(f"Unsupported image format {image.format}: use JPEG, PNG or WebP")
        width, height = image.size
        # Checked from the header, before any pixel is decoded.
        if width * height > max_pixels:
            raise ImageError(
                f"This image is {width}×{height} ({width * height / 1e6:.1f} MP); the limit is {limit}"
            )
        try:
            image.load()
        except (OSError, SyntaxError, ValueError, EOFError):
            raise ImageError("This image is truncated or corrupt") from None
    return image
