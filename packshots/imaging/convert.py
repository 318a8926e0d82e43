"""Format conversion for engines that take fewer formats than we accept (PiktID: JPEG and PNG only)."""

from typing import BinaryIO

from PIL import Image, ImageOps


def to_png(source: BinaryIO, dest: BinaryIO) -> int:
    """Write `source` (any format we accept) to `dest` as a lossless PNG, upright; returns the bytes written.

    Orientation is applied (the PNG carries no EXIF); the colour profile, if any, is kept.
    """
    with Image.open(source) as image:
        icc = image.info.get("icc_profile")
        upright = ImageOps.exif_transpose(image)
        if upright.mode not in ("RGB", "RGBA", "L", "LA"):
            upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
        start = dest.tell()
        upright.save(dest, "PNG", icc_profile=icc) if icc else upright.save(dest, "PNG")
        return dest.tell() - start
