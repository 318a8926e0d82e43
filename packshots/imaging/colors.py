"""Colours named in free text: CSS names, hex codes, surface materials, and tone modifiers."""

from __future__ import annotations

import re

from PIL import ImageColor

RGB = tuple[int, int, int]

# Materials and studio words people use for surfaces and backdrops, as the colour they read as on a photo.
# They win over CSS names of the same spelling ("linen" in CSS is almost white; a linen cloth is not).
MATERIALS: dict[str, RGB] = {
    "linen": (233, 226, 214),
    "cotton": (244, 241, 234),
    "canvas": (229, 220, 200),
    "concrete": (185, 182, 176),
    "cement": (190, 187, 181),
    "marble": (237, 235, 231),
    "stone": (201, 196, 187),
    "slate": (94, 102, 110),
    "wood": (164, 117, 81),
    "wooden": (164, 117, 81),
    "oak": (200, 162, 122),
    "walnut": (107, 74, 51),
    "pine": (222, 190, 145),
    "paper": (246, 243, 236),
    "kraft": (200, 168, 120),
    "studio": (242, 242, 242),
    "cream": (243, 235, 221),
    "sand": (220, 203, 176),
    "blush": (242, 212, 208),
    "oatmeal": (226, 216, 198),
    "taupe": (163, 147, 130),
    "sage": (178, 191, 166),
    "terracotta": (200, 105, 75),
    "clay": (184, 138, 110),
    "charcoal": (54, 57, 61),
    "denim": (79, 109, 143),
    "offwhite": (246, 244, 239),
    "nude": (227, 200, 180),
}

MODIFIERS = ("light", "pale", "dark", "deep", "pastel", "soft", "warm", "cool")
_TOKEN = re.compile(r"#[0-9a-f]{6}\b|#[0-9a-f]{3}\b|[a-z]+")


def parse_colors(text: str) -> list[RGB]:
    """Colours named in `text`, in order; a modifier ("pale", "warm", …) adjusts the colour right after it."""
    return scan(text)[0]


def scan(text: str) -> tuple[list[RGB], list[str]]:
    """Colours in order, plus the modifiers that did not attach to a colour ("a warm, light backdrop")."""
    text = re.sub(r"\boff[\s-]+white\b", "offwhite", text.lower())
    colours: list[RGB] = []
    moods: list[str] = []
    pending: list[str] = []
    for token in _TOKEN.findall(text):
        if token in MODIFIERS:
            pending.append(token)
            continue
        colour = _named(token)
        if colour is not None:
            for modifier in reversed(pending):  # the nearest modifier applies last: "pale warm grey"
                colour = adjust(colour, modifier)
            colours.append(colour)
        else:
            moods.extend(pending)
        pending = []
    return colours, moods + pending


def adjust(colour: RGB, modifier: str) -> RGB:
    """Shift a colour the way the word suggests; unknown words leave it unchanged."""
    r, g, b = (float(c) for c in colour)
    if modifier == "light":
        r, g, b = _mix((r, g, b), (255, 255, 255), 0.45)
    elif modifier == "pale":
        r, g, b = _mix((r, g, b), (255, 255, 255), 0.6)
    elif modifier == "pastel":
        grey = (r + g + b) / 3
        r, g, b = _mix(_mix((r, g, b), (grey, grey, grey), 0.3), (255, 255, 255), 0.6)
    elif modifier == "soft":
        r, g, b = _mix((r, g, b), (225, 225, 225), 0.3)
    elif modifier == "dark":
        r, g, b = r * 0.55, g * 0.55, b * 0.55
    elif modifier == "deep":
        r, g, b = r * 0.7, g * 0.7, b * 0.7
    elif modifier == "warm":
        r, g, b = r * 1.05 + 6, g * 1.0, b * 0.88
    elif modifier == "cool":
        r, g, b = r * 0.92, g * 0.98, b * 1.06 + 6
    return tuple(round(min(max(c, 0), 255)) for c in (r, g, b))


def _named(token: str) -> RGB | None:
    if token.startswith("#"):
        return ImageColor.getrgb(token)[:3]
    if token in MATERIALS:
        return MATERIALS[token]
    if token in ImageColor.colormap:
        return ImageColor.getrgb(token)[:3]
    return None


def _mix(a: tuple[float, ...], b: tuple[float, ...], t: float) -> tuple[float, float, float]:
    return tuple(x + (y - x) * t for x, y in zip(a, b, strict=True))
