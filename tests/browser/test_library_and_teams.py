"""The preset library and team switching, through a real browser."""

import json

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from packshots.models import Preset
from tests import factories

pytestmark = pytest.mark.browser


def test_member_builds_the_team_library_and_exports_it(logged_in_page, member, team, tmp_path):
    page = logged_in_page(member)
    page.get_by_role("link", name="Presets").click()
    page.get_by_role("link", name="New preset").click()
    page.get_by_label("Name").fill("Zalando white")
    page.get_by_label("Categories").fill("Marketplace, Zalando")
    page.get_by_label("Style").select_option("white_cutout")
    page.get_by_label("Variations").fill("9")
    page.get_by_role("button", name="Save preset").click()
    expect(page.locator("#field-num_variations .error")).to_have_text("must be 1–8")
    page.get_by_label("Variations").fill("2")
    page.get_by_label("Size").select_option("2K")
    page.get_by_role("button", name="Save preset").click()
    expect(page.get_by_text("Preset “Zalando white” saved.")).to_be_visible()
    expect(page.get_by_role("row", name="Zalando white")).to_contain_text("White cutout")

    document = json.dumps([{"style": "flat_lay", "surface": "oak", "preset_name": "Oak flat lay"}])
    page.get_by_label("Instructions JSON").fill(document)
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported 1 preset.")).to_be_visible()
    page.get_by_role("link", name="Zalando", exact=True).click()  # category filter
    expect(page.get_by_role("row", name="Oak flat lay")).to_have_count(0)

    with page.expect_download() as info:
        page.get_by_role("link", name="Export JSON").click()
    exported = json.loads(info.value.path().read_text())
    assert {item["preset_name"] for item in exported} == {"Zalando white", "Oak flat lay"}
    assert Preset.objects.get(name="Zalando white").instruction == {
        "style": "white_cutout",
        "num_variations": 2,
        "options": {"size": "2K"},
    }


def test_user_in_two_teams_switches_and_sees_only_that_teams_projects(
    logged_in_page, member, team, other_team
):
    Membership.objects.create(user=member, team=other_team, role="viewer")
    factories.make_project(team=team, user=member, name="Alpha spring")
    factories.make_project(team=other_team, user=member, name="Bravo winter")
    page = logged_in_page(member)
    expect(page.get_by_role("link", name="Alpha spring")).to_be_visible()
    expect(page.get_by_role("link", name="Bravo winter")).to_have_count(0)
    page.get_by_label("Team").select_option(label="Bravo (Viewer)")
    expect(page.get_by_text("Now working in Bravo.")).to_be_visible()
    expect(page.get_by_role("link", name="Bravo winter")).to_be_visible()
    expect(page.get_by_role("link", name="Alpha spring")).to_have_count(0)
    expect(page.get_by_role("heading", name="New project")).to_have_count(0)  # a viewer there
