"""The main flows, driven through a real browser against the live server."""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from packshots.models import Job
from tests import factories

pytestmark = pytest.mark.browser

JOB_TIMEOUT = 60_000  # the local engine renders every output inside the "Start job" request


def open_new_job(page: Page, project_name: str) -> None:
    page.goto("/projects/")
    page.get_by_role("link", name=project_name).click()
    page.get_by_role("button", name="New job").click()
    expect(page.get_by_role("heading", name=re.compile(r"Photos of one garment"))).to_be_visible()


def test_member_turns_photos_into_packshots_end_to_end(logged_in_page, member, team, garments):
    factories.make_preset(team=team, name="White 1K")
    photos = sorted(garments.glob("*.jpg"))[:2]
    page = logged_in_page(member)

    # Projects page: create a project.
    page.get_by_role("link", name="Projects").click()
    page.get_by_label("Name").fill("Autumn capsule")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name="Autumn capsule")).to_be_visible()
    expect(page.get_by_text("Project “Autumn capsule” created.")).to_be_visible()

    # Step 1: two photos in one upload, then a note on one of them.
    page.get_by_role("button", name="New job").click()
    step = page.locator("#wizard-photos")
    step.locator("input[name=photos]").set_input_files(photos)
    step.get_by_role("button", name="Upload").click()
    expect(step.get_by_text("2 of 10")).to_be_visible(timeout=30_000)
    for photo in photos:
        expect(step.get_by_role("img", name=photo.name)).to_be_visible()
    card = step.locator("figure.photo").filter(has_text=photos[1].name)
    note = card.get_by_placeholder("Note, e.g. back view")
    note.fill("back view")
    with page.expect_response(lambda r: "/note/" in r.url and r.ok):
        note.press("Tab")  # the note saves on change (HTMX), when the user leaves the field
    page.reload()
    saved_note = (
        step.locator("figure.photo")
        .filter(has_text=photos[1].name)
        .get_by_placeholder("Note, e.g. back view")
    )
    expect(saved_note, "the photo note typed in the card was not saved").to_have_value("back view")

    # Step 2: a team preset and a custom instruction.
    step.get_by_role("link", name="Next: instructions").click()
    step = page.locator("#wizard-instructions")
    expect(step.get_by_text("No instructions yet")).to_be_visible()
    step.get_by_label("White 1K").check()
    step.get_by_role("button", name="Add selected presets").click()
    expect(page.get_by_text("Added 1 instruction.")).to_be_visible()
    expect(step.locator("#total-outputs")).to_have_text("1")
    custom = step.locator("form.instruction-form")
    custom.get_by_label("Style").select_option("flat_lay")
    custom.get_by_label("Variations").fill("2")
    custom.get_by_role("button", name="Add instruction").click()
    expect(step.locator("#total-outputs")).to_have_text("3")
    expect(step.locator("tbody tr")).to_have_count(2)

    # Step 3: review shows 1 + 2 outputs at 3 credits each (1K).
    step.get_by_role("link", name="Next: review").click()
    expect(page.locator("#review-outputs")).to_have_text("3")
    expect(page.locator("#review-credits")).to_have_text("9 credits")
    expect(page.get_by_text(re.compile(r"from\s+2\s+photos"))).to_be_visible()
    expect(page.get_by_role("heading", name="Job options")).to_be_visible()
    page.get_by_role("button", name="Start job").click(timeout=JOB_TIMEOUT)

    # The job page: completed, three results, downloads.
    page.wait_for_url(re.compile(r"/jobs/\d+/$"), timeout=JOB_TIMEOUT)
    progress = page.locator("section[id$=-progress]")
    # Real photos: the local engine may flag a cutout for review; the job then says so, not "Completed".
    finished = re.compile("Completed|Needs review")
    expect(progress.locator(".status")).to_have_text(finished, timeout=JOB_TIMEOUT)
    results = progress.locator("figure.result-completed img")
    expect(results).to_have_count(3, timeout=JOB_TIMEOUT)
    for name in ("output_0_0_v0.jpg", "output_1_0_v0.jpg", "output_1_1_v0.jpg"):
        expect(progress.get_by_role("img", name=name)).to_be_visible()
    expect(page.get_by_text("“back view”")).to_be_visible()
    page.screenshot(path="/tmp/browser-job.png", full_page=True)

    first = progress.locator("figure").filter(has_text="output_0_0_v0.jpg")
    with page.expect_download() as one:
        first.get_by_role("link", name="Download").click()
    assert one.value.suggested_filename == "output_0_0_v0.jpg"
    single = Path(one.value.path()).read_bytes()
    assert single[:3] == b"\xff\xd8\xff", "the single download is not a JPEG"

    with page.expect_download() as bundle:
        progress.get_by_role("link", name="Download all (ZIP)").click()
    assert re.fullmatch(r"packshots_job_\d+\.zip", bundle.value.suggested_filename)
    prefix = f"autumn-capsule_{page.url.rstrip('/').rsplit('/', 1)[-1]}_"  # names never collide between jobs
    with zipfile.ZipFile(io.BytesIO(Path(bundle.value.path()).read_bytes())) as archive:
        names = set(archive.namelist())
        outputs = ("output_0_0_v0.jpg", "output_1_0_v0.jpg", "output_1_1_v0.jpg")
        assert names == {prefix + name for name in outputs} | {"metadata.json"}
        assert archive.read(prefix + "output_0_0_v0.jpg") == single
        json.loads(archive.read("metadata.json"))


def test_bad_upload_shows_a_specific_error_and_keeps_nothing(logged_in_page, member, team, tmp_path):
    factories.make_project(team=team, name="Winter")
    fake = tmp_path / "not-a-photo.jpg"
    fake.write_text("This is a shopping list, not a JPEG.\n")
    page = logged_in_page(member)
    open_new_job(page, "Winter")

    step = page.locator("#wizard-photos")
    step.locator("input[name=photos]").set_input_files(fake)
    step.get_by_role("button", name="Upload").click()
    expect(step.get_by_role("alert")).to_contain_text("not-a-photo.jpg")
    expect(step.locator("figure.photo")).to_have_count(0)
    expect(step.get_by_text("0 of 10")).to_be_visible()

    page.reload()
    expect(page.locator("#wizard-photos figure.photo")).to_have_count(0)
    expect(page.get_by_text("0 of 10")).to_be_visible()


def test_invalid_custom_instruction_shows_error_next_to_the_field(logged_in_page, member, team):
    job = factories.make_draft(team=team, photos=1)
    page = logged_in_page(member)
    page.goto(f"/jobs/{job.pk}/wizard/instructions/")

    step = page.locator("#wizard-instructions")
    custom = step.locator("form.instruction-form")
    custom.get_by_label("Style").select_option("flat_lay")
    custom.get_by_label("Variations").fill("9")
    custom.get_by_role("button", name="Add instruction").click()
    field = page.locator("#field-custom-num_variations")
    expect(field.locator(".error")).to_have_text("must be 1–8")
    expect(field.get_by_label("Variations")).to_have_value("9")
    expect(page.get_by_text("No instructions yet")).to_be_visible()
    expect(page.locator("#wizard-instructions table")).to_have_count(0)


def test_viewer_sees_jobs_but_cannot_start_one(logged_in_page, viewer, member, team):
    job = factories.make_job(team=team, user=member, status=Job.Status.COMPLETED)
    page = logged_in_page(viewer)

    page.get_by_role("link", name=job.project.name).click()
    expect(page.get_by_role("heading", name=job.project.name)).to_be_visible()
    expect(page.get_by_role("link", name=f"#{job.pk}")).to_be_visible()
    expect(page.get_by_role("button", name="New job")).to_have_count(0)
    expect(page.get_by_role("heading", name="New project")).to_have_count(0)


def test_user_cannot_open_another_teams_job(logged_in_page, outsider, member, team):
    job = factories.make_job(team=team, user=member, status=Job.Status.COMPLETED, results=1)
    page = logged_in_page(outsider)

    response = page.goto(f"/jobs/{job.pk}/")
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not Found")).to_be_visible()
    expect(page.get_by_text(job.project.name)).to_have_count(0)
