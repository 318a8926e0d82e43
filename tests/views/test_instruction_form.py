"""The style-aware instruction form (wizard, preset form) and the instruction list, via the test client."""

import json
import re

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from packshots.models import Job, Preset
from tests import factories

HX = {"HX-Request": "true"}


def post_custom(client, job, **fields):
    data = {"action": "custom", "custom-num_variations": "1"}
    data.update({f"custom-{name}": value for name, value in fields.items()})
    return client.post(reverse("packshots:wizard-instructions", args=[job.pk]), data, headers=HX)


def post_preset(client, **fields):
    data = {"name": "Look", "num_variations": "1", **fields}
    return client.post(reverse("packshots:preset-create"), data)


def field_errors(response, name: str) -> list[str]:
    return re.findall(rf'<p class="error" data-field="{name}">([^<]*)</p>', response.text)


@pytest.mark.parametrize(
    ("style", "field", "value", "expected"),
    [
        ("ghost_mannequin", "surface", "linen", "Surface applies only to Flat lay"),
        ("white_cutout", "props", "a straw hat", "Props applies only to Marketing ready"),
        ("flat_lay", "color_palette", "earth tones", "Color palette applies only to Marketing ready"),
        ("flat_lay", "angle", "front", "Angle is set by this style"),
    ],
)
def test_a_field_that_does_not_apply_to_the_style_is_refused_next_to_it_in_the_wizard(
    member_client, team, style, field, value, expected
):
    job = factories.make_draft(team=team)
    response = post_custom(member_client, job, style=style, **{field: value})
    assert response.status_code == 200
    assert any(expected in error for error in field_errors(response, field)), response.text
    job.refresh_from_db()
    assert job.instructions == []


def test_the_preset_form_refuses_a_field_of_another_style_in_the_same_words(member_client, team):
    response = post_preset(member_client, style="ghost_mannequin", surface="oak", props="a chair")
    assert response.status_code == 200
    assert field_errors(response, "surface") == [
        "Surface applies only to Flat lay: clear it or choose that style."
    ]
    assert field_errors(response, "props") == [
        "Props applies only to Marketing ready: clear it or choose that style."
    ]
    assert not Preset.objects.exists()


def test_fields_of_the_chosen_style_are_stored(member_client, team):
    job = factories.make_draft(team=team)
    post_custom(member_client, job, style="flat_lay", surface="oak", angle="top_down")
    post_custom(member_client, job, style="marketing_ready", props="a chair", color_palette="earth tones")
    job.refresh_from_db()
    assert job.instructions == [
        {"style": "flat_lay", "surface": "oak", "angle": "top_down"},
        {"style": "marketing_ready", "color_palette": "earth tones", "props": "a chair"},
    ]


SURFACE_ERROR = "Surface applies only to Flat lay: clear it or choose that style."


@pytest.mark.parametrize("value", ["oak", 3, {"text": "oak"}, {"image": "file_1"}, ["oak"]], ids=repr)
@pytest.mark.parametrize("where", ["wizard", "import"])
def test_json_refuses_a_surface_outside_flat_lay_whatever_its_value(member_client, team, where, value):
    # Text used to be refused by the form only, and anything else went through: the same message now.
    job = factories.make_draft(team=team)
    document = [{"style": "free"}, {"style": "ghost_mannequin", "surface": value}]
    if where == "wizard":
        url, data = reverse("packshots:wizard-instructions", args=[job.pk]), {"action": "json"}
        data["json-json_text"] = json.dumps(document)
    else:
        url, data = reverse("packshots:preset-import"), {"json_text": json.dumps(document)}
    response = member_client.post(url, data, headers=HX)
    assert f"instruction #2, surface: {SURFACE_ERROR}" in response.text
    job.refresh_from_db()
    assert job.instructions == [] and not Preset.objects.exists()


def test_the_cli_instructions_file_refuses_a_field_of_another_style(team, member, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "front.jpg").write_bytes(factories.photo_bytes())
    document = tmp_path / "instructions.json"
    document.write_text(
        json.dumps([{"style": "flat_lay"}, {"style": "white_cutout", "surface": {"image": "f"}}])
    )
    with pytest.raises(CommandError) as info:
        call_command(
            "create_packshot", "--input-folder", str(tmp_path / "in"), "--instructions-file", str(document)
        )
    assert str(info.value) == f"instruction #2, surface: {SURFACE_ERROR}"
    assert not Job.objects.exists()


def test_editing_keeps_no_unseen_value_of_another_style_and_says_so(member_client, team):
    # An image or a Design Value index shows in no field: changing the style drops it, with a word.
    job = factories.make_draft(team=team, instructions=[{"style": "flat_lay", "surface": {"image": "f1"}}])
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    page = member_client.get(url + "?edit=0").text
    assert re.search(r'name="custom-surface"[^>]*data-holds="an image"', page)
    data = {"action": "custom", "custom-replace": "0", "custom-style": "ghost_mannequin"}
    response = member_client.post(url, {**data, "custom-num_variations": "1"}, headers=HX)
    assert "Updated 1 instruction." in response.text
    assert "Surface (an image) was not kept: it applies only to Flat lay." in response.text
    job.refresh_from_db()
    assert job.instructions == [{"style": "ghost_mannequin"}]


def test_each_conditional_field_names_what_it_depends_on_for_the_page_script(member_client, team):
    job = factories.make_draft(team=team)
    page = member_client.get(reverse("packshots:wizard-instructions", args=[job.pk])).text
    assert re.search(r'name="custom-surface"[^>]*data-when="custom-style=flat_lay"', page)
    assert re.search(r'name="custom-props"[^>]*data-when="custom-style=marketing_ready"', page)
    assert re.search(r'name="custom-color_palette"[^>]*data-when="custom-style=marketing_ready"', page)
    assert re.search(r'name="custom-width"[^>]*data-when="custom-size=custom"', page)
    assert re.search(r'name="custom-height"[^>]*data-when="custom-size=custom"', page)
    assert re.search(r'name="custom-lighting_direction"[^>]*data-when="custom-lighting_mode=parts"', page)
    assert not re.search(r'name="custom-background"[^>]*data-when', page)
    assert 'src="/static/js/instructions.js"' in page
    preset_page = member_client.get(reverse("packshots:preset-create")).text
    assert re.search(r'name="surface"[^>]*data-when="style=flat_lay"', preset_page)
    assert 'src="/static/js/instructions.js"' in preset_page


def test_custom_size_stores_width_and_height_only(member_client, team):
    job = factories.make_draft(team=team)
    post_custom(member_client, job, style="free", size="custom", width="1600", height="2000", format="png")
    job.refresh_from_db()
    assert job.instructions == [
        {"style": "free", "options": {"format": "png", "width": 1600, "height": 2000}}
    ]


@pytest.mark.parametrize(
    ("fields", "field", "expected"),
    [
        ({"size": "custom"}, "width", "Enter a width and a height for a custom size"),
        # Without a Size field (a script) width and height mean a custom size: an aspect ratio contradicts it.
        ({"width": "1600", "height": "2000", "ar": "3:4"}, "ar", "sets its own aspect"),
    ],
)
def test_custom_size_fields_apply_only_to_a_custom_size(member_client, team, fields, field, expected):
    job = factories.make_draft(team=team)
    response = post_custom(member_client, job, style="free", **fields)
    assert any(expected in error for error in field_errors(response, field)), response.text
    job.refresh_from_db()
    assert job.instructions == []


def test_width_and_height_without_a_size_are_a_custom_size(member_client, team):
    # What a script sends (a page always sends its Size choice).
    job = factories.make_draft(team=team)
    post_custom(member_client, job, style="free", width="1024", height="1536")
    job.refresh_from_db()
    assert job.instructions == [{"style": "free", "options": {"width": 1024, "height": 1536}}]


def test_editing_a_custom_size_shows_the_custom_choice(member_client, team):
    custom = {"style": "free", "options": {"width": 1024, "height": 1536}}
    job = factories.make_draft(team=team, instructions=[custom])
    page = member_client.get(reverse("packshots:wizard-instructions", args=[job.pk]) + "?edit=0").text
    assert '<option value="custom" selected>' in page and 'value="1536"' in page


def test_lighting_is_either_text_or_direction_quality_complexity(member_client, team):
    job = factories.make_draft(team=team)
    post_custom(member_client, job, style="free", lighting_mode="text", lighting="soft window light")
    post_custom(
        member_client,
        job,
        style="free",
        lighting_mode="parts",
        lighting_direction="from the left",
        lighting_quality="soft",
    )
    response = post_custom(
        member_client, job, style="free", lighting_mode="text", lighting="hard", lighting_quality="soft"
    )
    assert field_errors(response, "lighting_quality") == [
        "Light quality is used only when lighting is given “Direction, quality, complexity”: "
        "change that choice, or clear it."
    ]
    job.refresh_from_db()
    assert [i["lighting"] for i in job.instructions] == [
        "soft window light",
        {"direction": "from the left", "quality": "soft"},
    ]


def test_editing_lighting_parts_shows_them_and_keeps_them(member_client, team):
    preset = factories.make_preset(
        team=team, instruction={"style": "free", "lighting": {"direction": "left", "complexity": "simple"}}
    )
    url = reverse("packshots:preset-edit", args=[preset.pk])
    page = member_client.get(url).text
    assert '<option value="parts" selected>' in page
    assert re.search(r'name="lighting_direction" value="left"', page)
    data = {
        "name": preset.name,
        "style": "free",
        "lighting_mode": "parts",
        "lighting_direction": "left",
        "lighting_complexity": "two lights",
        "num_variations": "1",
    }
    member_client.post(url, data)
    preset.refresh_from_db()
    assert preset.instruction == {
        "style": "free",
        "lighting": {"direction": "left", "complexity": "two lights"},
    }


def test_style_default_is_offered_once_and_auto_means_the_same(member_client, team):
    job = factories.make_draft(team=team, instructions=[{"style": "white_cutout", "shadow": "auto"}])
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    page = member_client.get(url + "?edit=0").text
    shadow = re.search(r'<select name="custom-shadow".*?</select>', page, re.S).group()
    assert re.findall(r"<option[^>]*>([^<]*)</option>", shadow) == [
        "Style default",
        "None",
        "Contact",
        "Soft drop",
        "Natural",
    ]
    assert '<option value="" selected>Style default</option>' in shadow
    # A page opened before still posts "auto": stored as the style default, i.e. no shadow key.
    post_custom(member_client, job, style="ghost_mannequin", shadow="auto")
    job.refresh_from_db()
    assert job.instructions[1] == {"style": "ghost_mannequin"}
    framing = re.search(r'<select name="custom-framing".*?</select>', page, re.S).group()
    assert "Style default</option>" in framing


def test_instruction_list_numbers_rows_from_one_and_names_the_preset_and_scene(member_client, team):
    preset = factories.make_preset(
        team=team, name="Oak flat lay", instruction={"style": "flat_lay", "surface": "oak"}
    )
    job = factories.make_draft(team=team)
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    member_client.post(url, {"action": "presets", "pick-presets": [preset.pk]}, headers=HX)
    post_custom(member_client, job, style="white_cutout", background="pale grey", shadow="none")
    rows = [_row_text(row) for row in _rows(member_client.get(url).text)]
    assert rows[0].startswith("1 Flat lay") and "Preset: Oak flat lay" in rows[0]
    assert "Background: Style default" in rows[0] and "Surface: oak" in rows[0]
    assert "Shadow: Style default (natural)" in rows[0]
    assert rows[1].startswith("2 White cutout") and "Preset:" not in rows[1]
    assert "Background: pale grey" in rows[1] and "Shadow: None" in rows[1] and "Surface" not in rows[1]

    review = member_client.get(reverse("packshots:wizard-review", args=[job.pk])).text
    assert [_row_text(row)[:1] for row in _rows(review)] == ["1", "2"]
    Job.objects.filter(pk=job.pk).update(status=Job.Status.COMPLETED)
    job_page = member_client.get(job.get_absolute_url()).text
    assert "Preset: Oak flat lay" in job_page and "Shadow: Style default (natural)" in job_page


def _rows(page: str) -> list[str]:
    table = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return re.findall(r"<tr>(.*?)</tr>", table, re.S)


def _row_text(row: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", row).split())


def test_photo_picker_offers_heic_and_heif(member_client, team):
    job = factories.make_draft(team=team, photos=0)
    page = member_client.get(reverse("packshots:wizard-photos", args=[job.pk])).text
    accept = re.search(r'<input type="file" name="photos"[^>]*accept="([^"]*)"', page).group(1).split(",")
    assert {"image/heic", "image/heif", ".heic", ".heif", "image/jpeg", "image/png", "image/webp"} <= set(
        accept
    )


def test_editing_a_flat_lay_leaves_its_forced_angle_out_of_the_form(member_client, team):
    job = factories.make_draft(team=team, instructions=[{"style": "flat_lay", "surface": "oak"}])
    assert job.instructions[0]["angle"] == "top_down"  # stored normalised
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    page = member_client.get(url + "?edit=0").text
    angle = re.search(r'<select name="custom-angle".*?</select>', page, re.S).group()
    assert '<option value="" selected>Style default</option>' in angle
    data = {"action": "custom", "custom-replace": "0", "custom-style": "flat_lay", "custom-surface": "linen"}
    response = member_client.post(url, {**data, "custom-num_variations": "1"}, headers=HX)
    assert "Updated 1 instruction." in response.text
    job.refresh_from_db()
    assert job.instructions == [{"style": "flat_lay", "surface": "linen", "angle": "top_down"}]


def test_preset_list_shows_background_surface_and_shadow(member_client, team):
    factories.make_preset(
        team=team, name="Oak", instruction={"style": "flat_lay", "surface": "oak", "shadow": "auto"}
    )
    page = member_client.get(reverse("packshots:preset-list")).text
    row = _row_text(_rows(page)[0])
    assert "Background: Style default" in row and "Surface: oak" in row
    assert "Shadow: Style default (natural)" in row


# ---------------------------------------------------------------- what a browser sends back, unchanged


def form_data(page: str, *, script: bool) -> dict:
    """The fields of the page's instruction form as a browser submits them untouched.

    With the script (static/js/instructions.js) a field whose data-when does not hold is disabled, so not
    sent; without it every field is sent.
    """
    form = re.search(r'<form[^>]*class="instruction-form".*?</form>', page, re.S).group()
    controls = {}
    for tag in re.findall(r"<input[^>]*>|<select.*?</select>|<textarea.*?</textarea>", form, re.S):
        name = re.search(r'name="([^"]+)"', tag).group(1)
        if tag.startswith("<select"):
            selected = re.search(r'<option value="([^"]*)"[^>]*selected', tag)
            first = re.search(r'<option value="([^"]*)"', tag)
            value = (selected or first).group(1)
        elif tag.startswith("<textarea"):
            value = re.search(r">(.*)</textarea>", tag, re.S).group(1).strip()
        elif 'type="checkbox"' in tag or 'type="radio"' in tag or 'type="file"' in tag:
            continue
        else:
            value = (re.search(r'value="([^"]*)"', tag) or re.search("()", tag)).group(1)
        controls[name] = (value, re.search(r'data-when="([^"]+)"', tag))
    data = {name: value for name, (value, _) in controls.items()}
    if script:
        for name, (_, when) in controls.items():
            if when:
                decider, values = when.group(1).split("=")
                if data.get(decider, "") not in values.split("|"):
                    data.pop(name)
    return {name: value.replace("&amp;", "&") for name, value in data.items()}


LIGHTINGS = [
    "soft window light",
    {"direction": "from the left", "quality": "soft"},
    {"text": "soft window light", "direction": "from the left"},
    {"text": "soft", "image": "file_1", "complexity": "one key light"},
    4,
]


@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
@pytest.mark.parametrize("lighting", LIGHTINGS, ids=repr)
def test_lighting_in_either_form_survives_an_unchanged_edit(member_client, team, lighting, script):
    instruction = {"style": "free", "lighting": lighting}
    preset = factories.make_preset(team=team, instruction=instruction)
    url = reverse("packshots:preset-edit", args=[preset.pk])
    response = member_client.post(url, form_data(member_client.get(url).text, script=script))
    assert response.status_code == 302, re.findall(r'<p class="error"[^>]*>([^<]*)</p>', response.text)
    preset.refresh_from_db()
    assert preset.instruction == instruction

    job = factories.make_draft(team=team, instructions=[instruction])
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    data = form_data(member_client.get(url + "?edit=0").text, script=script)
    response = member_client.post(url, {**data, "action": "custom"}, headers=HX)
    assert "Updated 1 instruction." in response.text
    job.refresh_from_db()
    assert job.instructions == [instruction]


def test_lighting_text_goes_with_the_parts_and_parts_without_their_mode_are_refused(member_client, team):
    job = factories.make_draft(team=team)
    parts = {"lighting_direction": "from the left", "lighting_quality": "soft"}
    post_custom(member_client, job, style="free", lighting_mode="parts", lighting="warm", **parts)
    response = post_custom(member_client, job, style="free", lighting_mode="text", lighting="warm", **parts)
    assert len(field_errors(response, "lighting_direction")) == 1
    job.refresh_from_db()
    assert job.instructions == [
        {"style": "free", "lighting": {"text": "warm", "direction": "from the left", "quality": "soft"}}
    ]
    page = member_client.get(reverse("packshots:wizard-instructions", args=[job.pk])).text
    assert not re.search(r'name="custom-lighting"[^>]*data-when', page)  # the text applies in both modes


# ---------------------------------------------------------------- the size fields without the page's script


def test_without_the_script_a_size_tier_sets_aside_the_custom_width_and_height(member_client, team):
    # An edited custom size: the user picks 2K and 3:4; the width and height fields still hold their values.
    job = factories.make_draft(
        team=team, instructions=[{"style": "free", "options": {"width": 1024, "height": 1536}}]
    )
    url = reverse("packshots:wizard-instructions", args=[job.pk])
    data = {**form_data(member_client.get(url + "?edit=0").text, script=False), "action": "custom"}
    assert (data["custom-width"], data["custom-height"]) == ("1024", "1536")
    response = member_client.post(url, {**data, "custom-size": "2K", "custom-ar": "3:4"}, headers=HX)
    assert "Updated 1 instruction." in response.text
    assert "Width and Height were not used: they are only for Size “Custom width × height”." in response.text
    job.refresh_from_db()
    assert job.instructions == [{"style": "free", "options": {"size": "2K", "ar": "3:4"}}]


def test_set_aside_size_fields_come_back_cleared_when_something_else_is_wrong(member_client, team):
    job = factories.make_draft(team=team)
    response = post_custom(
        member_client, job, style="free", size="", ar="3:4", width="1600", height="abc", num_variations="0"
    )
    assert field_errors(response, "num_variations") and not field_errors(response, "height")
    assert re.search(r'name="custom-width"(?![^>]*value=)[^>]*>', response.text)
    assert '<option value="3:4" selected>' in response.text


def test_without_the_script_a_custom_size_sets_aside_an_earlier_aspect_ratio(member_client, team):
    job = factories.make_draft(team=team)
    response = post_custom(
        member_client, job, style="free", size="custom", width="1600", height="2000", ar="3:4"
    )
    assert "Aspect ratio was not used: a custom size sets its own aspect ratio." in response.text
    job.refresh_from_db()
    assert job.instructions == [{"style": "free", "options": {"width": 1600, "height": 2000}}]


def test_the_preset_form_sets_aside_size_fields_the_same_way(member_client, team):
    data = {
        "name": "Look",
        "num_variations": "1",
        "style": "free",
        "size": "4K",
        "width": "1600",
        "height": "2000",
    }
    response = member_client.post(reverse("packshots:preset-create"), data, follow=True)
    assert "Width and Height were not used" in response.text
    assert Preset.objects.get().instruction == {"style": "free", "options": {"size": "4K"}}
