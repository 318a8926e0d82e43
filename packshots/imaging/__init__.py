"""Pixels for Packshot Studio: decode, segment, compose, encode.

Pure NumPy/Pillow/OpenCV/onnxruntime: no Django, so it runs in a shell, a CLI or a benchmark.
"""

from .colors import parse_colors
from .compose import compose
from .decode import ImageError, ImageInfo, load_image, probe
from .encode import encode, thumbnail
from .segment import Cutout, model_path, segment

__all__ = [
    "Cutout",
    "ImageError",
    "ImageInfo",
    "compose",
    "encode",
    "load_image",
    "model_path",
    "parse_colors",
    "probe",
    "segment",
    "thumbnail",
]
