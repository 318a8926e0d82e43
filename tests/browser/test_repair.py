"""Repair a cutout in a real browser: two strokes on the canvas, new versions of the outputs."""

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import Page, expect

from packshots.imaging import repair as repairing
from packshots.models import Result
from tests import factories

pytestmark = pytest.mark.browser

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.violatedDirective} blocked ${event.blockedURI || "inline code"}`);
});
"""


def paint(page: Page, points: list[tuple[int, int]], *, photo_width: int) -> None:
    """Drag the mouse through `points` (photo pixels) on the repair canvas."""
    box = page.locator("#repair-canvas").bounding_box()
    k = box["width"] / photo_width

    def at(point):
        return box["x"] + point[0] * k, box["y"] + point[1] * k

    page.mouse.move(*at(points[0]))
    page.mouse.down()
    for point in points[1:]:
        page.mouse.move(*at(point), steps=8)
    page.mouse.up()


def test_repair_a_cutout_with_two_strokes(logged_in_page, context, member, team):
    reports: list[str] = []
    context.add_init_script(REPORT_VIOLATIONS)
    context.on("console", lambda m: reports.append(m.text) if "CSP violation" in m.text else None)
    # factories.photo_bytes: a 240×320 photo with a red 120×160 block (the garment) at (60, 80).
    two = {**factories.WHITE_CUTOUT, "num_variations": 2}
    job = factories.start_job(factories.make_draft(team=team, user=member, instructions=[two]))
    upload = job.uploads.get()
    cutout_before = upload.cutout.name
    page = logged_in_page(member)

    page.goto(job.get_absolute_url())
    page.locator(f"#upload-{upload.pk}").get_by_role("link", name="Repair cutout").click()
    expect(page.get_by_role("heading", name="Repair the cutout")).to_be_visible()
    canvas = page.locator("#repair-canvas")
    expect(canvas).to_have_attribute("data-ready", "true")
    expect(page.get_by_role("button", name="Apply repair")).to_be_disabled()

    # Keep: a strip of floor at the top left. Remove: across the garment's upper part.
    page.get_by_label("Brush size").fill("6")
    paint(page, [(12, 12), (30, 12), (48, 12)], photo_width=upload.width)
    page.get_by_label("Remove").check()
    paint(page, [(70, 100), (120, 100), (170, 100)], photo_width=upload.width)
    expect(page.locator("#repair-status")).to_have_text("Strokes: 1 keep, 1 remove.")

    # Undo takes the last stroke away; painting it again restores two strokes.
    page.get_by_role("button", name="Undo").click()
    expect(page.locator("#repair-status")).to_have_text("Strokes: 1 keep, 0 remove.")
    paint(page, [(70, 100), (120, 100), (170, 100)], photo_width=upload.width)

    page.get_by_role("button", name="Apply repair").click()
    done = "Repairing the cutout of photo0.jpg: 2 outputs will be rendered again"
    expect(page.get_by_text(done)).to_be_visible()
    assert page.url.endswith(job.get_absolute_url())

    fresh = list(job.results.filter(version=1).order_by("variation_index"))
    assert [(r.status, r.seed_version) for r in fresh] == [(Result.Status.COMPLETED, 0)] * 2
    upload.refresh_from_db()
    assert upload.cutout.name != cutout_before
    # The strokes landed where they were painted: the canvas maps the mouse to photo pixels.
    with upload.file.open("rb") as f:
        photo = np.asarray(Image.open(f).convert("RGB"))
    with upload.cutout.open("rb") as f:
        rgba = np.asarray(Image.open(f).convert("RGBA"))
    offset = repairing.locate(photo, rgba[..., :3], rgba[..., 3])
    garment = repairing.place(rgba[..., 3], offset, photo.shape[:2]) > 0.5
    assert garment[9:16, 14:47].all() and not garment[96:105, 72:169].any()
    page.reload()
    for result in fresh:  # the gallery shows the new versions
        expect(page.locator(f"img[src='/results/{result.pk}/thumbnail/']").first).to_be_attached()
    assert reports == []
