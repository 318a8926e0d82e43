"""The instruction form shows only the fields of the chosen style, size and lighting, in a real browser."""

import pytest
from playwright.sync_api import Browser, expect

from packshots.models import Preset
from tests import factories
from tests.browser.conftest import PASSWORD
from tests.browser.test_csp import csp_reports  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser


def test_switching_style_size_and_lighting_changes_the_fields_shown(
    logged_in_page,
    csp_reports,  # noqa: F811
    member,
    team,
):
    job = factories.make_draft(team=team, user=member, photos=1)
    page = logged_in_page(member)
    page.goto(f"/jobs/{job.pk}/wizard/instructions/")
    form = page.locator("#wizard-instructions form.instruction-form")
    surface, props, palette = (form.get_by_label(name) for name in ("Surface", "Props", "Color palette"))
    angle, width, height = form.get_by_label("Angle"), form.get_by_label("Width"), form.get_by_label("Height")

    # Flat lay (the first style): a surface, no props or palette, no angle (always top-down).
    expect(form.get_by_label("Style")).to_have_value("flat_lay")
    expect(surface).to_be_visible()
    for hidden in (props, palette, angle, width, height):
        expect(hidden).to_be_hidden()

    form.get_by_label("Style").select_option("marketing_ready")
    expect(surface).to_be_hidden()
    for shown in (props, palette, angle):
        expect(shown).to_be_visible()
    props.fill("a straw hat")

    # Leaving marketing-ready hides the props and says they will not be saved.
    form.get_by_label("Style").select_option("white_cutout")
    expect(props).to_be_hidden()
    expect(form.get_by_role("status")).to_have_text("Not saved with these choices (hidden): Props.")

    form.get_by_label("Size").select_option("custom")
    expect(width).to_be_visible()
    expect(form.get_by_label("Aspect ratio")).to_be_hidden()
    width.fill("1600")
    height.fill("2000")

    form.get_by_label("Lighting given").select_option("parts")
    expect(form.get_by_label("Lighting", exact=True)).to_be_visible()  # words may go with the parts
    form.get_by_label("Light direction").fill("from the left")
    form.get_by_label("Lighting given").select_option("text")
    expect(form.get_by_label("Light direction")).to_be_hidden()
    form.get_by_label("Lighting given").select_option("parts")

    form.get_by_role("button", name="Add instruction").click()
    step = page.locator("#wizard-instructions")
    expect(step.locator("tbody tr")).to_have_count(1)
    row = step.locator("tbody tr").first
    expect(row.locator("td").first).to_have_text("1")
    expect(row).to_contain_text("Shadow: Style default (contact)")
    job.refresh_from_db()
    assert job.instructions == [
        {
            "style": "white_cutout",
            "lighting": {"direction": "from the left"},
            "options": {"width": 1600, "height": 2000},
        }
    ]

    # The form swapped in by HTMX follows the same rules.
    form = page.locator("#wizard-instructions form.instruction-form")
    expect(form.get_by_label("Surface")).to_be_visible()
    expect(form.get_by_label("Props")).to_be_hidden()
    assert csp_reports == []


def test_preset_form_follows_the_style_too(
    logged_in_page,
    csp_reports,  # noqa: F811
    member,
    team,
):
    page = logged_in_page(member)
    page.goto("/presets/new/")
    form = page.locator("form.instruction-form")
    form.get_by_label("Name").fill("Oak flat lay")
    form.get_by_label("Surface").fill("oak")
    form.get_by_label("Style").select_option("ghost_mannequin")
    expect(form.get_by_label("Surface")).to_be_hidden()
    form.get_by_label("Style").select_option("flat_lay")
    expect(form.get_by_label("Surface")).to_have_value("oak")
    form.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("Preset “Oak flat lay” saved.")).to_be_visible()
    assert Preset.objects.get(team=team).instruction == {"style": "flat_lay", "surface": "oak"}
    assert csp_reports == []


HIDDEN_BUT_SHOWN = """() => [...document.querySelectorAll("[hidden]")]
    .filter((element) => getComputedStyle(element).display !== "none")
    .map((element) => element.outerHTML.slice(0, 80))"""


def test_what_the_style_switcher_hides_takes_no_room(logged_in_page, member, team):
    # .help { display:block } used to beat the hidden attribute: the emptied notice kept its place.
    job = factories.make_draft(team=team, user=member, photos=1)
    page = logged_in_page(member)
    page.goto(f"/jobs/{job.pk}/wizard/instructions/")
    form = page.locator("#wizard-instructions form.instruction-form")
    form.get_by_label("Style").select_option("marketing_ready")
    form.get_by_label("Props").fill("a straw hat")
    form.get_by_label("Style").select_option("white_cutout")
    notice = form.locator("[data-dropped-notice]")
    expect(notice).to_have_text("Not saved with these choices (hidden): Props.")
    form.get_by_label("Style").select_option("marketing_ready")
    expect(notice).to_have_attribute("hidden", "")
    assert notice.evaluate("(element) => getComputedStyle(element).display") == "none"
    assert page.evaluate(HIDDEN_BUT_SHOWN) == []


def test_lighting_in_words_and_parts_survives_saving_the_edit_form_unchanged(logged_in_page, member, team):
    instruction = {"style": "free", "lighting": {"text": "soft window light", "direction": "from the left"}}
    preset = factories.make_preset(team=team, name="Window", instruction=instruction)
    page = logged_in_page(member)
    page.goto(f"/presets/{preset.pk}/")
    form = page.locator("form.instruction-form")
    expect(form.get_by_label("Lighting", exact=True)).to_have_value("soft window light")
    expect(form.get_by_label("Light direction")).to_have_value("from the left")
    form.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("Preset “Window” saved.")).to_be_visible()
    preset.refresh_from_db()
    assert preset.instruction == instruction


def test_without_javascript_an_aspect_ratio_replaces_a_custom_size(
    browser: Browser, live_server, member, team
):
    custom = {"style": "free", "options": {"width": 1024, "height": 1536}}
    job = factories.make_draft(team=team, user=member, photos=1, instructions=[custom])
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto("/accounts/login/")
        page.locator("input[name=username]").fill(member.email)
        page.locator("input[name=password]").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(f"/jobs/{job.pk}/wizard/instructions/?edit=0")
        form = page.locator("form.instruction-form")
        expect(form.get_by_label("Width")).to_have_value("1024")  # shown and sent: no script hides it
        form.get_by_label("Size").select_option("2K")
        form.get_by_label("Aspect ratio").select_option("3:4")
        form.get_by_role("button", name="Save changes").click()
        expect(page.get_by_text("Updated 1 instruction.")).to_be_visible()
        expect(page.get_by_text("Width and Height were not used")).to_be_visible()
    finally:
        context.close()
    job.refresh_from_db()
    assert job.instructions == [{"style": "free", "options": {"size": "2K", "ar": "3:4"}}]
