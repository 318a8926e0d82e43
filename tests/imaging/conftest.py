from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from packshots.imaging import Cutout

GARMENTS = Path(__file__).resolve().parents[2].parent / "shared" / "garments"


def tee_mask(width: int = 480, height: int = 640) -> np.ndarray:
    """A T-shirt silhouette (body plus sleeves), True inside."""
    s = width / 480
    points = np.array(
        [
            (150, 120),
            (200, 100),
            (280, 100),
            (330, 120),
            (420, 210),
            (380, 260),
            (340, 225),
            (340, 540),
            (140, 540),
            (140, 225),
            (100, 260),
            (60, 210),
        ],
        np.float32,
    ) * [s, height / 640]
    mask = np.zeros((height, width), np.uint8)
    cv2.fillPoly(mask, [np.round(points).astype(np.int32)], 1)
    return mask > 0


def photo(garment: tuple[int, int, int], floor: tuple[int, int, int], *, seed: int = 0) -> Image.Image:
    """A garment-like shape lying on a slightly textured floor, like a phone snap."""
    rng = np.random.default_rng(seed)
    mask = tee_mask()
    noise = cv2.GaussianBlur(rng.normal(0, 6, mask.shape).astype(np.float32), (0, 0), 2)[..., None]
    image = np.where(mask[..., None], np.array(garment, np.float32), np.array(floor, np.float32)) + noise
    image[mask & (np.arange(mask.shape[0])[:, None] % 40 < 6)] *= 0.85  # a few stripes, like a print
    return Image.fromarray(np.clip(image, 0, 255).astype(np.uint8))


@pytest.fixture(scope="session")
def easy_photo() -> Image.Image:
    return photo((40, 70, 160), (205, 190, 170))


@pytest.fixture(scope="session")
def cutout() -> Cutout:
    """A synthetic cutout (no network) for compose tests: an opaque ellipse with a soft edge."""
    alpha = np.zeros((300, 200), np.uint8)
    cv2.ellipse(alpha, (100, 150), (90, 140), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 1.5)
    rgb = np.zeros((300, 200, 3), np.uint8)
    rgb[:] = (180, 40, 60)
    return Cutout(rgb=rgb, alpha=alpha, confidence=1.0, needs_review=False, method="test")


@pytest.fixture(scope="session")
def garments() -> Path:
    if not GARMENTS.is_dir():
        pytest.skip(f"shared garment photos not found at {GARMENTS}")
    return GARMENTS
