"""Keyboard and screen readers: the wizard by keyboard, focus after swaps, skip link, labelled controls."""

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from packshots.models import Job
from tests import factories
from tests.browser.test_csp import csp_reports  # noqa: F401 (fixture)
from tests.views.gallery_jobs import finish_output, running_job

pytestmark = pytest.mark.browser

JOB_TIMEOUT = 60_000  # the local engine renders every output inside the "Start job" request


def tab_to(page: Page, target: Locator, limit: int = 80) -> None:
    """Press Tab until the target has focus, as a keyboard user would; fail if it is never reached."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return
    raise AssertionError(f"Tab never reached {target}")


def focused_inside(page: Page, selector: str) -> bool:
    """Whether focus lands inside the selector within a second (it moves once the swap has settled)."""
    # Not wait_for_function: it evaluates a string in the page, which the CSP forbids.
    for _ in range(20):
        if page.evaluate("s => !!document.activeElement.closest(s)", selector):
            return True
        page.wait_for_timeout(50)
    return False


def test_a_keyboard_user_goes_through_the_wizard_to_a_started_job(
    logged_in_page,
    member,
    team,
    garments,
    csp_reports,  # noqa: F811
):
    project = factories.make_project(team=team, user=member, name="Keyboard capsule")
    factories.make_preset(team=team, name="White 1K")
    page = logged_in_page(member)
    page.goto(project.get_absolute_url())

    tab_to(page, page.get_by_role("button", name="New job"))
    page.keyboard.press("Enter")
    step = page.locator("#wizard-photos")
    expect(step.get_by_role("heading", name=re.compile("Photos of one garment"))).to_be_visible()

    # Choosing files needs the OS dialog; everything else is the keyboard.
    step.locator("input[name=photos]").set_input_files(sorted(garments.glob("*.jpg"))[:1])
    tab_to(page, step.get_by_role("button", name="Upload"))
    page.keyboard.press("Enter")
    expect(step.get_by_text("1 of 10")).to_be_visible(timeout=30_000)
    assert focused_inside(page, "#wizard-photos"), "focus fell out of the photo step after the upload"

    tab_to(page, step.get_by_role("link", name="Next: instructions"))
    page.keyboard.press("Enter")
    step = page.locator("#wizard-instructions")
    tab_to(page, step.get_by_label("White 1K"))
    page.keyboard.press("Space")
    expect(step.get_by_label("White 1K")).to_be_checked()
    tab_to(page, step.get_by_role("button", name="Add selected presets"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Added 1 instruction.")).to_be_visible()
    assert focused_inside(page, "#messages, #wizard-instructions"), (
        "focus fell to the page top after the swap"
    )
    expect(page.locator("#total-outputs")).to_have_text("1")

    tab_to(page, page.get_by_role("link", name="Next: review"))
    page.keyboard.press("Enter")
    tab_to(page, page.get_by_role("button", name="Start job"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name=re.compile(r"^Job #\d+"))).to_be_visible(timeout=JOB_TIMEOUT)
    job = Job.objects.get(project=project)
    assert job.status != Job.Status.DRAFT
    assert page.url.endswith(job.get_absolute_url())
    assert csp_reports == []


def test_the_skip_link_is_the_first_stop_and_moves_focus_to_the_content(logged_in_page, member):
    page = logged_in_page(member)
    page.goto("/projects/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_an_invalid_instruction_moves_focus_to_its_error(logged_in_page, member, team):
    draft = factories.make_draft(team=team, user=member)
    page = logged_in_page(member)
    page.goto(f"/jobs/{draft.pk}/wizard/instructions/")
    form = page.locator("form.instruction-form")
    form.get_by_label("Variations").fill("99")
    tab_to(page, form.get_by_role("button", name="Add instruction"))
    page.keyboard.press("Enter")
    expect(page.locator("#wizard-instructions .error").first).to_be_visible()
    assert focused_inside(page, "[role=alert], .error-summary, .error"), "focus did not land on the error"


UNLABELLED = """() => [...document.querySelectorAll('input, select, textarea')]
  .filter(el => el.type !== 'hidden')
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                && !el.getAttribute('aria-labelledby'))
  .map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_on_the_main_pages_has_a_label(logged_in_page, member, team):
    project = factories.make_project(team=team, user=member)
    factories.make_preset(team=team)
    draft = factories.make_draft(
        team=team, user=member, project=project, instructions=[factories.WHITE_CUTOUT]
    )
    job = running_job(team=team, user=member, project=project)
    finish_output(job, 0, 0)
    page = logged_in_page(member)
    paths = [
        "/projects/",
        project.get_absolute_url(),
        f"/jobs/{draft.pk}/wizard/photos/",
        f"/jobs/{draft.pk}/wizard/instructions/",
        f"/jobs/{draft.pk}/wizard/review/",
        job.get_absolute_url(),
        "/presets/",
        "/presets/new/",
        "/jobs/",
        "/team/settings/",
    ]
    unlabelled = {}
    for path in paths:
        page.goto(path)
        found = page.evaluate(UNLABELLED)
        if found:
            unlabelled[path] = found
    assert not unlabelled, f"controls without a label: {unlabelled}"


def test_job_progress_is_copied_into_a_live_region(logged_in_page, member, team):
    job = running_job(team=team, user=member)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    live = page.locator(f"#job-{job.pk}-live")
    expect(live).to_have_attribute("aria-live", "polite")
    finish_output(job, 0, 0)
    expect(live).to_have_text(re.compile(r"1 of 2 outputs done"), timeout=15_000)


def test_removing_a_photo_asks_first_and_a_no_keeps_it(logged_in_page, member, team):
    draft = factories.make_draft(team=team, user=member, photos=2)
    page = logged_in_page(member)
    page.goto(f"/jobs/{draft.pk}/wizard/photos/")
    card = page.locator("figure.photo").filter(has_text="photo1.jpg")
    questions = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    card.get_by_role("button", name="Remove").click()
    page.wait_for_timeout(300)
    assert questions == ["Remove the photo photo1.jpg from this job?"]
    assert draft.uploads.count() == 2
    page.once("dialog", lambda dialog: answer(dialog, True))
    card.get_by_role("button", name="Remove").click()
    expect(page.locator("figure.photo").filter(has_text="photo1.jpg")).to_have_count(0)
    assert draft.uploads.count() == 1
