import numpy as np
import pytest
from PIL import Image

from packshots.imaging import segment
from packshots.imaging.repair import (
    MAX_POINTS,
    MAX_STROKES,
    RepairError,
    Stroke,
    StrokeError,
    check_total,
    locate,
    parse_strokes,
    place,
    rasterize,
    repair,
)

from .conftest import photo, tee_mask

GARMENT, FLOOR = (40, 70, 160), (205, 190, 170)
RIGHT_SLEEVE = np.s_[180:270, 345:430]  # rows, columns of the tee's right sleeve (tee_mask at 480×640)


def full_alpha(cutout, shape) -> np.ndarray:
    return place(cutout.alpha, cutout.box[:2], shape) > 0.5


def test_a_keep_stroke_brings_a_lost_sleeve_back_and_leaves_the_rest_alone():
    image = np.asarray(photo(GARMENT, FLOOR))
    tee = tee_mask()
    lost = tee.copy()
    lost[:, 345:] = False  # the segmentation lost the right sleeve
    keep = rasterize([Stroke(6, ((360, 215), (395, 225)))], tee.shape)
    assert tee[RIGHT_SLEEVE].sum() > 1500 and not lost[RIGHT_SLEEVE].any()

    fixed = repair(image, lost.astype(np.float32), keep, np.zeros_like(keep))
    mask = full_alpha(fixed, tee.shape)
    sleeve = tee[RIGHT_SLEEVE]
    assert (mask[RIGHT_SLEEVE] & sleeve).sum() > 0.9 * sleeve.sum()  # the whole sleeve, not only the stroke
    assert (mask[RIGHT_SLEEVE] & ~sleeve).sum() < 0.1 * sleeve.sum()  # and not the floor around it
    assert (mask[:, :200] == lost[:, :200]).all()  # far from the stroke nothing moved
    assert not fixed.needs_review and fixed.method == "repaired"


def test_a_remove_stroke_takes_a_hanger_away_and_keeps_the_garment():
    tee = tee_mask()
    hanger = np.zeros_like(tee)
    hanger[40:102, 236:246] = True  # a hook above the collar, included by the segmentation
    picture = np.array(photo(GARMENT, FLOOR))
    picture[hanger] = (120, 120, 125)
    current = tee | hanger
    remove = rasterize([Stroke(8, ((241, 45), (241, 95)))], tee.shape)

    fixed = repair(picture, current.astype(np.float32), np.zeros_like(remove), remove)
    mask = full_alpha(fixed, tee.shape)
    assert not (mask & hanger).any()
    assert (mask & tee).sum() > 0.99 * tee.sum()
    assert fixed.box[1] > 80  # the crop (collar at 100, minus the margin) no longer reaches up to the hook


def test_remove_wins_where_keep_and_remove_overlap():
    image = np.asarray(photo(GARMENT, FLOOR))
    tee = tee_mask()
    both = rasterize([Stroke(5, ((240, 300), (260, 300)))], tee.shape)
    fixed = repair(image, tee.astype(np.float32), both, both)
    assert not (full_alpha(fixed, tee.shape) & both).any()


def test_removing_everything_is_refused():
    image = np.asarray(photo(GARMENT, FLOOR))
    tee = tee_mask()
    remove = rasterize([Stroke(160, ((160, 80), (160, 600), (320, 600), (320, 80)))], tee.shape)
    with pytest.raises(RepairError, match="whole garment"):
        repair(image, tee.astype(np.float32), np.zeros_like(remove), remove)


def test_repair_is_deterministic_and_cropped_like_segment():
    image = np.asarray(photo(GARMENT, FLOOR))
    lost = tee_mask()
    lost[:, 345:] = False
    keep = rasterize([Stroke(6, ((360, 215), (395, 225)))], lost.shape)
    a = repair(image, lost.astype(np.float32), keep, np.zeros_like(keep), confidence=0.4)
    b = repair(image, lost.astype(np.float32), keep, np.zeros_like(keep), confidence=0.4)
    assert (a.alpha == b.alpha).all() and (a.rgb == b.rgb).all() and a.box == b.box
    x, y, w, h = a.box
    assert a.alpha.shape == a.rgb.shape[:2] == (h, w) and a.confidence == 0.4
    opaque = a.alpha == 255
    assert (a.rgb[opaque] == image[y : y + h, x : x + w][opaque]).all()  # a crop of the photo


def test_locate_finds_where_a_stored_cutout_sits_in_its_photo(easy_photo):
    cutout = segment(easy_photo)
    assert locate(np.asarray(easy_photo), cutout.rgb, cutout.alpha) == cutout.box[:2]


def test_locate_finds_a_crop_of_a_large_photo_at_full_resolution():
    big = np.asarray(photo(GARMENT, FLOOR).resize((1920, 2560), Image.Resampling.BILINEAR)).copy()
    rng = np.random.default_rng(1)
    big = np.clip(big.astype(np.int16) + rng.integers(-3, 4, big.shape), 0, 255).astype(np.uint8)
    x, y, w, h = 517, 389, 901, 1703
    alpha = np.zeros((h, w), np.uint8)
    alpha[100:-100, 100:-100] = 255
    alpha[99, 100:-100] = 128  # an edge row, decontaminated: its colours differ from the photo
    rgb = big[y : y + h, x : x + w].copy()
    rgb[99] = 0
    assert locate(big, rgb, alpha) == (x, y)


def test_locate_refuses_a_cutout_of_another_photo(easy_photo):
    cutout = segment(easy_photo)
    other = np.asarray(photo((160, 40, 40), (30, 30, 30), seed=5))
    with pytest.raises(RepairError, match="does not line up"):
        locate(other, cutout.rgb, cutout.alpha)


def test_rasterize_draws_round_brush_strokes():
    mask = rasterize([Stroke(3, ((10, 10), (30, 10))), Stroke(2, ((50, 50),))], (64, 64))
    assert mask[10, 10:31].all() and mask[13, 20] and not mask[14, 20]
    assert mask[50, 48:53].all() and not mask[50, 53]


def test_parse_strokes_reads_polylines_in_photo_pixels():
    strokes = parse_strokes(
        [{"radius": 4.4, "points": [[0, 0], [99.6, 50.2]]}], width=100, height=80, name="keep"
    )
    assert strokes == [Stroke(4, ((0, 0), (99, 50)))]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"radius": 3}, "keep: must be a list of strokes"),
        ([{"radius": 3, "points": [[1, 1]]}] * (MAX_STROKES + 1), f"at most {MAX_STROKES} strokes"),
        (["x"], r"keep\[0\]: must be"),
        ([{"radius": 3, "points": [[1, 1]], "colour": "red"}], r"keep\[0\]: must be"),
        ([{"radius": 0, "points": [[1, 1]]}], r"keep\[0\].radius: must be a number from 1 to 25"),
        ([{"radius": 26, "points": [[1, 1]]}], r"keep\[0\].radius"),
        ([{"radius": True, "points": [[1, 1]]}], r"keep\[0\].radius"),
        ([{"radius": "3", "points": [[1, 1]]}], r"keep\[0\].radius"),
        ([{"radius": 3, "points": []}], r"keep\[0\].points: must be a list of 1–"),
        ([{"radius": 3, "points": [[1, 1]] * (MAX_POINTS + 1)}], r"keep\[0\].points: must be a list"),
        ([{"radius": 3, "points": [[1, 1], [2]]}], r"keep\[0\].points\[1\]: must be \[x, y\]"),
        ([{"radius": 3, "points": [[1, float("nan")]]}], r"keep\[0\].points\[0\]: must be \[x, y\]"),
        ([{"radius": 3, "points": [[1e308 * 10, 1]]}], r"keep\[0\].points\[0\]: must be \[x, y\]"),
        ([{"radius": 3, "points": [[-1, 1]]}], r"keep\[0\].points\[0\]: x must be 0–100"),
        ([{"radius": 3, "points": [[1, 81]]}], r"keep\[0\].points\[0\]: y must be 0–80"),
        ([{"radius": 3, "points": [[None, 1]]}], r"must be \[x, y\]"),
    ],
)
def test_parse_strokes_names_what_is_wrong(value, message):
    with pytest.raises(StrokeError, match=message):
        parse_strokes(value, width=100, height=80, name="keep")


def test_check_total_wants_a_stroke_and_caps_the_points():
    with pytest.raises(StrokeError, match="at least one"):
        check_total([], [])
    many = [Stroke(2, ((1, 1),) * (MAX_POINTS // 2 + 1))]
    with pytest.raises(StrokeError, match="points in one repair"):
        check_total(many, many)
    check_total([Stroke(2, ((1, 1),))], [])
