"""The main pages on a 390 px phone: nothing scrolls sideways, and the header's controls are finger-sized."""

import pytest
from playwright.sync_api import Page

from tests import factories
from tests.views.gallery_jobs import finish_output, running_job

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def page_width(page: Page, path: str) -> int:
    response = page.goto(path)
    assert response is not None and response.ok, f"{path} answered {response and response.status}"
    page.wait_for_load_state("load")
    return page.evaluate("document.scrollingElement.scrollWidth")


def test_the_main_pages_fit_a_390_px_phone_without_horizontal_scrolling(logged_in_page, member, team):
    project = factories.make_project(
        team=team, user=member, name="Autumn capsule with a rather long project name for a phone"
    )
    factories.make_preset(team=team, name="White 1K square cutout for marketplaces")
    instructions = [{**factories.WHITE_CUTOUT, "num_variations": 2}]
    draft = factories.make_draft(team=team, user=member, project=project, instructions=instructions)
    job = running_job(team=team, user=member, project=project)
    finish_output(job, 0, 0)
    finish_output(job, 0, 1)
    page = logged_in_page(member)
    page.set_viewport_size(PHONE)
    paths = [
        "/projects/",
        project.get_absolute_url(),
        f"/jobs/{draft.pk}/wizard/photos/",
        f"/jobs/{draft.pk}/wizard/instructions/",
        f"/jobs/{draft.pk}/wizard/review/",
        job.get_absolute_url(),
        "/presets/",
        "/jobs/",
        "/jobs/?status=draft",
        "/team/settings/",
        f"/projects/{project.pk}/edit/",
        "/projects/?archived=1",
    ]
    widths = {path: page_width(page, path) for path in paths}
    too_wide = {path: width for path, width in widths.items() if width > PHONE["width"]}
    assert not too_wide, f"pages wider than 390 px: {too_wide}"


def test_the_header_links_and_buttons_are_at_least_44_px_tall_on_a_phone(logged_in_page, member):
    page = logged_in_page(member)
    page.set_viewport_size(PHONE)
    page.goto("/projects/")
    heights = page.eval_on_selector_all(
        ".topbar nav a, .topbar .account a, .topbar .account button, .topbar select",
        "els => els.map(e => [e.textContent.trim(), e.getBoundingClientRect().height])",
    )
    assert heights, "the header has no controls"
    small = [(text, h) for text, h in heights if h < 44]
    assert not small, f"header controls under 44 px: {small}"


SMALL_CONTROLS = """els => els
  .filter(e => e.getClientRects().length && !['checkbox', 'radio'].includes(e.type))
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => `${(e.textContent.trim() || e.name || e.type).slice(0, 30)}: ${e.offsetHeight}px`)"""


def test_buttons_and_fields_of_the_main_pages_are_44_px_tall_on_a_phone(logged_in_page, member, team):
    project = factories.make_project(team=team, user=member)
    factories.make_preset(team=team)
    instructions = [factories.WHITE_CUTOUT]
    draft = factories.make_draft(team=team, user=member, project=project, photos=2, instructions=instructions)
    job = running_job(team=team, user=member, project=project)
    finish_output(job, 0, 0)
    page = logged_in_page(member)
    page.set_viewport_size(PHONE)
    paths = [
        project.get_absolute_url(),
        f"/jobs/{draft.pk}/wizard/photos/",
        f"/jobs/{draft.pk}/wizard/instructions/",
        f"/jobs/{draft.pk}/wizard/review/",
        job.get_absolute_url(),
        "/presets/",
    ]
    small = {}
    for path in paths:
        page.goto(path)
        found = page.eval_on_selector_all("button, select, input:not([type=hidden]), .button", SMALL_CONTROLS)
        if found:
            small[path] = found
    assert not small, f"controls under 44 px: {small}"
