"""Marketplace compliance on synthetic images: each rule passes and fails, each profile can pass."""

import io

import numpy as np
import pytest
from PIL import Image, ImageCms, ImageDraw, ImageFilter

from packshots import compliance
from packshots import instructions as schema
from packshots.compliance import Profile, check, check_all, passes, product_box, targets

pytestmark = pytest.mark.pure

WHITE = (255, 255, 255)
RED = (180, 40, 40)


def scene(
    width: int,
    height: int,
    *,
    fill: float = 0.9,
    bg=WHITE,
    colour=RED,
    shadow: float = 0.0,
    mode: str = "RGB",
) -> Image.Image:
    """A product (a rectangle) centred on a plain background, its long extent `fill` of the frame."""
    pw, ph = round(width * fill * 0.7), round(height * fill)
    x0, y0 = (width - pw) // 2, (height - ph) // 2
    image = Image.new("RGB", (width, height), bg)
    if shadow:
        # A soft drop shadow: the product's shape, moved down and blurred, darkening the background.
        mask = Image.new("L", (width, height), 0)
        ImageDraw.Draw(mask).rectangle((x0, y0 + 0.04 * ph, x0 + pw, y0 + ph + 0.04 * ph), fill=255)
        mask = np.asarray(mask.filter(ImageFilter.GaussianBlur(0.04 * ph)), np.float32) / 255
        darker = np.asarray(image, np.float32) * (1 - shadow * mask[..., None])
        image = Image.fromarray(np.round(darker).astype(np.uint8))
    ImageDraw.Draw(image).rectangle((x0, y0, x0 + pw - 1, y0 + ph - 1), fill=colour)
    return image.convert(mode) if mode != "RGB" else image


def encoded(image: Image.Image, fmt: str = "JPEG", **params) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        params = {"quality": 92, "subsampling": 0, **params}
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def rule(results, name: str) -> compliance.RuleResult:
    (found,) = [r for r in results if r.rule == name]
    return found


def amazon_ok(**changes) -> Image.Image:
    return scene(1200, 1200, **changes)


# ---------------------------------------------------------------- every profile can pass


@pytest.mark.parametrize("key", list(compliance.PROFILES))
def test_an_image_made_to_the_profiles_targets_passes_every_rule(key):
    instruction = compliance.instruction_for({"style": "white_cutout"}, key)
    assert schema.validate_instruction(instruction) == {}
    width, height = schema.output_size(instruction)
    image = scene(width, height, fill=0.9)
    fmt = {"jpg": "JPEG", "png": "PNG"}[schema.output_format(instruction)]
    results = check(encoded(image, fmt), key)
    assert passes(results), [r for r in results if not r.passed]


def test_targets_give_what_an_instruction_asks_for():
    amazon = targets("amazon_main")
    assert (amazon["size"], amazon["ar"], amazon["format"], amazon["shadow"]) == ("2K", "1:1", "jpg", "none")
    assert amazon["fill"] == 0.85
    zalando = targets("zalando")
    assert zalando["height"] / zalando["width"] == pytest.approx(1.44)
    assert targets("about_you")["ar"] == "3:4"


def test_a_preset_aimed_at_a_profile_keeps_its_style_and_its_own_background():
    instruction = {
        "style": "ghost_mannequin",
        "background": "light grey",
        "options": {"size": "4K", "seed": 7},
    }
    aimed = compliance.instruction_for(instruction, "zalando")
    assert aimed["style"] == "ghost_mannequin" and aimed["background"] == "light grey"
    assert aimed["options"] == {"seed": 7, "width": 1400, "height": 2016, "format": "jpg"}
    assert "background" not in instruction["options"] and instruction["options"]["size"] == "4K"
    # A preset that names no background is asked for white (the local engine's grey default fails Zalando).
    assert compliance.instruction_for({"style": "ghost_mannequin"}, "zalando")["background"] == "white"


@pytest.mark.parametrize("key", list(compliance.PROFILES))
def test_no_shadow_is_every_profiles_default(key):
    assert compliance.instruction_for({"style": "white_cutout"}, key)["shadow"] == "none"
    assert compliance.instruction_for({"style": "white_cutout", "shadow": "auto"}, key)["shadow"] == "none"


def test_a_chosen_shadow_is_kept_unless_the_profile_needs_a_pure_white_frame():
    chosen = {"style": "white_cutout", "shadow": "contact"}
    assert compliance.instruction_for(chosen, "zalando")["shadow"] == "contact"
    assert compliance.instruction_for(chosen, "shopify")["shadow"] == "contact"
    assert compliance.instruction_for(chosen, "amazon_main")["shadow"] == "none"


def test_an_unknown_profile_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown marketplace profile 'ebay'"):
        check(encoded(amazon_ok()), "ebay")


def test_a_file_that_is_not_an_image_fails_with_one_plain_rule():
    assert check(b"not an image", "shopify") == [
        compliance.RuleResult("file", False, "cannot be read as an image (UnidentifiedImageError)")
    ]


def test_check_all_measures_every_chosen_profile():
    results = check_all(encoded(amazon_ok()), ["amazon_main", "google_shopping"])
    assert set(results) == {"amazon_main", "google_shopping"}
    assert passes(results["amazon_main"]) and passes(results["google_shopping"])


# ---------------------------------------------------------------- format


def test_webp_fails_amazons_format_rule():
    result = rule(check(encoded(amazon_ok(), "WEBP"), "amazon_main"), "format")
    assert not result.passed
    assert result.detail == "the file is WEBP; Amazon main image takes JPEG, PNG, TIFF or GIF"


def test_png_passes_amazon_but_fails_zalandos_jpg_only_rule():
    png = encoded(scene(1400, 2016), "PNG")
    assert rule(check(png, "amazon_main"), "format").passed
    zalando = rule(check(png, "zalando"), "format")
    assert not zalando.passed and "Zalando takes JPEG" in zalando.detail


def test_an_animated_gif_fails_amazon():
    frames = [amazon_ok().convert("P"), amazon_ok(colour=(40, 40, 180)).convert("P")]
    buffer = io.BytesIO()
    frames[0].save(buffer, "GIF", save_all=True, append_images=frames[1:])
    result = rule(check(buffer.getvalue(), "amazon_main"), "format")
    assert not result.passed and "animated (2 frames)" in result.detail
    assert rule(check(encoded(frames[0], "GIF"), "amazon_main"), "format").passed


# ---------------------------------------------------------------- colour mode


def test_a_cmyk_jpeg_fails_the_colour_rule():
    result = rule(check(encoded(amazon_ok(mode="CMYK")), "amazon_main"), "colour_mode")
    assert not result.passed and result.detail == "the colours are CMYK; save as RGB (sRGB)"


def test_an_embedded_profile_other_than_srgb_fails_and_srgb_passes():
    lab = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    failed = rule(check(encoded(amazon_ok(), icc_profile=lab), "shopify"), "colour_mode")
    assert not failed.passed and "'Lab identity built-in', not sRGB" in failed.detail
    assert rule(check(encoded(amazon_ok(), icc_profile=srgb), "shopify"), "colour_mode").passed


# ---------------------------------------------------------------- size and aspect ratio


def test_amazon_needs_1000_px_on_the_long_side():
    assert rule(check(encoded(scene(1000, 800)), "amazon_main"), "size").passed
    result = rule(check(encoded(scene(999, 800)), "amazon_main"), "size")
    assert not result.passed
    assert result.detail == "the long side is 999 px; Amazon main image asks for at least 1000 px"


def test_amazon_allows_at_most_10000_px_on_the_long_side():
    result = rule(check(encoded(scene(10_001, 64)), "amazon_main"), "size")
    assert not result.passed and "allows at most 10000 px" in result.detail


def test_zalandos_minimum_is_762_by_1100():
    assert rule(check(encoded(scene(762, 1100)), "zalando"), "size").passed
    result = rule(check(encoded(scene(760, 1094)), "zalando"), "size")
    assert not result.passed and result.detail == "760×1094 px is smaller than Zalando's minimum 762×1100 px"


def test_shopify_allows_at_most_5000_by_5000():
    result = rule(check(encoded(scene(5008, 400)), "shopify"), "size")
    assert not result.passed and "larger than Shopify's maximum 5000×5000 px" in result.detail


def test_a_pixel_count_limit_fails_above_it():
    small = Profile(key="tiny", name="Tiny", max_pixels=10_000)
    assert rule(check(encoded(scene(100, 100)), small), "size").passed
    assert not rule(check(encoded(scene(101, 100)), small), "size").passed


def test_zalando_asks_for_1_to_1_44_and_about_you_for_3_to_4():
    assert rule(check(encoded(scene(1801, 2600)), "zalando"), "aspect_ratio").passed
    result = rule(check(encoded(scene(1500, 2000)), "zalando"), "aspect_ratio")
    assert not result.passed and result.detail == "1500×2000 px is 1:1.33 (w:h); Zalando asks for 1:1.44"
    assert rule(check(encoded(scene(1500, 2000)), "about_you"), "aspect_ratio").passed
    wrong = rule(check(encoded(scene(2000, 2000)), "about_you"), "aspect_ratio")
    assert not wrong.passed and "ABOUT YOU asks for 3:4" in wrong.detail


# ---------------------------------------------------------------- file size and dpi


def test_about_you_allows_a_jpeg_of_at_most_2_mb():
    noise = Image.fromarray(np.random.default_rng(1).integers(0, 256, (2000, 1500, 3), np.uint8))
    result = rule(check(encoded(noise, quality=100), "about_you"), "file_size")
    assert not result.passed and "ABOUT YOU allows at most 2 MB for JPEG" in result.detail
    assert rule(check(encoded(scene(1500, 2000)), "about_you"), "file_size").passed


def test_a_stated_resolution_under_the_channels_dpi_fails():
    image = scene(1500, 2000)
    result = rule(check(encoded(image, dpi=(72, 72)), "about_you"), "dpi")
    assert not result.passed and result.detail == "the file says 72 dpi; ABOUT YOU asks for at least 96"
    assert rule(check(encoded(image, dpi=(300, 300)), "about_you"), "dpi").passed
    assert rule(check(encoded(image), "about_you"), "dpi").passed  # none stated: pixels count


# ---------------------------------------------------------------- background


def test_an_off_white_background_fails_amazons_pure_white():
    result = rule(check(encoded(amazon_ok(bg=(247, 247, 247))), "amazon_main"), "background")
    assert not result.passed
    assert result.detail.startswith("background is not pure white (RGB 255): 100% of the border is below")
    assert "mostly RGB 247,247,247" in result.detail


def test_pure_white_passes_amazon_even_with_the_product_touching_one_edge_pixel():
    image = amazon_ok()
    ImageDraw.Draw(image).rectangle((600, 0, 602, 5), fill=RED)
    assert rule(check(encoded(image), "amazon_main"), "background").passed


def test_transparency_fails_amazon_and_passes_about_you():
    image = scene(1500, 2000).convert("RGBA")
    pixels = np.asarray(image).copy()
    pixels[(pixels[..., :3] == 255).all(axis=2), 3] = 0
    png = encoded(Image.fromarray(pixels), "PNG")
    amazon = rule(check(png, "amazon_main"), "background")
    assert not amazon.passed and "transparent pixels" in amazon.detail
    about_you = rule(check(png, "about_you"), "background")
    assert about_you.passed and about_you.detail == "transparent"


def test_google_takes_light_neutral_grey_but_not_a_tint():
    assert rule(check(encoded(amazon_ok(bg=(236, 236, 236))), "google_shopping"), "background").passed
    result = rule(check(encoded(amazon_ok(bg=(250, 236, 205))), "google_shopping"), "background")
    assert not result.passed and "tinted" in result.detail


def test_zalando_takes_plain_white_but_not_grey():
    assert rule(check(encoded(scene(1400, 2016, bg=(244, 244, 244))), "zalando"), "background").passed
    assert not rule(check(encoded(scene(1400, 2016, bg=(200, 200, 200))), "zalando"), "background").passed


# ---------------------------------------------------------------- border


def test_google_refuses_a_border_drawn_around_the_picture():
    image = amazon_ok()
    ImageDraw.Draw(image).rectangle((0, 0, 1199, 1199), outline=(30, 30, 30), width=8)
    result = rule(check(encoded(image, "PNG"), "google_shopping"), "border")
    assert not result.passed and result.detail.startswith("the picture has a 8 px border")
    assert rule(check(encoded(amazon_ok()), "google_shopping"), "border").passed


# ---------------------------------------------------------------- fill ratio


def test_amazon_asks_the_product_to_fill_85_percent():
    assert rule(check(encoded(amazon_ok(fill=0.9)), "amazon_main"), "fill").passed
    result = rule(check(encoded(amazon_ok(fill=0.62)), "amazon_main"), "fill")
    assert not result.passed
    assert result.detail == (
        "the product fills 62% of the frame along its longest extent; Amazon main image asks for at least 85%"
    )


def test_an_empty_frame_fails_the_fill_rule():
    result = rule(check(encoded(Image.new("RGB", (1200, 1200), WHITE)), "amazon_main"), "fill")
    assert not result.passed and result.detail == "no product found against the background"


@pytest.mark.parametrize("colour", [RED, (128, 128, 128), (20, 20, 20), (236, 236, 236)])
def test_a_soft_shadow_does_not_count_as_product(colour):
    plain = product_box(np.asarray(scene(1600, 1600, fill=0.8, colour=colour)))
    shadowed = product_box(np.asarray(scene(1600, 1600, fill=0.8, colour=colour, shadow=0.45)))
    assert compliance.fill_ratio(plain) == pytest.approx(0.8, abs=0.01)
    assert compliance.fill_ratio(shadowed) == pytest.approx(0.8, abs=0.015)


def test_a_product_at_80_percent_with_a_shadow_still_fails_amazon():
    image = scene(1600, 1600, fill=0.8, shadow=0.45)
    assert not rule(check(encoded(image), "amazon_main"), "fill").passed


def test_the_fill_of_a_transparent_image_comes_from_its_alpha():
    pixels = np.zeros((1000, 1000, 4), np.uint8)
    pixels[100:900, 300:700] = (*RED, 255)
    assert product_box(pixels[..., :3], pixels[..., 3]) == pytest.approx((0.3, 0.1, 0.7, 0.9), abs=0.01)
