"""Drag and drop on the wizard's photo step: one request per file, a progress bar each, cancel one."""

import base64
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests import factories
from tests.browser.test_csp import csp_reports  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

MAKE_DROP = """(files) => {
  const dt = new DataTransfer();
  for (const f of files) {
    const bytes = Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0));
    dt.items.add(new File([bytes], f.name, { type: f.type }));
  }
  return dt;
}"""


def drop(page: Page, files: list[Path], extra: list[tuple[str, bytes, str]] = ()) -> None:
    """Drop files on the photo step as a desktop file manager would (a DataTransfer carrying File objects)."""
    payload = [
        {"name": p.name, "type": "image/jpeg", "b64": base64.b64encode(p.read_bytes()).decode()}
        for p in files
    ]
    payload += [{"name": n, "type": t, "b64": base64.b64encode(b).decode()} for n, b, t in extra]
    transfer = page.evaluate_handle(MAKE_DROP, payload)
    page.dispatch_event("#wizard-photos", "dragover", {"dataTransfer": transfer})
    page.dispatch_event("#wizard-photos", "drop", {"dataTransfer": transfer})


def test_three_dropped_photos_upload_one_by_one_with_a_progress_bar_each(
    logged_in_page,
    member,
    team,
    garments,
    csp_reports,  # noqa: F811
):
    draft = factories.make_draft(team=team, user=member, photos=0)
    photos = sorted(garments.glob("*.jpg"))[:3]
    page = logged_in_page(member)
    page.goto(f"/jobs/{draft.pk}/wizard/photos/")
    drop(page, photos, extra=[("notes.txt", b"not a photo", "text/plain")])
    items = page.locator("#upload-queue .upload-item")
    expect(items.filter(has_text="Skipped 1 file that is not a photo.")).to_have_count(1)
    for photo in photos:
        row = items.filter(has_text=photo.name)
        expect(row.locator(".state")).to_have_text("Uploaded", timeout=30_000)
        expect(row.get_by_role("progressbar", name=f"Upload of {photo.name}")).to_have_attribute(
            "value", "100"
        )
    step = page.locator("#wizard-photos")
    expect(step.get_by_text("3 of 10")).to_be_visible()
    for photo in photos:
        expect(step.get_by_role("img", name=photo.name)).to_be_visible()
    assert sorted(draft.uploads.values_list("original_name", flat=True)) == sorted(p.name for p in photos)
    assert csp_reports == []


def test_a_queued_upload_can_be_canceled_and_refusals_are_shown_per_file(
    logged_in_page, member, team, garments
):
    draft = factories.make_draft(team=team, user=member, photos=0)
    photos = sorted(garments.glob("*.jpg"))[:2]
    photo = factories.photo_bytes(size=(800, 600))
    waiting = [(f"waiting{i}.jpg", photo, "image/jpeg") for i in range(2)]
    page = logged_in_page(member)
    page.goto(f"/jobs/{draft.pk}/wizard/photos/")
    # A slow line (each request takes a second), as on a phone, so a photo is still queued at Cancel.
    cdp = page.context.new_cdp_session(page)
    conditions = {"offline": False, "latency": 1000, "downloadThroughput": -1, "uploadThroughput": -1}
    cdp.send("Network.emulateNetworkConditions", conditions)
    drop(page, photos, extra=[*waiting, ("broken.jpg", b"not really a jpeg", "image/jpeg")])
    # waiting1 is queued behind three photos (one upload at a time), so nothing of it has been sent.
    page.get_by_role("button", name="Cancel the upload of waiting1.jpg").click()
    items = page.locator("#upload-queue .upload-item")
    expect(items.filter(has_text="waiting1.jpg").locator(".state")).to_have_text("Canceled")
    for name in (photos[0].name, photos[1].name, "waiting0.jpg"):
        expect(items.filter(has_text=name).locator(".state")).to_have_text("Uploaded", timeout=30_000)
    broken = items.filter(has_text="broken.jpg")
    expect(broken).to_have_attribute("data-outcome", "refused", timeout=30_000)
    expect(broken.locator(".state")).to_contain_text("not an image")
    expect(page.locator("#wizard-photos").get_by_text("3 of 10")).to_be_visible()
    names = sorted(draft.uploads.values_list("original_name", flat=True))
    assert names == sorted([p.name for p in photos] + ["waiting0.jpg"])


def test_a_chosen_folder_uploads_its_photos_and_skips_other_files(
    logged_in_page, member, team, garments, tmp_path
):
    draft = factories.make_draft(team=team, user=member, photos=0)
    folder = tmp_path / "sku-123"
    (folder / "detail").mkdir(parents=True)
    photos = sorted(garments.glob("*.jpg"))[:2]
    (folder / photos[0].name).write_bytes(photos[0].read_bytes())
    (folder / "detail" / photos[1].name).write_bytes(photos[1].read_bytes())
    (folder / "readme.txt").write_text("not a photo")
    page = logged_in_page(member)
    page.goto(f"/jobs/{draft.pk}/wizard/photos/")
    page.get_by_label("Or choose a folder").set_input_files(folder)
    items = page.locator("#upload-queue .upload-item")
    expect(items.filter(has_text="Skipped 1 file that is not a photo.")).to_have_count(1)
    for photo in photos:
        expect(items.filter(has_text=photo.name).locator(".state")).to_have_text("Uploaded", timeout=30_000)
    expect(page.locator("#wizard-photos").get_by_text("2 of 10")).to_be_visible()
    assert sorted(draft.uploads.values_list("original_name", flat=True)) == sorted(p.name for p in photos)
