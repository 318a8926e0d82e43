"""The PiktID engine from the browser: connect the team, run a job, watch it arrive by webhook, download it.

The fake PiktID server (a real HTTP server on loopback) delivers signed webhooks to the live server, so the
job page is moved by PiktID's own notifications, as in production.
"""

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from playwright.sync_api import expect

from accounts.models import Membership
from packshots.models import Job
from tests import factories
from tests.piktid.fixtures import FAKE_TOKEN

pytestmark = pytest.mark.browser


def test_an_owner_connects_piktid_and_a_job_arrives_by_webhook(
    logged_in_page, member, team, fake_piktid, settings, garments
):
    settings.PIKTID_BASE_URL = fake_piktid.base_url
    fake_piktid.output_delay = 0.3
    Membership.objects.filter(user=member).update(role="owner")
    project = factories.make_project(team=team, name="Knitwear")
    page = logged_in_page(member)

    # Team settings: save the token (checked at PiktID) and register the webhook at this site's URL.
    page.get_by_role("link", name="Team").click()
    page.get_by_label("PiktID API token").fill(FAKE_TOKEN)
    page.get_by_label("Also register the webhook at (optional)").fill(page.url.split("/team")[0])
    page.get_by_role("button", name="Check and save").click()
    expect(page.get_by_text("1000 credits", exact=True)).to_be_visible()
    assert FAKE_TOKEN not in page.content()
    fake_piktid.wait_for(lambda: any(d.name == "ping" and d.status == 204 for d in fake_piktid.deliveries))

    # A job on PiktID: two photos, the example's two instructions.
    page.goto(project.get_absolute_url())
    page.get_by_role("button", name="New job").click()
    step = page.locator("#wizard-photos")
    step.locator("input[name=photos]").set_input_files(sorted(garments.glob("*.jpg"))[:2])
    step.get_by_role("button", name="Upload").click()
    expect(step.get_by_text("2 of 10")).to_be_visible(timeout=30_000)
    step.get_by_role("link", name="Next: instructions").click()
    custom = page.locator("#wizard-instructions form.instruction-form")
    custom.get_by_label("Style").select_option("ghost_mannequin")
    custom.get_by_label("Variations").fill("2")
    custom.get_by_role("button", name="Add instruction").click()
    expect(page.locator("#total-outputs")).to_have_text("2")
    page.locator("#wizard-instructions").get_by_role("link", name="Next: review").click()
    page.get_by_label("Engine").select_option("piktid")
    page.get_by_role("button", name="Save options").click()
    expect(page.locator("#review-balance")).to_contain_text("1000")
    page.get_by_role("button", name="Start job").click()

    # The job page fills in as PiktID's webhooks arrive (no poller runs in this test process).
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    progress = page.locator("section[id$=-progress]")
    expect(progress.locator(".status")).to_have_text("Completed", timeout=30_000)
    expect(progress.locator("figure.result-completed img")).to_have_count(2)
    job = Job.objects.get(project=project)
    assert job.engine == "piktid" and job.remote_job_id in page.content()
    assert fake_piktid.count("DELETE", "/notifications/") >= 1  # handled notifications are deleted

    with page.expect_download() as bundle:
        progress.get_by_role("link", name="Download all (ZIP)").click()
    with zipfile.ZipFile(io.BytesIO(Path(bundle.value.path()).read_bytes())) as archive:
        prefix = f"knitwear_{job.pk}_"  # names never collide between jobs
        outputs = {prefix + "output_0_0_v0.jpg", prefix + "output_0_1_v0.jpg"}
        assert set(archive.namelist()) == outputs | {"metadata.json"}
        assert json.loads(archive.read("metadata.json"))["job_id"] == job.remote_job_id
