"""The local engine: job instructions ↔ `packshots.imaging` calls. No Django here."""

import functools
import io
import json

import numpy as np
from PIL import Image, PngImagePlugin

from packshots import imaging
from packshots import instructions as schema
from packshots.engines.base import EngineError, PreparedInput, RenderedOutput
from packshots.imaging.compose import upscale_factor

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
        rgba = np.dstack([cutout.rgb, cutout.alpha])
        info = PngImagePlugin.PngInfo()
        info.add_itxt(WARNINGS_KEY, json.dumps(list(cutout.warnings)))
        buffer = io.BytesIO()
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1, pnginfo=info)
        data = buffer.getvalue()
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
        return RenderedOutput(
            data=imaging.encode(image, fmt),
            thumbnail=imaging.thumbnail(image),
            width=image.width,
            height=image.height,
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
    return imaging.Cutout(
        rgb=np.ascontiguousarray(rgba[..., :3]),
        alpha=np.ascontiguousarray(rgba[..., 3]),
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
    image = Image.open(io.BytesIO(data))
    warnings = tuple(json.loads(image.info.get(WARNINGS_KEY, "[]")))
    rgba = np.asarray(image if image.mode == "RGBA" else image.convert("RGBA"))
    rgba.flags.writeable = False
    return rgba, warnings
