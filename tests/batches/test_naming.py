"""The pure rules: naming templates, SKU patterns, grouping paths into SKUs."""

import pytest

from batches.naming import NamingError, group_by_sku, naming_errors, pattern_regex, render_name, sku_from_name


@pytest.mark.parametrize(
    "template", ["{sku}/{sku}_{style}_{variation}.{ext}", "{sku}_{instruction}_{variation}_v{version}.{ext}"]
)
def test_good_templates_pass(template):
    assert naming_errors(template) is None


@pytest.mark.parametrize(
    ("template", "why"),
    [
        ("", "Give a naming template"),
        ("{sku}_{variation}.{ext}", "{instruction or style}"),
        ("{style}_{variation}.{ext}", "{sku}"),
        ("{sku}_{style}.{ext}", "{variation}"),
        ("{sku}_{style}_{variation}.jpg", "must end with .{ext}"),
        ("{sku}_{colour}_{variation}.{ext}", "“{colour}” is not a field"),
        ("{sku.__class__}_{style}_{variation}.{ext}", "is not a field"),
        ("{sku!r}_{style}_{variation}.{ext}", "is not a field"),
        ("../{sku}_{style}_{variation}.{ext}", "no .. folders"),
        ("/{sku}_{style}_{variation}.{ext}", "no leading /"),
        ("{sku}//{style}_{variation}.{ext}", "empty folder name"),
        ("{sku_{style}_{variation}.{ext}", "unmatched brace"),
    ],
)
def test_bad_templates_say_why(template, why):
    assert why in (naming_errors(template) or "")


def test_rendered_names_cannot_escape_their_folder_whatever_the_sku():
    name = render_name(
        "{sku}/{sku}_{style}_{variation}.{ext}", sku="../a/b", style="x", variation=1, ext="jpg"
    )
    assert name == "_a_b/_a_b_x_1.jpg"


def test_a_pattern_finds_the_sku_in_file_names():
    regex = pattern_regex("{sku}_{anything}.jpg")
    assert sku_from_name(regex, "A-100_front.JPG") == "A-100"
    assert sku_from_name(regex, "A-100.jpg") is None
    assert sku_from_name(pattern_regex("{sku}-*"), "B7-back.png") == "B7"  # no extension: any


@pytest.mark.parametrize("pattern", ["", "no_sku_*.jpg", "{sku}_{sku}.jpg", "dir/{sku}.jpg", "{what}.jpg"])
def test_bad_patterns_are_refused(pattern):
    with pytest.raises(NamingError):
        pattern_regex(pattern)


def test_folders_group_by_their_first_folder_and_a_wrapper_folder_is_looked_through():
    skus, unplaced = group_by_sku(["shoot/A/1.jpg", "shoot/A/sub/2.jpg", "shoot/B/1.jpg", "shoot/loose.jpg"])
    assert skus == {"A": ["shoot/A/1.jpg", "shoot/A/sub/2.jpg"], "B": ["shoot/B/1.jpg"]}
    assert list(unplaced) == ["shoot/loose.jpg"]
    assert group_by_sku(["ONE/a.jpg", "ONE/b.jpg"])[0] == {"ONE": ["ONE/a.jpg", "ONE/b.jpg"]}
