"""The cutout repair page: who sees it, what it sends, and how it answers hostile strokes."""

import json

import pytest
from django.urls import reverse

from packshots.models import Job, Result
from tests import factories

STROKES = {"keep": [{"radius": 6, "points": [[10, 10], [50, 10]]}], "remove": []}


@pytest.fixture
def finished(team, member):
    job = factories.make_draft(team=team, user=member, instructions=[factories.WHITE_CUTOUT])
    return factories.start_job(job)


def repair_url(job) -> str:
    return reverse("packshots:upload-repair", args=[job.uploads.get().pk])


def test_the_job_page_links_each_photo_to_its_repair_for_editors_only(finished, client, member, viewer):
    url = repair_url(finished)
    client.force_login(member)
    assert url in client.get(finished.get_absolute_url()).text
    client.force_login(viewer)
    assert url not in client.get(finished.get_absolute_url()).text


def test_no_repair_link_before_the_job_has_finished(team, member, member_client):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    assert "Repair cutout" not in member_client.get(job.get_absolute_url()).text


def test_the_page_shows_the_photo_on_a_canvas_with_its_overlay(finished, member_client):
    upload = finished.uploads.get()
    page = member_client.get(repair_url(finished))
    assert page.status_code == 200
    text = page.text
    assert 'id="repair-canvas"' in text and f'data-width="{upload.width}"' in text
    assert reverse("packshots:upload-repair-layer", args=[upload.pk, "overlay"]) in text
    assert "1 output made from this photo" in text
    assert "<script>" not in text and "onclick" not in text  # the CSP allows no inline code


def test_the_layers_are_images(finished, member_client):
    upload = finished.uploads.get()
    photo = member_client.get(reverse("packshots:upload-repair-layer", args=[upload.pk, "photo"]))
    overlay = member_client.get(reverse("packshots:upload-repair-layer", args=[upload.pk, "overlay"]))
    assert photo["Content-Type"] == "image/jpeg" and photo.content[:2] == b"\xff\xd8"
    assert overlay["Content-Type"] == "image/png" and overlay.content[:4] == b"\x89PNG"
    other = member_client.get(reverse("packshots:upload-repair-layer", args=[upload.pk, "original"]))
    assert other.status_code == 404


def test_a_draft_photo_has_no_overlay_and_its_page_says_why(team, member, member_client):
    draft = factories.make_draft(team=team, user=member)
    upload = draft.uploads.get()
    overlay = reverse("packshots:upload-repair-layer", args=[upload.pk, "overlay"])
    assert member_client.get(overlay).status_code == 404
    page = member_client.get(reverse("packshots:upload-repair", args=[upload.pk])).text
    assert "once its job has finished" in page and 'id="repair-canvas"' not in page


def test_applying_strokes_renders_new_versions_and_returns_to_the_job(
    finished, member_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = member_client.post(repair_url(finished), {"strokes": json.dumps(STROKES)}, follow=True)
    assert response.redirect_chain[-1][0] == finished.get_absolute_url()
    assert "Repairing the cutout of photo0.jpg: 1 output will be rendered again" in response.text
    fresh = finished.results.get(version=1)
    assert fresh.status == Result.Status.COMPLETED and fresh.seed_version == 0


def keep_point(point: str) -> str:
    """A strokes document with one keep stroke through `point`, written as raw JSON text."""
    return '{"keep": [{"radius": 4, "points": [' + point + ']}], "remove": []}'


@pytest.mark.parametrize(
    ("strokes", "message"),
    [
        (None, "could not be read"),
        ("", "could not be read"),
        ("{not json", "could not be read"),
        ("[" * 100_000, "could not be read"),
        ("x" * 1_000_001, "Too many strokes"),
        ("[]", "must be {&quot;keep&quot;: [...], &quot;remove&quot;: [...]}"),
        ('{"keep": [], "remove": [], "extra": 1}', "must be {&quot;keep&quot;"),
        ('{"keep": [], "remove": []}', "Paint at least one keep or remove stroke"),
        (keep_point("[NaN, 3]"), "keep[0].points[0]: must be [x, y]"),
        (keep_point("[1e999, 3]"), "keep[0].points[0]: must be [x, y]"),
        (keep_point("[1, 2, 3]"), "keep[0].points[0]: must be [x, y]"),
        (keep_point('["1", 2]'), "keep[0].points[0]: must be [x, y]"),
        (keep_point("[3, 321]"), "keep[0].points[0]: y must be 0–320"),
        (keep_point("[%s, 2]" % ("9" * 5000)), "could not be read"),
        (json.dumps({"keep": [{"radius": 2, "points": [[1, 1]] * 20_001}], "remove": []}), "1–20000 points"),
    ],
)
def test_hostile_strokes_get_a_clear_error_and_change_nothing(finished, member_client, strokes, message):
    upload = finished.uploads.get()
    data = {} if strokes is None else {"strokes": strokes}
    response = member_client.post(repair_url(finished), data)
    assert response.status_code == 400
    assert message in response.text
    upload.refresh_from_db()
    assert finished.results.count() == 1 and upload.cutout.name == finished.uploads.get().cutout.name


def test_a_job_still_running_cannot_be_repaired(team, member, member_client):
    job = factories.make_job(team=team, status=Job.Status.RUNNING, results=1)
    response = member_client.post(repair_url(job), {"strokes": json.dumps(STROKES)})
    assert response.status_code == 400 and "once its job has finished" in response.text
    assert job.results.count() == 1


def test_viewers_cannot_open_or_apply_a_repair(finished, viewer_client):
    assert viewer_client.get(repair_url(finished)).status_code == 403
    assert viewer_client.post(repair_url(finished), {"strokes": json.dumps(STROKES)}).status_code == 403
    assert finished.results.count() == 1
