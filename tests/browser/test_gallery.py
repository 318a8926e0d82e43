"""The review gallery in a real browser: viewer and zoom, compare, approve, reject, regenerate, downloads."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from packshots.models import Job
from tests import factories
from tests.browser.test_csp import csp_reports  # noqa: F401 (fixture)
from tests.views.gallery_jobs import finish_output, running_job

pytestmark = pytest.mark.browser

JOB_TIMEOUT = 60_000


def rendered_job(team, member, variations: int = 2) -> Job:
    """A local job rendered for real (segmentation and 1K outputs), so regenerate works as in production."""
    instruction = {**factories.WHITE_CUTOUT, "num_variations": variations}
    project = factories.make_project(team=team, user=member, name="Summer Shirts")
    job = factories.make_draft(team=team, user=member, instructions=[instruction], project=project)
    return factories.start_job(job)


def card(page: Page, job: Job, variation: int):
    return page.locator(f"#job-{job.pk}-slot-0-{variation}")


def test_the_viewer_opens_zooms_to_100_percent_pans_and_follows_the_keyboard(
    logged_in_page,
    member,
    team,
    csp_reports,  # noqa: F811
):
    job = rendered_job(team, member)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    first = card(page, job, 0)
    first.get_by_role("img", name="output_0_0_v0.jpg").click()

    viewer = page.get_by_role("dialog")
    expect(viewer).to_be_visible()
    expect(viewer.get_by_role("heading", name="output_0_0_v0.jpg")).to_be_visible()
    expect(viewer.get_by_role("button", name="Close")).to_be_focused()
    facts = viewer.locator("#viewer-facts")
    expect(facts).to_contain_text("1024 × 1024 px")
    expect(facts).to_contain_text("JPG")
    expect(facts).to_contain_text("local")
    expect(facts).to_contain_text("v0")
    fitted = int(viewer.get_attribute("data-scale"))
    assert fitted < 100, "a 1024 px output should be fitted into the 900 px high window"

    viewer.get_by_role("button", name="100%").click()
    expect(page.locator("#viewer-scale")).to_have_text("100%")
    image = page.locator("#viewer-image")
    assert round(image.bounding_box()["width"]) == 1024  # one image pixel per screen pixel
    page.keyboard.press("+")
    expect(page.locator("#viewer-scale")).to_have_text("125%")

    before = image.bounding_box()
    box = page.locator("#viewer-viewport").bounding_box()
    page.mouse.move(box["x"] + 200, box["y"] + 200)
    page.mouse.down()
    page.mouse.move(box["x"] + 320, box["y"] + 260, steps=4)
    page.mouse.up()
    after = image.bounding_box()
    assert (round(after["x"] - before["x"]), round(after["y"] - before["y"])) == (120, 60)

    page.keyboard.press("ArrowRight")
    expect(viewer.get_by_role("heading", name="output_0_1_v0.jpg")).to_be_visible()
    page.keyboard.press("ArrowRight")  # wraps around
    expect(viewer.get_by_role("heading", name="output_0_0_v0.jpg")).to_be_visible()
    page.keyboard.press("ArrowLeft")
    expect(viewer.get_by_role("heading", name="output_0_1_v0.jpg")).to_be_visible()
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(card(page, job, 1).locator("a[data-viewer-open]")).to_be_focused()
    assert csp_reports == []


def test_before_and_after_share_one_zoom_and_the_slider_splits_them(logged_in_page, member, team):
    job = rendered_job(team, member, variations=1)
    upload = job.uploads.get()
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    card(page, job, 0).get_by_role("img").click()
    viewer = page.get_by_role("dialog")
    viewer.get_by_label("Compare with input").check()

    before = page.locator("#viewer-before")
    expect(before).to_be_visible()
    assert f"/uploads/{upload.pk}/original/" in before.get_attribute("src")
    expect(viewer.get_by_label("Input photo")).to_have_value(re.compile(rf"/uploads/{upload.pk}/original/"))
    page.locator("#viewer-split").fill("20")
    expect(page.locator("#viewer-image")).to_have_css("clip-path", "inset(0px 0px 0px 20%)")
    viewer.get_by_role("button", name="100%").click()
    page.keyboard.press("+")
    assert before.bounding_box() == page.locator("#viewer-image").bounding_box()  # same zoom, same place
    viewer.get_by_label("Compare with input").uncheck()
    expect(before).to_be_hidden()
    expect(page.locator("#viewer-image")).to_have_css("clip-path", "none")


def test_outputs_are_approved_and_rejected_one_by_one_a_selection_or_from_the_viewer(
    logged_in_page, member, team
):
    job = rendered_job(team, member, variations=3)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())

    first = card(page, job, 0)
    first.get_by_placeholder("Reason (optional)").fill("clean edges")
    first.get_by_role("button", name="Approve").click()
    expect(first).to_contain_text("Approved by")
    expect(first).to_contain_text("“clean edges”")
    expect(page.get_by_text("1 output approved.")).to_be_visible()

    card(page, job, 1).get_by_role("checkbox").check()
    card(page, job, 2).get_by_role("checkbox").check()
    page.locator(f"#job-{job.pk}-selection-reason").fill("wrong sleeve")
    page.get_by_role("button", name="Reject selected").click()
    expect(page.get_by_text("2 outputs rejected.")).to_be_visible()
    for variation in (1, 2):
        expect(card(page, job, variation)).to_contain_text("Rejected by")

    # From the viewer: the decision lands while the viewer stays open and shows it.
    card(page, job, 2).get_by_role("img").click()
    viewer = page.get_by_role("dialog")
    viewer.get_by_label("Reason (optional)").fill("on second look, fine")
    viewer.get_by_role("button", name="Approve").click()
    expect(viewer.locator("#viewer-facts")).to_contain_text("Approved by")
    expect(viewer).to_be_visible()
    expect(card(page, job, 2)).to_contain_text("“on second look, fine”")

    page.keyboard.press("Escape")
    page.get_by_label("Rejected", exact=True).check()  # the status filter
    expect(card(page, job, 1)).to_be_visible()
    expect(card(page, job, 0)).to_be_hidden()
    expect(card(page, job, 2)).to_be_hidden()
    assert sorted(job.results.values_list("variation_index", "review")) == [
        (0, "approved"),
        (1, "rejected"),
        (2, "approved"),
    ]


def test_one_output_is_regenerated_and_its_earlier_version_stays_viewable(logged_in_page, member, team):
    job = rendered_job(team, member)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    second = card(page, job, 1)
    second.get_by_role("button", name="Regenerate").click()
    expect(second.get_by_role("img", name="output_0_1_v1.jpg")).to_be_visible(timeout=JOB_TIMEOUT)
    expect(second.get_by_role("link", name="v0")).to_be_visible()
    expect(card(page, job, 0).get_by_role("img", name="output_0_0_v0.jpg")).to_be_visible()

    second.get_by_role("img").click()
    viewer = page.get_by_role("dialog")
    expect(viewer.locator("#viewer-facts")).to_contain_text("v1")
    viewer.get_by_role("button", name="v0", exact=True).click()
    old = job.results.get(variation_index=1, version=0)
    expect(page.locator("#viewer-image")).to_have_attribute("src", re.compile(rf"/results/{old.pk}/image/"))


def test_approved_outputs_download_as_a_zip_with_names_that_cannot_collide(logged_in_page, member, team):
    job = rendered_job(team, member)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    card(page, job, 1).get_by_role("button", name="Approve").click()
    download_link = page.get_by_role("link", name="Download approved (ZIP)")
    expect(download_link).to_be_visible()
    with page.expect_download() as bundle:
        download_link.click()
    assert bundle.value.suggested_filename == f"packshots_job_{job.pk}_approved.zip"
    with zipfile.ZipFile(io.BytesIO(Path(bundle.value.path()).read_bytes())) as archive:
        assert set(archive.namelist()) == {f"summer-shirts_{job.pk}_output_0_1_v0.jpg", "metadata.json"}

    # A selection, with PiktID's own names.
    card(page, job, 0).get_by_role("checkbox").check()
    form = page.locator(f"#job-{job.pk}-download")
    form.get_by_label("Outputs to download").select_option("selected")
    form.get_by_label("Keep PiktID's file names").check()
    with page.expect_download() as chosen:
        form.get_by_role("button", name="Download ZIP").click()
    with zipfile.ZipFile(io.BytesIO(Path(chosen.value.path()).read_bytes())) as archive:
        assert set(archive.namelist()) == {"output_0_0_v0.jpg", "metadata.json"}


def test_polls_add_finished_outputs_without_closing_the_viewer_or_losing_a_typed_reason(
    logged_in_page, member, team
):
    job = running_job(team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 3}])
    finish_output(job, 0, 0)
    page = logged_in_page(member)
    page.goto(job.get_absolute_url())
    expect(card(page, job, 1)).to_contain_text("Pending…")
    card(page, job, 0).get_by_role("img").click()
    viewer = page.get_by_role("dialog")
    viewer.get_by_role("button", name="100%").click()

    finish_output(job, 0, 1)
    expect(card(page, job, 1).get_by_role("img", name="output_0_1_v0.jpg")).to_be_attached(timeout=15_000)
    expect(page.locator(f"#job-{job.pk}-status")).to_contain_text("2 of 3 outputs done")
    expect(viewer).to_be_visible()
    expect(page.locator("#viewer-scale")).to_have_text("100%")
    page.keyboard.press("ArrowRight")  # the new card is in the viewer's round at once
    expect(viewer.get_by_role("heading", name="output_0_1_v0.jpg")).to_be_visible()
