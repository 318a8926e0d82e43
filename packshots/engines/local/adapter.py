"""The local engine: job instructions ↔ `packshots.imaging` calls. No Django here."""

import functools
import io
import json

import cv2
import numpy as np
from PIL import Image, PngImagePlugin

from packshots import imaging
from packshots import instructions as schema
from packshots.engines.base import EngineError, PreparedInput, RenderedOutput
from packshots.imaging.compose import upscale_factor
from packshots.imaging.segment import release_memory

# Words in an image note that say which view a photo shows, per instruction angle.
ANGLE_WORDS = {
    "back": ("back", "rear"),
    "front": ("front",),
    "three_quarter": ("three quarter", "three-quarter", "3/4", "side"),
    "detail_macro": ("detail", "close", "macro", "label"),
}
# The cutout's warnings travel inside its stored PNG (a text chunk), so every output rendered from it later
# carries them without another field on PreparedInput.
WARNINGS_KEY = "packshot-warnings"
# Enlarging the garment's pixels more than this makes a visibly soft packshot.
MAX_UPSCALE = 3.0


class LocalEngine:
    name = "local"

    def __init__(self, *, threads: int = 1):
        self.threads = threads

    def prepare(self, original: bytes, *, note: str = "") -> PreparedInput:
        """Segment one photo; done once per job and reused by all its outputs."""
        try:
            image = imaging.load_image(original)
        except imaging.ImageError as exc:
            raise EngineError(str(exc)) from exc
        cutout = imaging.segment(image, threads=self.threads)
        del image
        rgba = np.dstack([cutout.rgb, cutout.alpha])
        info = PngImagePlugin.PngInfo()
        info.add_itxt(WARNINGS_KEY, json.dumps(list(cutout.warnings)))
        buffer = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1, pnginfo=info)
        data = buffer.getvalue()
        del rgba, buffer
        # glibc keeps freed heap pages resident: a 12 MP photo's segmentation and PNG left ~180 MB behind,
        # which every output the worker renders next would sit on top of.
        release_memory()
        return PreparedInput(lambda: data, cutout.confidence, cutout.needs_review, note)

    def render(
        self, inputs: list[PreparedInput], instruction: dict, *, variation: int, seed: int
    ) -> RenderedOutput:
        if not inputs:
            raise EngineError("No input photos to render from.")
        instruction = schema.normalize_instruction(instruction)
        chosen = pick_input(inputs, instruction.get("angle"))
        cutout = load_cutout(chosen, detail=instruction.get("angle") == "detail_macro")
        width, height = schema.output_size(instruction)
        fmt = schema.output_format(instruction)
        style = instruction["style"]
        warnings = list(cutout.warnings)
        factor = upscale_factor(cutout, width=width, height=height, framing=instruction.get("framing"))
        if factor > MAX_UPSCALE:
            warnings.append(f"source too small for {width}×{height}: the garment is upscaled {factor:.1f}×")
        background = schema.design_text(instruction.get("background"))
        transparent = "transparent" in background.lower()
        if transparent and fmt != "png":
            transparent = False
            warnings.append("a transparent background needs PNG output: this JPEG has the style's background")
        image = imaging.compose(
            cutout,
            style=style,
            width=width,
            height=height,
            framing=instruction.get("framing"),
            shadow=schema.effective_shadow(instruction),
            background=background,
            color_palette=schema.design_text(instruction.get("color_palette")),
            surface=schema.design_text(instruction.get("surface")) if style == "flat_lay" else "",
            lighting=schema.design_text(instruction.get("lighting")),
            seed=seed,
            variation=variation,
            transparent=transparent,
        )
        data, thumbnail, (width, height) = imaging.encode(image, fmt), imaging.thumbnail(image), image.size
        del image, cutout
        release_memory()  # the canvas and its temporaries, before the worker's next task
        return RenderedOutput(
            data=data,
            thumbnail=thumbnail,
            width=width,
            height=height,
            format=fmt,
            model_used="local",
            confidence=chosen.confidence,
            needs_review=chosen.needs_review or bool(warnings),
            warnings=tuple(warnings),
        )


def pick_input(inputs: list[PreparedInput], angle: str | None) -> PreparedInput:
    """The photo whose note names the requested view; else the first (the hero shot by convention)."""
    words = ANGLE_WORDS.get(angle or "", ())
    for prepared in inputs:
        if any(word in prepared.note.lower() for word in words):
            return prepared
    return inputs[0]


def load_cutout(prepared: PreparedInput, *, detail: bool = False) -> imaging.Cutout:
    """The stored cutout and the warnings `prepare` wrote into it (none for cutouts stored before)."""
    rgba, warnings = decode_cutout(prepared.load())
    if detail:
        # A macro view: the central half of the garment, enlarged by compositing.
        h, w = rgba.shape[:2]
        rgba = rgba[h // 4 : h - h // 4, w // 4 : w - w // 4]
    # Views of the cached array, not copies (39 MB for a 12 MP cutout): compose only reads them.
    return imaging.Cutout(
        rgb=rgba[..., :3],
        alpha=rgba[..., 3],
        confidence=prepared.confidence,
        needs_review=prepared.needs_review,
        method="stored",
        warnings=warnings,
    )


@functools.lru_cache(maxsize=1)
def decode_cutout(data: bytes) -> tuple[np.ndarray, tuple[str, ...]]:
    """The stored cutout PNG as a read-only RGBA array, and its warnings.

    The last one is kept: a worker rendering the outputs of one photo in turn decodes it once (a 12 MP
    cutout's PNG took 0.45 CPU s to decode, more than composing a 2K output from it).
    """
    image = Image.open(io.BytesIO(data))  # reads the chunks before the pixels: the warnings
    warnings = tuple(json.loads(image.info.get(WARNINGS_KEY, "[]")))
    # OpenCV decodes into an array (peak two copies: +77 MB for a 12 MP cutout); Pillow's image, its
    # tobytes() chunks and their join made three (+112 MB). The same pixels: PNG is lossless.
    rgba = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED) if image.mode == "RGBA" else None
    if rgba is not None and rgba.dtype == np.uint8 and rgba.shape[2:] == (4,):
        for y in range(0, rgba.shape[0], 256):  # in place, a band at a time (OpenCV clones an in-place input)
            cv2.cvtColor(rgba[y : y + 256], cv2.COLOR_BGRA2RGBA, dst=rgba[y : y + 256])
    else:  # not the engine's own 8-bit RGBA
        rgba = np.asarray(image.convert("RGBA"))
    rgba.flags.writeable = False
    release_memory()  # the decoder's buffers
    return rgba, warnings
