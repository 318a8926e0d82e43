"""Marketplace compliance: channel profiles and the checks of one image against them (pure: NumPy, Pillow).

Every rule comes from `/work/shared/docs/marketplaces-and-product-ideas.md` §4 (the table of channel
requirements); each profile cites the facts it encodes. Rules the doc states but that cannot be measured
from pixels (no text, logos or watermarks; a real photo of the product; shot on a model) are not checked.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, field
from functools import cached_property

import numpy as np
from PIL import Image, ImageCms, UnidentifiedImageError

MB = 1_000_000  # the channels write "MB"; the decimal megabyte is the stricter reading
ANALYSIS_SIDE = 512  # the product is measured on a copy this size: fill ratios need no more precision
RATIO_TOLERANCE = 0.01  # 1 % either way: 762×1100 and 1801×2600 are both "1:1.44" for Zalando
BORDER_ALLOWANCE = 0.01  # share of the border that may differ (a product touching an edge, a stray pixel)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    passed: bool
    detail: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Background:
    """What the frame's border must be: every channel at least `min_value` (and neutral, if asked)."""

    min_value: int
    label: str  # "pure white (RGB 255)"
    neutral: bool = False  # channels within NEUTRAL_SPREAD of each other (light grey, not beige)
    transparent_ok: bool = False  # a fully transparent border passes too


NEUTRAL_SPREAD = 12


@dataclass(frozen=True)
class Profile:
    key: str
    name: str
    formats: tuple[str, ...] = ()  # Pillow format names; empty = the doc names none
    min_size: tuple[int, int] | None = None  # (width, height), both at least
    min_long_side: int | None = None
    max_long_side: int | None = None
    max_size: tuple[int, int] | None = None
    max_pixels: int | None = None
    aspect: tuple[int, int] | None = None  # (w, h) the image must have, within RATIO_TOLERANCE
    max_bytes: dict[str, int] = field(default_factory=dict)  # per Pillow format; "*" for any
    background: Background | None = None
    min_fill: float | None = None  # the product's extent along its limiting side, share of the frame
    min_dpi: int | None = None
    no_frame: bool = False  # no border drawn around the picture
    targets: dict = field(default_factory=dict)  # what an instruction asks for to pass (see `targets`)


PURE_WHITE = Background(253, "pure white (RGB 255)")  # 253: JPEG may round a flat white by a level or two

PROFILES: dict[str, Profile] = {
    p.key: p
    for p in (
        # Amazon, all products: "JPEG (recommended), TIFF, PNG, non-animated GIF; RGB preferred over CMYK;
        # ≥72 dpi; ≥1,000 px on longest side for zoom; ≤10,000 px longest side". MAIN image: "Pure white
        # background RGB 255,255,255; product fills ≥85% of frame; ≥500 px absolute minimum"; secondary
        # sources: "sRGB, WebP/HEIC not accepted, PNG transparency must be flattened to white".
        Profile(
            key="amazon_main",
            name="Amazon main image",
            formats=("JPEG", "PNG", "TIFF", "GIF"),
            min_long_side=1000,
            max_long_side=10_000,
            background=PURE_WHITE,
            min_fill=0.85,
            min_dpi=72,
            # 2K square; full_frame is the framing that fills ≥85 % (the local engine fills 94 %); no shadow
            # keeps the frame white.
            targets={
                "size": "2K",
                "ar": "1:1",
                "format": "jpg",
                "shadow": "none",
                "framing": "full_frame",
                "background": "pure white #FFFFFF",
                "fill": 0.85,
            },
        ),
        # Zalando: "Upright format, aspect 1:1.44 (w:h), best-practice 1801×2600 px, minimum 762×1100 px,
        # JPG only, ≤20 MB; packshot views typically on white" (the exact background value is not published,
        # so we ask for a plain near-white border, RGB ≥ 240).
        Profile(
            key="zalando",
            name="Zalando",
            formats=("JPEG",),
            min_size=(762, 1100),
            aspect=(100, 144),
            max_bytes={"*": 20 * MB},
            background=Background(240, "plain white (RGB 240 or more)"),
            # 1400×2016 is exactly 1:1.44 in multiples of 8 (PiktID's custom-size rule) and stays in the 2K
            # tier (5 credits); 1801×2600 would cost as 4K.
            targets={"width": 1400, "height": 2016, "format": "jpg", "background": "white", "shadow": "none"},
        ),
        # ABOUT YOU: 1st bust view "plain transparent or white background"; model/bust images "3:4 upright,
        # min 1500×2000 px, ≥96 dpi; JPEG ≤2 MB (white/grey bg) or PNG ≤4 MB (transparent)".
        Profile(
            key="about_you",
            name="ABOUT YOU",
            formats=("JPEG", "PNG"),
            min_size=(1500, 2000),
            aspect=(3, 4),
            max_bytes={"JPEG": 2 * MB, "PNG": 4 * MB},
            # "White" has no value here either: the same plain-white border as Zalando (grey is allowed only
            # beyond the 1st bust view).
            background=Background(240, "plain white (RGB 240 or more) or transparent", transparent_ok=True),
            min_dpi=96,
            # 1536×2048
            targets={"size": "2K", "ar": "3:4", "format": "jpg", "background": "white", "shadow": "none"},
        ),
        # Shopify: "Up to 5000×5000 px / 25 MP, <20 MB; 2048×2048 square usually best; ≥800×800 for zoom".
        Profile(
            key="shopify",
            name="Shopify",
            min_size=(800, 800),
            max_size=(5000, 5000),
            max_pixels=25_000_000,
            max_bytes={"*": 20 * MB},
            targets={"size": "2K", "ar": "1:1", "format": "jpg", "shadow": "none"},  # 2048×2048
        ),
        # Google Merchant Center: "Min 250×250 (apparel) / 100×100; recommend ≥800×800; ≤64 MP and ≤16 MB;
        # no watermarks, promo text, borders; white/light-neutral background recommended for main image".
        Profile(
            key="google_shopping",
            name="Google Shopping",
            min_size=(250, 250),
            max_pixels=64_000_000,
            max_bytes={"*": 16 * MB},
            background=Background(
                220, "white or light neutral (RGB 220 or more, grey not tinted)", neutral=True
            ),
            no_frame=True,
            # 1024×1024, above the 800 recommended
            targets={"size": "1K", "ar": "1:1", "format": "jpg", "background": "white", "shadow": "none"},
        ),
    )
}
PROFILE_CHOICES = [(p.key, p.name) for p in PROFILES.values()]


def get_profile(profile: str | Profile) -> Profile:
    if isinstance(profile, Profile):
        return profile
    try:
        return PROFILES[profile]
    except KeyError:
        raise ValueError(
            f"unknown marketplace profile {profile!r}; use one of {', '.join(PROFILES)}"
        ) from None


def targets(profile: str | Profile) -> dict:
    """What an instruction must ask for so its outputs pass: size/ar or width/height, format, and where the
    profile needs them shadow, framing, background and the fill ratio it is measured against."""
    return dict(get_profile(profile).targets)


def profile_insists_on_white(profile: str | Profile) -> bool:
    background = get_profile(profile).background
    return background is not None and background.min_value >= PURE_WHITE.min_value


def instruction_for(instruction: dict, profile: str | Profile) -> dict:
    """A copy of `instruction` changed to target `profile` (options, framing; no shadow unless the instruction
    chose one and the profile allows it; a background only when the instruction names none)."""
    goal = targets(profile)
    result = {**instruction}
    options = {
        k: v
        for k, v in (instruction.get("options") or {}).items()
        if k not in ("size", "ar", "width", "height")
    }
    options.update({k: goal[k] for k in ("size", "ar", "width", "height", "format") if k in goal})
    result["options"] = options
    if "framing" in goal:
        result["framing"] = goal["framing"]
    # Every profile's default is no shadow; a profile asking for a pure white frame (Amazon) insists on it,
    # the others keep a shadow the instruction chose.
    if "shadow" in goal and (profile_insists_on_white(profile) or result.get("shadow") in (None, "", "auto")):
        result["shadow"] = goal["shadow"]
    if "background" in goal and not result.get("background"):
        result["background"] = goal["background"]
    return result


# ---------------------------------------------------------------- checking one image


@dataclass
class _Image:
    format: str
    mode: str
    width: int
    height: int
    bytes: int
    frames: int
    dpi: float | None
    icc_name: str | None
    rgb: np.ndarray  # full size, composited over white when transparent
    alpha: np.ndarray | None  # full size, only when some pixel is not opaque

    @cached_property
    def box(self) -> tuple[float, float, float, float] | None:
        return product_box(self.rgb, self.alpha)

    @cached_property
    def frame(self) -> int:
        return frame_width(self.rgb)


def check(image_bytes: bytes, profile: str | Profile) -> list[RuleResult]:
    """Every rule of `profile` measured on the image; an unreadable file is one failing rule."""
    return check_all(image_bytes, [profile])[get_profile(profile).key]


def check_all(image_bytes: bytes, profiles: list[str | Profile]) -> dict[str, list[RuleResult]]:
    """`check` for several profiles, decoding and measuring the image once: {profile key: results}."""
    chosen = [get_profile(p) for p in profiles]
    try:
        image = _load(image_bytes)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        unreadable = RuleResult("file", False, f"cannot be read as an image ({exc.__class__.__name__})")
        return {p.key: [unreadable] for p in chosen}
    return {p.key: _check(image, p) for p in chosen}


def _check(image: _Image, profile: Profile) -> list[RuleResult]:
    results = [_format_rule(image, profile), _colour_rule(image)]
    results += _size_rules(image, profile)
    if profile.max_bytes:
        results.append(_file_size_rule(image, profile))
    if profile.min_dpi:
        results.append(_dpi_rule(image, profile))
    if profile.background:
        results.append(_background_rule(image, profile))
    if profile.no_frame:
        results.append(_frame_rule(image))
    if profile.min_fill:
        results.append(_fill_rule(image, profile))
    return results


def passes(results: list[RuleResult]) -> bool:
    return all(r.passed for r in results)


def _load(data: bytes) -> _Image:
    with Image.open(io.BytesIO(data)) as img:
        fmt, mode, frames = img.format or "", img.mode, getattr(img, "n_frames", 1)
        dpi = img.info.get("dpi")
        icc = img.info.get("icc_profile")
        img.load()
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = np.asarray(img.convert("RGBA"))
            alpha = rgba[..., 3]
            weight = alpha[..., None].astype(np.float32) / 255
            rgb = np.round(rgba[..., :3] * weight + 255 * (1 - weight)).astype(np.uint8)
            alpha = alpha if (alpha < 255).any() else None
        else:
            rgb, alpha = np.asarray(img.convert("RGB")), None
    return _Image(
        format=fmt,
        mode=mode,
        width=rgb.shape[1],
        height=rgb.shape[0],
        bytes=len(data),
        frames=frames,
        dpi=float(min(dpi)) if dpi else None,
        icc_name=_icc_name(icc),
        rgb=rgb,
        alpha=alpha,
    )


def _icc_name(icc: bytes | None) -> str | None:
    if not icc:
        return None
    try:
        return ImageCms.getProfileDescription(ImageCms.ImageCmsProfile(io.BytesIO(icc))).strip()
    except (ImageCms.PyCMSError, OSError):
        return "an unreadable colour profile"


def _names(formats: tuple[str, ...]) -> str:
    return ", ".join(formats[:-1]) + (f" or {formats[-1]}" if len(formats) > 1 else formats[-1])


def _format_rule(image: _Image, profile: Profile) -> RuleResult:
    fmt = "JPEG" if image.format == "MPO" else image.format  # MPO is a JPEG with extra frames
    if not profile.formats:
        return RuleResult("format", True, f"{fmt} (the channel names no required format)")
    if fmt not in profile.formats:
        return RuleResult(
            "format", False, f"the file is {fmt}; {profile.name} takes {_names(profile.formats)}"
        )
    if fmt == "GIF" and image.frames > 1:
        return RuleResult(
            "format", False, f"the GIF is animated ({image.frames} frames); {profile.name} takes still images"
        )
    return RuleResult("format", True, fmt)


def _colour_rule(image: _Image) -> RuleResult:
    # Amazon states "RGB preferred over CMYK" and (secondary sources) sRGB; the other channels show images in
    # browsers, which assume sRGB, so a CMYK file or another profile shows wrong colours everywhere.
    if image.mode in ("CMYK", "YCbCr", "LAB", "HSV"):
        return RuleResult("colour_mode", False, f"the colours are {image.mode}; save as RGB (sRGB)")
    if image.icc_name and "srgb" not in image.icc_name.lower().replace(" ", ""):
        return RuleResult(
            "colour_mode", False, f"the embedded colour profile is {image.icc_name!r}, not sRGB"
        )
    return RuleResult(
        "colour_mode", True, f"{image.mode}, {image.icc_name or 'no embedded profile (read as sRGB)'}"
    )


def _size_rules(image: _Image, profile: Profile) -> list[RuleResult]:
    w, h, long_side = image.width, image.height, max(image.width, image.height)
    size = f"{w}×{h} px"
    problems = []
    if profile.min_long_side and long_side < profile.min_long_side:
        problems.append(
            f"the long side is {long_side} px; {profile.name} asks for at least {profile.min_long_side} px"
        )
    if profile.max_long_side and long_side > profile.max_long_side:
        problems.append(
            f"the long side is {long_side} px; {profile.name} allows at most {profile.max_long_side} px"
        )
    if profile.min_size and (w < profile.min_size[0] or h < profile.min_size[1]):
        problems.append(
            f"{size} is smaller than {profile.name}'s minimum {profile.min_size[0]}×{profile.min_size[1]} px"
        )
    if profile.max_size and (w > profile.max_size[0] or h > profile.max_size[1]):
        problems.append(
            f"{size} is larger than {profile.name}'s maximum {profile.max_size[0]}×{profile.max_size[1]} px"
        )
    if profile.max_pixels and w * h > profile.max_pixels:
        problems.append(f"{w * h / 1e6:.1f} MP is over {profile.name}'s {profile.max_pixels / 1e6:g} MP")
    results = [RuleResult("size", not problems, "; ".join(problems) or size)]
    if profile.aspect:
        aw, ah = profile.aspect
        want, got = ah / aw, h / w
        label = "3:4" if profile.aspect == (3, 4) else f"1:{ah / aw:g}"
        ok = abs(got / want - 1) <= RATIO_TOLERANCE
        detail = (
            f"1:{got:.3g} (w:h)" if ok else f"{size} is 1:{got:.3g} (w:h); {profile.name} asks for {label}"
        )
        results.append(RuleResult("aspect_ratio", ok, detail))
    return results


def _file_size_rule(image: _Image, profile: Profile) -> RuleResult:
    limit = profile.max_bytes.get(image.format, profile.max_bytes.get("*"))
    mb = f"{image.bytes / MB:.2f} MB"
    if limit is None:  # a format the channel refuses anyway (the format rule says so)
        return RuleResult("file_size", True, mb)
    if image.bytes > limit:
        kind = f" for {image.format}" if len(profile.max_bytes) > 1 else ""
        return RuleResult(
            "file_size", False, f"the file is {mb}; {profile.name} allows at most {limit / MB:g} MB{kind}"
        )
    return RuleResult("file_size", True, mb)


def _dpi_rule(image: _Image, profile: Profile) -> RuleResult:
    # Only a stated resolution can be wrong: pixels are what a channel measures, and files without one
    # (our encoder writes none) are read at the viewer's default.
    if image.dpi is None:
        return RuleResult(
            "dpi", True, f"no resolution stored (the pixel size counts; {profile.min_dpi} dpi asked)"
        )
    if image.dpi < profile.min_dpi - 0.5:
        return RuleResult(
            "dpi",
            False,
            f"the file says {image.dpi:g} dpi; {profile.name} asks for at least {profile.min_dpi}",
        )
    return RuleResult("dpi", True, f"{image.dpi:g} dpi")


def border_pixels(rgb: np.ndarray) -> np.ndarray:
    """The outer ring of the frame (0.5 % of the short side, at least 2 px), as N×channels."""
    t = max(2, round(0.005 * min(rgb.shape[:2])))
    parts = [rgb[:t], rgb[-t:], rgb[t:-t, :t], rgb[t:-t, -t:]]
    return np.concatenate([p.reshape(-1, *rgb.shape[2:]) for p in parts])


def _background_rule(image: _Image, profile: Profile) -> RuleResult:
    spec = profile.background
    if image.alpha is not None:
        clear = border_pixels(image.alpha) < 255
        if not spec.transparent_ok:
            # Amazon (secondary sources): "PNG transparency must be flattened to white".
            return RuleResult(
                "background",
                False,
                f"the image has transparent pixels; {profile.name} needs them flattened to {spec.label}",
            )
        if clear.mean() >= 1 - BORDER_ALLOWANCE:
            return RuleResult("background", True, "transparent")
    ring = border_pixels(image.rgb).astype(np.int16)
    off = ring.min(axis=1) < spec.min_value
    if spec.neutral:
        off |= (ring.max(axis=1) - ring.min(axis=1)) > NEUTRAL_SPREAD
    share = off.mean()
    median = np.median(ring, axis=0).astype(int)
    colour = "RGB " + ",".join(str(v) for v in median)
    if share > BORDER_ALLOWANCE:
        what = f"below RGB {spec.min_value}" + (" or tinted" if spec.neutral else "")
        return RuleResult(
            "background",
            False,
            f"background is not {spec.label}: {share:.0%} of the border is {what} (mostly {colour})",
        )
    return RuleResult("background", True, f"{spec.label}: the border is {colour}")


def _frame_rule(image: _Image) -> RuleResult:
    """A drawn border: all four edges the same flat colour, changing within 5 % of each side."""
    if frame := image.frame:
        return RuleResult(
            "border",
            False,
            f"the picture has a {frame} px border drawn around it; Google does not allow borders",
        )
    return RuleResult("border", True, "no border around the picture")


def frame_width(rgb: np.ndarray) -> int:
    """Width in px of a uniform frame around the picture, 0 when there is none."""
    columns = rgb.swapaxes(0, 1)
    sides = [rgb, rgb[::-1], columns, columns[::-1]]  # each read from its outer edge inward
    # Only the outer 5 % of each side is looked at (luminance of that band only: a 4K image stays cheap).
    sides = [side[: max(3, round(0.05 * side.shape[0]))].astype(np.float32).mean(axis=2) for side in sides]
    edge = [np.median(side[0]) for side in sides]
    if max(edge) - min(edge) > 10:
        return 0  # the four edges are not one colour: no frame
    widths = []
    for side, colour in zip(sides, edge, strict=True):
        if np.abs(side[0] - colour).mean() > 6:
            return 0  # the edge itself is not flat
        inner = np.abs(np.median(side[1:], axis=1) - colour) > 30
        if not inner.any():
            return 0
        widths.append(int(np.argmax(inner)) + 1)
    return max(widths)


def _fill_rule(image: _Image, profile: Profile) -> RuleResult:
    box = image.box
    if box is None:
        return RuleResult("fill", False, "no product found against the background")
    fill = fill_ratio(box)
    detail = f"the product fills {fill:.0%} of the frame along its longest extent"
    if fill < profile.min_fill:
        return RuleResult("fill", False, f"{detail}; {profile.name} asks for at least {profile.min_fill:.0%}")
    return RuleResult("fill", True, detail)


def fill_ratio(box: tuple[float, float, float, float]) -> float:
    """The product's share of the frame along its limiting side: max(box width / W, box height / H)."""
    x0, y0, x1, y1 = box
    return max(x1 - x0, y1 - y0)


PRODUCT_DIFF = 10  # a pixel this far from the background colour (any channel) can be product
# A neutral darkening is a soft shadow unless it has an edge: a step, where the luminance changes within
# 2 px (3×3 window) nearly as much as within 8 px (9×9) — a garment's outline. A blurred shadow ramps: over
# 2 px it changes about a quarter of what it does over 8 px. EDGE_MIN levels keeps JPEG noise out.
EDGE_SHARE, EDGE_MIN = 0.5, 6


def product_box(rgb: np.ndarray, alpha: np.ndarray | None = None) -> tuple[float, float, float, float] | None:
    """The product's bounding box as fractions of the frame (x0, y0, x1, y1), or None if there is none.

    From the alpha channel when there is one; otherwise pixels that differ from the border's colour, except
    soft shadows: a neutral darkening of the background (every channel scaled alike) with no sharp edge in it.
    A garment's own outline is sharp, so a grey garment still counts by its edges.
    """
    h, w = rgb.shape[:2]
    scale = min(1.0, ANALYSIS_SIDE / max(h, w))
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    if alpha is not None:
        small = np.asarray(Image.fromarray(alpha).resize(size, Image.Resampling.BOX))
        return _box(small > 32)
    a = np.asarray(Image.fromarray(rgb).resize(size, Image.Resampling.BOX)).astype(np.float32)
    bg = np.median(border_pixels(a), axis=0)
    diff = np.abs(a - bg).max(axis=2)
    ratio = (a + 1) / (bg + 1)
    neutral_dark = (ratio.max(axis=2) - ratio.min(axis=2) < 0.06) & (ratio.mean(axis=2) < 1)
    lum = a.mean(axis=2)
    near, wide = _local_range(lum, 1), _local_range(lum, 4)
    soft = neutral_dark & ((near < EDGE_MIN) | (near < EDGE_SHARE * wide))
    return _box((diff > PRODUCT_DIFF) & ~soft)


def _local_range(x: np.ndarray, radius: int) -> np.ndarray:
    """max − min over each pixel's (2·radius + 1)² neighbourhood (separable)."""
    high, low = x, x
    for axis in (0, 1):
        pad = [(0, 0), (0, 0)]
        pad[axis] = (radius, radius)
        ph, pl = np.pad(high, pad, mode="edge"), np.pad(low, pad, mode="edge")
        n = x.shape[axis]
        high = np.max([ph.take(range(i, i + n), axis=axis) for i in range(2 * radius + 1)], axis=0)
        low = np.min([pl.take(range(i, i + n), axis=axis) for i in range(2 * radius + 1)], axis=0)
    return high - low


def _box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    # Rows and columns with a single stray pixel (dust, a JPEG speck) do not widen the box.
    rows = np.flatnonzero(mask.sum(axis=1) >= 2)
    cols = np.flatnonzero(mask.sum(axis=0) >= 2)
    if not len(rows) or not len(cols):
        return None
    h, w = mask.shape
    return (cols[0] / w, rows[0] / h, (cols[-1] + 1) / w, (rows[-1] + 1) / h)
