"""Pixels for Packshot Studio: decode, segment, compose, encode.

Pure NumPy/Pillow/OpenCV/onnxruntime: no Django, so it runs in a shell, a CLI or a benchmark.
"""

from .colors import parse_colors
from .compose import compose
from .decode import MAX_ASPECT, MAX_SIDE, MIN_SIDE, ImageError, ImageInfo, check_dimensions, load_image, probe
from .encode import encode, thumbnail
from .metadata import strip_metadata
from .segment import Cutout, model_path, segment

__all__ = [
    "MAX_ASPECT",
    "MAX_SIDE",
    "MIN_SIDE",
    "Cutout",
    "ImageError",
    "ImageInfo",
    "check_dimensions",
    "compose",
    "encode",
    "load_image",
    "model_path",
    "parse_colors",
    "probe",
    "segment",
    "strip_metadata",
    "thumbnail",
]
