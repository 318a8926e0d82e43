"""Encoding outputs: JPEG for marketplaces, PNG when exactness or transparency matter, JPEG thumbnails."""

from __future__ import annotations

import io
import math
from collections.abc import Callable

from PIL import Image

from .decode import load_image

JPEG_QUALITY = 92


def encode(image: Image.Image, fmt: str) -> bytes:
    """Encode as "jpg" (q92, 4:4:4 so pure-white areas and colour edges stay clean) or "png"."""
    buffer = io.BytesIO()
    fmt = fmt.lower()
    if fmt in ("jpg", "jpeg"):
        # 4:2:0 subsampling smears colour into white near the garment and costs little to avoid.
        # No convert() of an RGB image: it copies it (64 MB at 4K). `optimize` holds every DCT coefficient
        # (~100 MB at 4K) but saves 8-33 % of the bytes: kept.
        rgb = image if image.mode == "RGB" else image.convert("RGB")
        rgb.save(buffer, "JPEG", quality=JPEG_QUALITY, optimize=True, subsampling=0)
    elif fmt == "png":
        # Level 3: measured ~2× faster than the default for a few % more bytes on 2K packshots.
        image.save(buffer, "PNG", compress_level=3)
    else:
        raise ValueError(f"unknown output format {fmt!r}: use jpg or png")
    return buffer.getvalue()


def thumbnail(data_or_image: bytes | Image.Image, *, max_side: int = 480) -> bytes:
    """A JPEG no larger than max_side on its long side (never upscaled).

    The same pixels as Pillow's `Image.thumbnail`, which works in place and so needed a copy of the whole
    image first (with convert(), two copies: 128 MB for a 4K output); `resize` makes only the small one.
    """
    image = load_image(data_or_image) if isinstance(data_or_image, bytes) else data_or_image
    image = image if image.mode == "RGB" else image.convert("RGB")
    size = fit_size(image.size, max_side)
    small = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0) if size != image.size else image
    buffer = io.BytesIO()
    small.save(buffer, "JPEG", quality=85, optimize=True)
    return buffer.getvalue()


def fit_size(size: tuple[int, int], max_side: int) -> tuple[int, int]:
    """The size `Image.thumbnail((max_side, max_side))` gives an image of `size` (Pillow's rounding)."""
    width, height = size
    if width <= max_side and height <= max_side:
        return size
    aspect = width / height

    def nearest(number: float, key: Callable[[int], float]) -> int:
        return max(min(math.floor(number), math.ceil(number), key=key), 1)

    if aspect <= 1:
        return nearest(max_side * aspect, key=lambda n: abs(aspect - n / max_side)), max_side
    return max_side, nearest(max_side / aspect, key=lambda n: 0 if n == 0 else abs(aspect - max_side / n))
