"""The job page's gallery: grouped cards, polls sending only what changed, review and regenerate over HTMX."""

import re

import pytest
from django.test import TestCase
from django.urls import reverse

from packshots.models import Job, Result
from tests import factories
from tests.views.gallery_jobs import finish_output, finished_job, running_job

HX = {"HX-Request": "true"}


def since_of(html: str) -> str:
    return re.search(r'id="job-\d+-since" name="since" value="(\d+)"', html).group(1)


def oob_cards(html: str) -> list[str]:
    return re.findall(r'<figure id="(job-\d+-slot-\d+-\d+)"[^>]*hx-swap-oob="true"', html)


def test_outputs_are_grouped_by_instruction_with_the_preset_name(member_client, team, member):
    named = {**factories.WHITE_CUTOUT, "preset_name": "Amazon main", "num_variations": 2}
    job = running_job(team=team, user=member, instructions=[named, {**factories.WHITE_CUTOUT}])
    page = member_client.get(job.get_absolute_url()).text
    headings = re.findall(r'<h3 id="job-\d+-group-(\d)">([^<]+)', page)
    assert [(i, t.strip()) for i, t in headings] == [
        ("0", "Amazon main"),
        ("1", "White cutout · 1 variation · 1K 1:1 JPG"),
    ]
    for slot in ("0-0", "0-1", "1-0"):
        assert f'id="job-{job.pk}-slot-{slot}"' in page


def test_every_requested_output_has_a_card_before_it_exists(member_client, team, member):
    job = running_job(team=team, user=member)
    job.results.all().delete()  # PiktID creates rows only as outputs arrive
    page = member_client.get(job.get_absolute_url()).text
    assert page.count("Waiting…") == 2 and f'id="job-{job.pk}-slot-0-1"' in page


def test_a_poll_sends_the_status_and_only_the_cards_that_changed(member_client, team, member):
    job = running_job(team=team, user=member, instructions=[{**factories.WHITE_CUTOUT, "num_variations": 3}])
    since = since_of(member_client.get(job.get_absolute_url()).text)

    quiet = member_client.get(job.get_absolute_url() + f"?since={since}", headers=HX)
    assert quiet.status_code == 200 and "<html" not in quiet.text
    assert f'id="job-{job.pk}-status"' in quiet.text and oob_cards(quiet.text) == []
    assert 'hx-trigger="load delay:' in quiet.text

    finish_output(job, 0, 1)
    poll = member_client.get(job.get_absolute_url() + f"?since={since}", headers=HX).text
    assert oob_cards(poll) == [f"job-{job.pk}-slot-0-1"]
    assert "1 of 3 outputs done" in poll and "output_0_1_v0.jpg" in poll
    assert (
        oob_cards(member_client.get(job.get_absolute_url() + f"?since={since_of(poll)}", headers=HX).text)
        == []
    )


def test_a_poll_without_a_usable_since_sends_every_card(member_client, team, member):
    job = running_job(team=team, user=member)
    for junk in ("", "?since=abc", "?since=" + "9" * 40, "?since=-1"):
        poll = member_client.get(job.get_absolute_url() + junk, headers=HX)
        assert poll.status_code == 200 and len(oob_cards(poll.text)) == 2, junk


def test_polling_stops_once_nothing_is_pending(member_client, team, member):
    job = running_job(team=team, user=member)
    finish_output(job, 0, 0)
    finish_output(job, 0, 1)
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    poll = member_client.get(job.get_absolute_url() + "?since=0", headers=HX).text
    assert "hx-trigger" not in poll and "hx-get" not in poll.split("<figure")[0]
    assert member_client.get(job.get_absolute_url() + "?since=0", headers=HX)["Vary"].count("HX-Request") == 1


def test_the_input_photos_are_sent_again_only_while_the_job_prepares_them(member_client, team, member):
    job = running_job(team=team, user=member)
    assert (
        f'id="job-{job.pk}-photos" class="gallery-photos" hx-swap-oob="true"'
        in member_client.get(job.get_absolute_url() + "?since=0", headers=HX).text
    )
    done = finished_job(team=team, user=member)
    poll = member_client.get(done.get_absolute_url() + f"?since={10**18}", headers=HX).text
    assert f'id="job-{done.pk}-photos"' not in poll


def test_cards_carry_their_review_state_for_the_status_filter(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)], failed=[(0, 1)])
    assert job.status == Job.Status.NEEDS_REVIEW
    page = member_client.get(job.get_absolute_url()).text
    assert re.search(rf'id="job-{job.pk}-slot-0-0" class="result result-completed state-needs-review"', page)
    assert re.search(
        rf'id="job-{job.pk}-slot-0-1" class="result result-failed state-failed needs-review"', page
    )
    for value in ("needs-review", "approved", "rejected", "failed"):
        assert f'name="show" value="{value}"' in page
    assert "2 need review · 0 approved · 0 rejected · 1 failed" in page


def test_the_viewer_gets_the_facts_of_each_output_and_the_input_photos(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)])
    result = job.results.get(variation_index=0)
    page = member_client.get(job.get_absolute_url()).text
    card = page.split(f'id="job-{job.pk}-slot-0-0"')[1].split("</figure>")[0]
    facts = card.split('<dl class="facts">')[1].split("</dl>")[0]
    for fact in (
        "64 × 64 px",
        "JPG",
        f"({result.bytes} bytes)",
        "local",
        "0.91",
        "v0",
        "Needs review",
        "garment touches the photo&#x27;s edge",
    ):
        assert fact in facts, fact
    assert f'data-full="{reverse("packshots:result-file", args=[result.pk, "image"])}?inline=1"' in card
    upload = job.uploads.get()
    assert (
        f'<option value="{reverse("packshots:upload-file", args=[upload.pk, "original"])}?inline=1">' in page
    )
    assert 'id="viewer"' in page and "js/gallery.js" in page


def test_approving_over_htmx_answers_the_status_and_the_changed_card(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)])
    since = since_of(member_client.get(job.get_absolute_url()).text)
    flagged = job.results.get(variation_index=0)
    response = member_client.post(
        reverse("packshots:job-review", args=[job.pk]),
        {"results": [flagged.pk], "decision": "approved", "reason": "edge is fine", "since": since},
        headers=HX,
    )
    assert response.status_code == 200
    assert oob_cards(response.text) == [f"job-{job.pk}-slot-0-0"]
    assert 'class="status status-completed">Completed' in response.text
    assert (
        "1 output approved." in response.text
        and 'id="messages" class="messages" hx-swap-oob="true"' in response.text
    )
    assert "Approved by" in response.text and "“edge is fine”" in response.text
    assert Result.objects.get(pk=flagged.pk).review == "approved"


def test_a_selection_is_approved_or_rejected_at_once(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0), (0, 1)])
    ids = list(job.results.values_list("pk", flat=True))
    response = member_client.post(
        reverse("packshots:job-review", args=[job.pk]),
        {"results": ids, "decision": "rejected", "reason": "wrong colour", "since": "0"},
        headers=HX,
    )
    assert "2 outputs rejected." in response.text and len(oob_cards(response.text)) == 2
    assert set(job.results.values_list("review", "review_reason")) == {("rejected", "wrong colour")}
    job.refresh_from_db()
    assert job.status == Job.Status.COMPLETED
    page = member_client.get(job.get_absolute_url()).text
    assert f'id="job-{job.pk}-selection"' in page and 'form="job-' in page


def test_a_bad_review_over_htmx_says_why_and_changes_nothing(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)])
    for data in (
        {"results": ["abc"], "decision": "approved"},
        {"decision": "approved"},
        {"results": ["1"], "decision": "maybe"},
    ):
        response = member_client.post(
            reverse("packshots:job-review", args=[job.pk]), {**data, "since": "x"}, headers=HX
        )
        assert response.status_code == 200 and 'class="message error"' in response.text, data
    assert not job.results.exclude(review="").exists()
    job.refresh_from_db()
    assert job.status == Job.Status.NEEDS_REVIEW


def test_regenerating_over_htmx_shows_the_new_version_pending_and_polls_again(member_client, team, member):
    job = finished_job(team=team, user=member)
    first = job.results.get(variation_index=1)
    since = since_of(member_client.get(job.get_absolute_url()).text)
    with TestCase.captureOnCommitCallbacks(execute=False):  # the render itself is the engine's business
        response = member_client.post(
            reverse("packshots:result-regenerate", args=[first.pk]), {"since": since}, headers=HX
        )
    assert response.status_code == 200 and oob_cards(response.text) == [f"job-{job.pk}-slot-0-1"]
    assert "output_0_1_v1.jpg" in response.text and "Pending…" in response.text
    assert (
        'hx-trigger="load delay:' in response.text
        and "Regenerating output_0_1_v0.jpg as version 1." in response.text
    )
    finish_output(job, 0, 1, version=1)
    poll = member_client.get(job.get_absolute_url() + f"?since={since_of(response.text)}", headers=HX).text
    card = poll.split(f'id="job-{job.pk}-slot-0-1"')[1].split("</figure>")[0]
    old = reverse("packshots:result-file", args=[first.pk, "image"])
    assert (
        "<dd>v1</dd>" in card
        and f'href="{old}?inline=1" data-version="0"' in card
        and "hx-trigger" not in poll
    )


def test_viewers_see_the_gallery_without_review_or_regenerate(viewer_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)])
    page = viewer_client.get(job.get_absolute_url()).text
    assert ">Approve<" not in page and ">Regenerate<" not in page and 'class="review-form"' not in page
    assert f'id="job-{job.pk}-selection"' not in page and 'id="viewer-review"' not in page
    assert "Download ZIP" in page and 'name="results"' in page  # a selection to download still works


def test_the_jobs_list_shows_and_filters_jobs_that_need_review(member_client, team, member):
    waiting = finished_job(team=team, user=member, flagged=[(0, 0)])
    fine = finished_job(team=team, user=member)
    everything = member_client.get(reverse("packshots:job-list")).text
    assert f"#{waiting.pk}<" in everything and f"#{fine.pk}<" in everything
    assert '<a href="?status=needs_review">Needs review</a>' in everything  # one click away
    listing = member_client.get(reverse("packshots:job-list") + "?status=needs_review").text
    assert f"#{waiting.pk}<" in listing and f"#{fine.pk}<" not in listing
    assert '<span class="status status-needs_review">Needs review</span>' in listing


@pytest.mark.parametrize("name", ["job-review", "result-regenerate"])
def test_the_mutations_still_redirect_without_htmx(member_client, team, member, name):
    job = finished_job(team=team, user=member)
    result = job.results.first()
    args = [job.pk] if name == "job-review" else [result.pk]
    with TestCase.captureOnCommitCallbacks(execute=False):
        response = member_client.post(
            reverse(f"packshots:{name}", args=args), {"results": [result.pk], "decision": "approved"}
        )
    assert response.status_code == 302 and response["Location"] == job.get_absolute_url()


def test_a_quiet_poll_reads_light_rows_but_counts_like_the_page(member_client, team, member):
    job = finished_job(team=team, user=member, flagged=[(0, 0)], failed=[(0, 1)])
    page = member_client.get(job.get_absolute_url()).text
    quiet = member_client.get(job.get_absolute_url() + f"?since={since_of(page)}", headers=HX).text
    assert oob_cards(quiet) == [] and since_of(quiet) == since_of(page)
    counts = re.search(r'id="job-\d+-counts">([^<]+)<', page).group(1)
    assert counts in quiet and "0 of 2" not in quiet and "2 of 2 outputs done" in quiet
