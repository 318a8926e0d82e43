"""Pixels for Packshot Studio: decode, segment, compose, encode.

Pure NumPy/Pillow/OpenCV/onnxruntime: no Django, so it runs in a shell, a CLI or a benchmark.
"""

from .colors import parse_colors
from .compose import compose
from .decode import MAX_ASPECT, MAX_SIDE, MIN_SIDE, ImageError, ImageInfo, check_dimensions, load_image, probe
from .encode import encode, thumbnail
from .metadata import strip_metadata
from .segment import Cutout, available_networks, segment
from .weights import weights

__all__ = [
    "MAX_ASPECT",
    "MAX_SIDE",
    "MIN_SIDE",
    "Cutout",
    "ImageError",
    "ImageInfo",
    "available_networks",
    "check_dimensions",
    "compose",
    "encode",
    "load_image",
    "parse_colors",
    "probe",
    "segment",
    "strip_metadata",
    "thumbnail",
    "weights",
]
