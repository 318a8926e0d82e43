"""The full-resolution edge steps read only the pixels near the outline and still give the dense answer."""

import cv2
import numpy as np

from packshots.imaging import matte
from packshots.imaging.segment import network_input

from .conftest import tee_mask


def test_nonzero_lists_the_same_pixels_as_numpy():
    mask = np.random.default_rng(0).random((37, 53)) > 0.7
    ys, xs = matte.nonzero(mask)
    expected = np.nonzero(mask)
    assert np.array_equal(ys, expected[0]) and np.array_equal(xs, expected[1])


def test_bilinear_samples_match_opencvs_resize_at_those_pixels():
    grid = np.random.default_rng(1).random((30, 40)).astype(np.float32)
    shape = (190, 247)  # not a whole multiple: the edges clamp as cv2.resize's do
    resized = cv2.resize(grid, shape[::-1], interpolation=cv2.INTER_LINEAR)
    ys, xs = np.mgrid[: shape[0], : shape[1]]
    sampled = matte.sample_bilinear(grid, ys.ravel(), xs.ravel(), shape).reshape(shape)
    assert np.abs(sampled - resized).max() < 1e-5


def _upscaled_tee(scale: int) -> tuple[np.ndarray, np.ndarray]:
    """A grey tee on a darker floor at `scale`× a 480×640 working size, with the blocky matte that
    upscaling a working-size mask gives (what refine_edges is for)."""
    mask = tee_mask(480 * scale, 640 * scale)
    rgb = np.where(mask[..., None], (200, 190, 180), (60, 55, 50)).astype(np.uint8)
    rgb = cv2.GaussianBlur(rgb, (0, 0), scale / 2)  # a soft photographed edge
    coarse = cv2.resize(tee_mask().astype(np.float32), mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return rgb, coarse


def test_refined_edges_at_twelve_megapixels_follow_the_photo_not_the_blocky_matte():
    rgb, coarse = _upscaled_tee(6)
    alpha = matte.refine_edges(rgb, coarse, scale=6)
    truth = tee_mask(480 * 6, 640 * 6)
    assert matte.iou(alpha > 0.5, truth) > matte.iou(coarse > 0.5, truth) - 1e-3
    # Far from the outline nothing changes: the band is all that is read or written.
    inside = cv2.erode(truth.astype(np.uint8), matte.disk(40)) > 0
    outside = cv2.dilate(truth.astype(np.uint8), matte.disk(40)) == 0
    assert (alpha[inside] == 1).all() and (alpha[outside] == 0).all()


def test_sparse_refinement_gives_the_dense_fast_guided_filter_inside_the_band():
    rgb, coarse = _upscaled_tee(4)
    alpha = matte.refine_edges(rgb, coarse, scale=4)
    band = matte.edge_band(coarse > 0.5, 8)
    y0, y1, x0, x1 = matte.bounding_box(band, pad=17)  # the window refine_edges filters in
    grey8 = cv2.cvtColor(rgb[y0:y1, x0:x1], cv2.COLOR_RGB2GRAY)
    mean_a, mean_b = matte.guided_coefficients(grey8, coarse[y0:y1, x0:x1], 8, 5e-3, subsample=2)
    size = grey8.shape[::-1]
    dense = cv2.resize(mean_a, size) * (grey8 / 255) + cv2.resize(mean_b, size)
    inside = band[y0:y1, x0:x1]
    assert np.abs(alpha[y0:y1, x0:x1][inside] - np.clip(dense[inside], 0, 1)).max() < 1e-4
    assert np.array_equal(alpha[~band], coarse[~band])


def test_every_network_gets_the_same_normalised_input():
    rgb = np.full((50, 70, 3), (124, 116, 104), np.uint8)  # the ImageNet mean colour
    batch = network_input(rgb)
    assert batch.shape == (1, 3, 320, 320) and batch.flags.c_contiguous
    assert np.abs(batch).max() < 0.01
