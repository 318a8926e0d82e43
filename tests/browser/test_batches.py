"""Batches in a real browser: a ZIP of 3 SKUs through to the batch ZIP, and a folder upload sent in groups."""

import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from batches.models import Batch
from tests import factories

pytestmark = pytest.mark.browser

SKUS = ("SKU-RED", "SKU-BLUE", "SKU-GREEN")


def small_photo(source: Path) -> bytes:
    image = Image.open(source)
    image.thumbnail((320, 320))
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def test_a_zip_of_three_skus_runs_to_one_batch_zip(logged_in_page, member, team, garments, tmp_path):
    factories.make_preset(team=team, name="White 1K")
    sources = sorted(garments.glob("*.jpg"))
    archive = tmp_path / "catalogue.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for i, sku in enumerate(SKUS):
            zf.writestr(f"catalogue/{sku}/front.jpg", small_photo(sources[i]))
        zf.writestr("catalogue/SKU-RED/notes.txt", "not a photo")
    page = logged_in_page(member)

    page.get_by_role("link", name="Batches").click()
    form = page.locator("#new-zip")
    form.get_by_label("Name", exact=True).fill("Autumn catalogue")
    form.get_by_label("Project").fill("Autumn")
    form.get_by_label("ZIP file").set_input_files(archive)
    form.get_by_role("button", name="Upload ZIP").click()

    expect(page.get_by_role("heading", name=re.compile("Autumn catalogue"))).to_be_visible()
    expect(page.locator("#batch-status")).to_have_text("Ready to start", timeout=60_000)
    for sku in SKUS:
        expect(page.locator("#batch-skus").get_by_text(sku)).to_be_visible()
    expect(page.locator("#batch-report")).to_contain_text("catalogue/SKU-RED/notes.txt")

    start = page.locator("#batch-start")
    start.get_by_label("White 1K").check()
    # The test server runs tasks inside the request (immediate backend): all jobs render before the redirect.
    start.get_by_role("button", name=re.compile("Start 3 jobs")).click(timeout=120_000)
    expect(page.locator("#batch-status")).to_have_text("Finished", timeout=120_000)
    expect(page.locator("#batch-credits")).to_have_text("Local engine (free)")
    expect(page.locator("#batch-totals")).to_contain_text("3/3 outputs")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download batch (ZIP)").click()
    names = sorted(zipfile.ZipFile(info.value.path()).namelist())
    assert names == sorted([f"{sku}/{sku}_white_cutout_1.jpg" for sku in SKUS] + ["batch.json"])
    assert Batch.objects.get().skus.count() == 3


def test_a_folder_upload_is_previewed_then_sent_in_groups(logged_in_page, member, garments, tmp_path):
    sources = sorted(garments.glob("*.jpg"))
    root = tmp_path / "shoot"
    for i, sku in enumerate(("A1", "B2")):
        (root / sku).mkdir(parents=True)
        for j in range(6):  # 12 files: two groups of up to 10
            (root / sku / f"{j}.jpg").write_bytes(small_photo(sources[(i + j) % len(sources)]))
    page = logged_in_page(member)
    page.goto("/batches/")
    form = page.locator("#new-files")
    form.get_by_label("Name", exact=True).fill("Folder shoot")
    form.get_by_label("Project").fill("Shoot")
    form.locator("#batch-folder").set_input_files(root)
    expect(form.locator("#batch-preview")).to_contain_text("2 SKUs")
    form.get_by_role("button", name="Upload and check").click()
    expect(page.locator("#batch-status")).to_have_text("Ready to start", timeout=60_000)
    batch = Batch.objects.get()
    assert {s.name: s.job.uploads.count() for s in batch.skus.all()} == {"A1": 6, "B2": 6}
