from packshots.imaging import parse_colors
from packshots.imaging.colors import MATERIALS


def test_css_names_and_hex_codes_in_order():
    assert parse_colors("navy then #ff0000 and #0f0") == [(0, 0, 128), (255, 0, 0), (0, 255, 0)]


def test_material_words_read_as_their_surface_colour():
    assert parse_colors("on a Linen cloth over walnut") == [MATERIALS["linen"], MATERIALS["walnut"]]


def test_modifier_adjusts_only_the_next_colour():
    light, plain = parse_colors("light blue and blue")
    assert plain == (0, 0, 255) and light[0] > 100 and light[2] == 255


def test_dark_darkens_and_pastel_lightens():
    (dark,) = parse_colors("dark red")
    (pastel,) = parse_colors("pastel red")
    assert dark[0] < 255 * 0.6 and min(pastel) > 150


def test_off_white_is_one_colour():
    assert parse_colors("off-white studio") == [MATERIALS["offwhite"], MATERIALS["studio"]]


def test_text_without_colours_gives_an_empty_list():
    assert parse_colors("make it pop, but tasteful") == []
